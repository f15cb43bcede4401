from scrape_helpers import make, scrape, value


def test_self_metrics(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    assert value(samples, "nsfleet_scrape_errors_total", reason="vanished") == 1
    assert value(samples, "nsfleet_scrape_errors_total", reason="state_file") == 0
    assert samples["nsfleet_scrape_duration_seconds"][0][1] >= 0
    assert value(samples, "nsfleet_build_info") == 1


def test_errors_accumulate_across_scrapes(proc_root, state_dir):
    exporter = make(proc_root, state_dir)
    scrape(exporter)
    assert value(scrape(exporter), "nsfleet_scrape_errors_total", reason="vanished") == 2
