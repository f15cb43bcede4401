"""The Grafana dashboard and the alert rules against a real Prometheus scraping a real agent and workload."""

import os
import subprocess

import pytest
from agent_process import Agent
from dashboard_queries import any_of, families, label_values, load, queries, wait_for_dashboard
from prometheus_server import Prometheus

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NSFLEET = os.path.join(TOP, "build", "nsfleet")
DASHBOARD = os.path.join(TOP, "monitoring", "grafana", "nsfleet.json")
ALERTS = os.path.join(TOP, "monitoring", "prometheus", "nsfleet-alerts.yml")

# A workload that forks, execs and kills a child every 200ms: process events, exits by signal.
CHURN = "while :; do sleep 30 & kill $!; sleep 0.2; done"


@pytest.fixture
def fleet(tmp_path):
    """Two "hosts" on this machine: each a state dir with a workload 'churn', and an agent reading it.

    churn has limits, so the families read from a workload's cgroup limits are exported too.
    """
    agents, removals = [], []
    try:
        for host in ("host-a", "host-b"):
            nsfleet = [NSFLEET, "--state-dir", str(tmp_path / host)]
            removals.append(nsfleet + ["rm", "--force", "churn"])
            subprocess.run(nsfleet + ["run", "--detach", "--name", "churn", "--memory", "256m", "--pids-limit", "100",
                                      "--", "/bin/sh", "-c", CHURN],
                           check=True, capture_output=True)
            agents.append(Agent(str(tmp_path / host / "run" / "nsfleet")))
        yield agents
    finally:
        for agent in agents:
            agent.stop()
        for removal in removals:
            subprocess.run(removal, capture_output=True, check=False)


def test_every_panel_query_returns_data_for_every_host(fleet, tmp_path):
    dashboard = load(DASHBOARD)
    exported = set(fleet[0].scrape())
    in_dashboard = set().union(*(families(expr) for _title, _ref, expr in queries(dashboard)))
    exported_nsfleet = set(name for name in exported if name.startswith("nsfleet_"))
    assert exported_nsfleet <= in_dashboard, "families with no panel: %s" % sorted(exported_nsfleet - in_dashboard)
    missing = set(name for name in in_dashboard - exported if name.startswith("nsfleet_"))
    assert not missing, "panels read families the agent does not export: %s" % sorted(missing)
    instances = ["127.0.0.1:%d" % agent.port for agent in fleet]
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    with Prometheus(workdir, instances, rule_files=[ALERTS]) as prometheus:
        gaps = wait_for_dashboard(prometheus.url, dashboard, instances, only_families=in_dashboard)
        assert not gaps, "queries without data: %s" % gaps
        gaps = wait_for_dashboard(prometheus.url, dashboard, instances, only_families=in_dashboard, workload="churn")
        assert not gaps, "queries without data for workload=churn: %s" % gaps
        # The chained variables offer what the panels need.
        assert label_values(prometheus.url, "job", "nsfleet_build_info") == ["nsfleet"]
        assert label_values(prometheus.url, "instance", 'nsfleet_build_info{job=~"nsfleet"}') == sorted(instances)
        workloads = label_values(prometheus.url, "workload", 'nsfleet_workload_up{job=~"nsfleet", instance=~"%s"}'
                                 % any_of(instances))
        assert workloads == ["churn"]
        # Every alert rule evaluates against the real series without an error.
        rules = [rule for group in prometheus.api("/api/v1/rules")["groups"] for rule in group["rules"]]
        assert rules and all(rule["health"] in ("ok", "unknown") for rule in rules), rules
