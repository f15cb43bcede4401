"""The exporter: the switched-on collectors' families, then the agent's own process_* metrics."""

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from scrape_helpers import make, scrape


def test_collectors_can_be_switched_off(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir, collect_mapping=False, collect_workloads=False))
    assert "nsfleet_pid_mapping" not in samples and "nsfleet_workload_up" not in samples
    assert "nsfleet_pidns_processes" in samples and "nsfleet_scrape_duration_seconds" in samples


def test_render_includes_the_agents_own_process_metrics(proc_root, state_dir):
    assert "process_cpu_seconds_total" in scrape(make(proc_root, state_dir))


def test_openmetrics_ends_once_with_eof(proc_root, state_dir):
    text = make(proc_root, state_dir).render(openmetrics=True).decode()
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    names = [family.name for family in parse_openmetrics(text)]
    assert "nsfleet_pidns_processes" in names and "process_cpu_seconds" in names
