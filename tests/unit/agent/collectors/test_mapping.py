import os
import shutil

from nsfleet_agent.sources.proc_scan import Process

from scrape_helpers import make, scrape, value

from fixture_tree import CHILD_NS, GRANDCHILD_NS


def test_mapping_uses_the_pid_a_process_sees_and_skips_the_host(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    mapping = sorted((found["host_pid"], found["ns_pid"], found["pidns"], found["comm"], found["workload"])
                     for found, _v in samples["nsfleet_pid_mapping"])
    assert mapping == [("200", "1", str(CHILD_NS), "nsfleet-init", "app"),
                       ("201", "2", str(CHILD_NS), "my (odd) app", "app"),
                       ("202", "3", str(CHILD_NS), "defunct", "app"),
                       ("300", "1", str(GRANDCHILD_NS), "nsfleet-init", ""),
                       ("301", "2", str(GRANDCHILD_NS), "sleep", "")]
    assert value(samples, "nsfleet_series_dropped", family="nsfleet_pid_mapping") == 0


def test_mapping_cap_counts_what_it_drops(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir, mapping_max_series=2))
    assert len(samples["nsfleet_pid_mapping"]) == 2
    assert value(samples, "nsfleet_series_dropped", family="nsfleet_pid_mapping") == 3


def test_no_command_line_label_anywhere(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    labels = set(key for series in samples.values() for series_labels, _v in series for key in series_labels)
    assert not labels & {"cmdline", "command", "args"}


def test_label_values_are_escaped_and_mapping_lines_follow_comm_changes(proc_root, state_dir, tmp_path):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    exporter = make(root, state_dir, descriptor_budget=0)
    scrape(exporter)
    stat_path = tmp_path / "proc" / "201" / "stat"
    stat_path.write_text(stat_path.read_text().replace("(my (odd) app)", '(say "hi"\\)'))
    samples = scrape(exporter)
    comms = [labels["comm"] for labels, _v in samples["nsfleet_pid_mapping"] if labels["host_pid"] == "201"]
    assert comms == ['say "hi"\\']


def test_formatted_lines_are_the_collectors_not_the_scans(proc_root, state_dir, tmp_path):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    exporter = make(root, state_dir)
    scrape(exporter)
    mapping = [collector for collector in exporter.collectors if hasattr(collector, "lines")][0]
    assert sorted(mapping.lines) == [200, 201, 202, 300, 301]
    assert not [slot for slot in Process.__slots__ if "render" in slot]
    shutil.rmtree(os.path.join(root, "301"))
    scrape(exporter)
    assert sorted(mapping.lines) == [200, 201, 202, 300]
