"""What a scrape reads, one source per file: the /proc scan, the PID namespace tree, the workload state."""
