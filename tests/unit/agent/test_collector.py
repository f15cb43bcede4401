import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from nsfleet_agent.collector import NsfleetCollector, SharedScan

from fixture_tree import CHILD_NS, GRANDCHILD_NS, HOST_NS, fixture_parent_of


def scrape(collector):
    samples = {}
    for family in text_string_to_metric_families(collector.render().decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples, name, **labels):
    found = [v for found_labels, v in samples[name] if all(found_labels.get(k) == str(w) for k, w in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


def make(proc_root, state_dir, **options):
    return NsfleetCollector(proc_root, state_dir, parent_of=fixture_parent_of, **options)


def test_per_namespace_counts(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    assert value(samples, "nsfleet_pidns_processes", pidns=HOST_NS) == 2
    assert value(samples, "nsfleet_pidns_processes", pidns=CHILD_NS, workload="app") == 3
    assert value(samples, "nsfleet_pidns_threads", pidns=CHILD_NS) == 6
    assert value(samples, "nsfleet_pidns_zombies", pidns=CHILD_NS) == 1
    assert value(samples, "nsfleet_pidns_processes", pidns=GRANDCHILD_NS, workload="") == 2


def test_nesting_info(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    assert value(samples, "nsfleet_pidns_info", pidns=HOST_NS, level=0, parent_pidns="") == 1
    assert value(samples, "nsfleet_pidns_info", pidns=CHILD_NS, level=1, parent_pidns=HOST_NS, init_host_pid=200) == 1
    assert value(samples, "nsfleet_pidns_info", pidns=GRANDCHILD_NS, level=2, parent_pidns=CHILD_NS,
                 init_host_pid=300) == 1


def test_mapping_uses_the_pid_a_process_sees_and_skips_the_host(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    mapping = sorted((found["host_pid"], found["ns_pid"], found["pidns"], found["comm"]) for found, _v in samples["nsfleet_pid_mapping"])
    assert mapping == [("200", "1", str(CHILD_NS), "nsfleet-init"), ("201", "2", str(CHILD_NS), "my (odd) app"),
                       ("202", "3", str(CHILD_NS), "defunct"), ("300", "1", str(GRANDCHILD_NS), "nsfleet-init"),
                       ("301", "2", str(GRANDCHILD_NS), "sleep")]
    assert value(samples, "nsfleet_series_dropped", family="nsfleet_pid_mapping") == 0


def test_mapping_cap_counts_what_it_drops(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir, mapping_max_series=2))
    assert len(samples["nsfleet_pid_mapping"]) == 2
    assert value(samples, "nsfleet_series_dropped", family="nsfleet_pid_mapping") == 3


def test_no_command_line_label_anywhere(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    labels = set(key for series in samples.values() for series_labels, _v in series for key in series_labels)
    assert not labels & {"cmdline", "command", "args"}


def test_workloads(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    # app's init is host PID 200 with the recorded start time; old has exited.
    assert value(samples, "nsfleet_workload_up", workload="app") == 1
    assert value(samples, "nsfleet_workload_up", workload="old") == 0
    assert value(samples, "nsfleet_workload_restarts_total", workload="app") == 3


def test_self_metrics(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    assert value(samples, "nsfleet_scrape_errors_total", reason="vanished") == 1
    assert samples["nsfleet_scrape_duration_seconds"][0][1] >= 0
    assert value(samples, "nsfleet_build_info") == 1


def test_collectors_can_be_switched_off(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir, collect_mapping=False, collect_workloads=False))
    assert "nsfleet_pid_mapping" not in samples and "nsfleet_workload_up" not in samples
    assert "nsfleet_pidns_processes" in samples


def test_missing_state_dir_is_fine(proc_root, tmp_path):
    samples = scrape(make(proc_root, str(tmp_path / "none")))
    assert value(samples, "nsfleet_pidns_processes", pidns=CHILD_NS, workload="") == 3


def test_concurrent_scrapes_share_one_scan():
    calls = []
    release = threading.Event()

    def produce():
        calls.append(1)
        release.wait(5)
        return len(calls)

    shared = SharedScan(produce)
    results = []
    threads = [threading.Thread(target=lambda: results.append(shared.get())) for _thread in range(5)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join(5)
    assert calls == [1] and results == [1] * 5


def test_a_failed_scan_reaches_every_waiter():
    def produce():
        raise OSError("procfs went away")

    shared = SharedScan(produce)
    for _attempt in range(2):
        try:
            shared.get()
        except OSError as error:
            assert "procfs" in str(error)
        else:
            raise AssertionError("expected the scan's error")


def test_label_values_are_escaped_and_mapping_lines_follow_comm_changes(proc_root, state_dir, tmp_path):
    import shutil
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    collector = make(root, state_dir, descriptor_budget=0)
    scrape(collector)
    stat_path = tmp_path / "proc" / "201" / "stat"
    stat_path.write_text(stat_path.read_text().replace("(my (odd) app)", '(say "hi"\\)'))
    samples = scrape(collector)
    comms = [labels["comm"] for labels, _v in samples["nsfleet_pid_mapping"] if labels["host_pid"] == "201"]
    assert comms == ['say "hi"\\']


def test_render_includes_the_agents_own_process_metrics(proc_root, state_dir):
    assert "process_cpu_seconds_total" in scrape(make(proc_root, state_dir))
