"""The hand-written exposition: the text format 0.0.4, and OpenMetrics for a scraper that asks for it."""

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from nsfleet_agent.exposition import OPENMETRICS_EOF, Family, render


def families():
    restarts = Family("nsfleet_workload_restarts_total", "counter", 'Restarts of "the" workload.\nSecond line \\.')
    restarts.add([("workload", 'we"b')], 3)
    limit = Family("nsfleet_workload_pids_limit", "gauge", "PID limit; +Inf when unlimited.")
    limit.add([("workload", "web")], float("inf"))
    limit.add([("workload", "db")], 0.5)
    return [restarts, limit]


def test_text_format():
    parsed = {family.name: family for family in parse_text(render(families()).decode())}
    assert parsed["nsfleet_workload_restarts"].samples[0].value == 3
    assert parsed["nsfleet_workload_restarts"].samples[0].labels == {"workload": 'we"b'}
    assert [sample.value for sample in parsed["nsfleet_workload_pids_limit"].samples] == [float("inf"), 0.5]


def test_openmetrics_names_counters_without_total_and_escapes_help():
    text = (render(families(), openmetrics=True) + OPENMETRICS_EOF).decode()
    assert "# TYPE nsfleet_workload_restarts counter\n" in text and "+Inf" in text
    parsed = {family.name: family for family in parse_openmetrics(text)}
    restarts = parsed["nsfleet_workload_restarts"]
    assert restarts.type == "counter" and restarts.samples[0].name == "nsfleet_workload_restarts_total"
    assert restarts.documentation == 'Restarts of "the" workload.\nSecond line \\.'
