"""Per-workload CPU, memory and PIDs: from the workload's cgroup, else summed from the scan."""

import subprocess

import pytest

from nsfleet_agent.exporter import make_exporter

from fixture_tree import (CGROUP_V1, CGROUP_V2_LIMITED, CHILD_NS, GRANDCHILD_NS, HOST_NS, fixture_parent_of,
                          write_state)
from scrape_helpers import parse, value

PAGE = 4096
TICKS = 100
CHILD = "pid:[%d]" % CHILD_NS
FAMILIES = ("nsfleet_workload_cpu_seconds_total", "nsfleet_workload_memory_bytes",
            "nsfleet_workload_memory_limit_bytes", "nsfleet_workload_pids", "nsfleet_workload_pids_limit",
            "nsfleet_workload_oom_kills_total")


def exposition(proc_root, state_dir, **options):
    exporter = make_exporter(proc_root, state_dir, parent_of=fixture_parent_of, **options)
    resources = [collector for collector in exporter.collectors if hasattr(collector, "clock_ticks")]
    for collector in resources:
        collector.clock_ticks, collector.page_size = TICKS, PAGE
    return exporter.render().decode()


def series(samples, name):
    return sorted((labels["workload"], labels["pidns"], found) for labels, found in samples.get(name, []))


@pytest.fixture
def state_dir(tmp_path):
    return str(tmp_path / "run" / "nsfleet")


def test_a_running_workload_reports_its_cgroup_v2(proc_root, state_dir):
    write_state(state_dir, "app", init={"pid": 200, "start_time": 1000}, namespaces={"pid": CHILD},
                cgroup=CGROUP_V2_LIMITED)
    samples = parse(exposition(proc_root, state_dir))
    pairs = {"workload": "app", "pidns": CHILD_NS}
    assert value(samples, "nsfleet_workload_cpu_seconds_total", **pairs) == 2.5
    assert value(samples, "nsfleet_workload_memory_bytes", **pairs) == 104857600
    assert value(samples, "nsfleet_workload_memory_limit_bytes", **pairs) == 268435456
    assert value(samples, "nsfleet_workload_pids", **pairs) == 7
    assert value(samples, "nsfleet_workload_pids_limit", **pairs) == 20
    assert value(samples, "nsfleet_workload_oom_kills_total", **pairs) == 1
    # Its namespace has a cgroup of ours: no /proc sums for it; the others get theirs.
    assert series(samples, "nsfleet_workload_cpu_seconds_total") == sorted([
        ("", str(GRANDCHILD_NS), 0.07), ("", str(HOST_NS), 20.0), ("app", str(CHILD_NS), 2.5)])
    assert series(samples, "nsfleet_workload_memory_bytes") == sorted([
        ("", str(GRANDCHILD_NS), 50.0 * PAGE), ("", str(HOST_NS), 2000.0 * PAGE), ("app", str(CHILD_NS), 104857600)])


def test_a_namespace_without_a_cgroup_sums_its_processes(proc_root, state_dir):
    write_state(state_dir, "app", init={"pid": 200, "start_time": 1000}, namespaces={"pid": CHILD})
    samples = parse(exposition(proc_root, state_dir))
    # utime + stime + cutime + cstime of 200 (20 ticks) and 201 (150); RSS 100 + 1000 pages; 202 is a zombie.
    assert value(samples, "nsfleet_workload_cpu_seconds_total", workload="app", pidns=CHILD_NS) == 1.7
    assert value(samples, "nsfleet_workload_memory_bytes", workload="app", pidns=CHILD_NS) == 1100 * PAGE
    for family in FAMILIES[2:]:
        assert family not in samples  # limits, PIDs and OOM kills only come from a cgroup


def test_v1_and_a_stopped_workload(proc_root, state_dir):
    write_state(state_dir, "db", status="stopped", init=None, namespaces={}, cgroup=CGROUP_V1)
    samples = parse(exposition(proc_root, state_dir))
    pairs = {"workload": "db", "pidns": ""}
    assert value(samples, "nsfleet_workload_cpu_seconds_total", **pairs) == 1.5
    assert value(samples, "nsfleet_workload_memory_bytes", **pairs) == 52428800
    assert value(samples, "nsfleet_workload_pids_limit", **pairs) == 100
    assert value(samples, "nsfleet_workload_oom_kills_total", **pairs) == 2
    assert [labels for labels, _v in samples.get("nsfleet_workload_memory_limit_bytes", [])] == []  # unlimited


def test_state_from_an_earlier_boot_is_down_and_its_cgroup_is_not_read(proc_root, state_dir):
    write_state(state_dir, "app", boot_id="an-earlier-boot", init={"pid": 200, "start_time": 1000},
                namespaces={"pid": CHILD}, cgroup=CGROUP_V2_LIMITED)
    samples = parse(exposition(proc_root, state_dir))
    assert value(samples, "nsfleet_workload_up", workload="app") == 0
    assert not [labels for labels, _v in samples["nsfleet_pid_mapping"] if labels["workload"] == "app"]
    assert value(samples, "nsfleet_workload_cpu_seconds_total", workload="", pidns=CHILD_NS) == 1.7
    assert "nsfleet_workload_pids" not in samples


def test_an_unreadable_cgroup_is_counted_and_the_namespace_still_summed(proc_root, state_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "memory.current").write_text("lots\n")
    write_state(state_dir, "app", init={"pid": 200, "start_time": 1000}, namespaces={"pid": CHILD},
                cgroup={"version": 2, "dirs": {"unified": str(broken)}})
    samples = parse(exposition(proc_root, state_dir))
    assert value(samples, "nsfleet_scrape_errors_total", reason="parse") == 1
    assert value(samples, "nsfleet_workload_cpu_seconds_total", workload="app", pidns=CHILD_NS) == 1.7


def test_the_collector_can_be_switched_off(proc_root, state_dir):
    write_state(state_dir, "app", init={"pid": 200, "start_time": 1000}, namespaces={"pid": CHILD},
                cgroup=CGROUP_V2_LIMITED)
    samples = parse(exposition(proc_root, state_dir, collect_resources=False))
    assert not set(FAMILIES) & set(samples)


def test_promtool_finds_nothing_to_report(proc_root, state_dir):
    write_state(state_dir, "app", init={"pid": 200, "start_time": 1000}, namespaces={"pid": CHILD},
                cgroup=CGROUP_V2_LIMITED)
    write_state(state_dir, "db", status="stopped", init=None, namespaces={}, cgroup=CGROUP_V1)
    result = subprocess.run(["promtool", "check", "metrics"], input=exposition(proc_root, state_dir),
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
