"""The checked-in Grafana dashboard is what tools/grafana_dashboard.py generates, and follows our conventions."""

import importlib.util
import json
import os
import re

from dashboard_queries import families, panels, queries

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DASHBOARD = os.path.join(TOP, "monitoring", "grafana", "nsfleet.json")
# The metrics contract (DESIGN.md): every family has a panel.
CONTRACT = {
    "nsfleet_pidns_processes", "nsfleet_pidns_threads", "nsfleet_pidns_zombies", "nsfleet_pidns_info",
    "nsfleet_pid_mapping", "nsfleet_workload_up", "nsfleet_workload_restarts_total", "nsfleet_proc_events_total",
    "nsfleet_proc_exits_total", "nsfleet_proc_exit_signals_total", "nsfleet_proc_events_lost_total",
    "nsfleet_proc_connector_up", "nsfleet_workload_cpu_seconds_total", "nsfleet_workload_memory_bytes",
    "nsfleet_workload_memory_limit_bytes", "nsfleet_workload_pids", "nsfleet_workload_pids_limit",
    "nsfleet_workload_oom_kills_total", "nsfleet_scrape_duration_seconds", "nsfleet_scrape_errors_total",
    "nsfleet_series_dropped", "nsfleet_build_info",
}


def generator():
    spec = importlib.util.spec_from_file_location("grafana_dashboard", os.path.join(TOP, "tools", "grafana_dashboard.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load():
    with open(DASHBOARD) as dashboard_file:
        return json.load(dashboard_file)


def test_the_checked_in_dashboard_is_the_generated_one():
    with open(DASHBOARD) as dashboard_file:
        assert dashboard_file.read() == generator().render(), "run: .venv/bin/python tools/grafana_dashboard.py"


def test_a_stable_uid_and_chained_variables():
    dashboard = load()
    assert dashboard["uid"] == "nsfleet-pidns"
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "job", "instance", "workload"]
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert "$job" in variables["instance"]["query"]["query"]
    assert "$job" in variables["workload"]["query"]["query"] and "$instance" in variables["workload"]["query"]["query"]


def test_every_contract_family_has_a_panel():
    in_dashboard = set().union(*(families(expr) for _title, _ref, expr in queries(load())))
    assert CONTRACT <= in_dashboard, sorted(CONTRACT - in_dashboard)


def test_every_query_is_filtered_by_the_variables_and_keeps_the_instance():
    for title, _ref, expr in queries(load()):
        assert 'job=~"$job"' in expr and 'instance=~"$instance"' in expr, title
        assert re.search(r"by \([^)]*\binstance\b", expr), title  # one query answers for every host
        for window in re.findall(r"\[([^\]]+)\]", expr):
            assert window == "$__rate_interval", title


def test_every_panel_reads_the_datasource_variable():
    for panel in panels(load()):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert [target["refId"] for target in panel["targets"]] == list("ABCD"[:len(panel["targets"])])
