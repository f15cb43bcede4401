"""What a scrape exports, one collector per group of metric families, all from one shared snapshot."""
