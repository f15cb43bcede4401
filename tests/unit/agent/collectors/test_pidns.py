from scrape_helpers import make, scrape, value

from fixture_tree import CHILD_NS, GRANDCHILD_NS, HOST_NS


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


def test_missing_state_dir_is_fine(proc_root, tmp_path):
    samples = scrape(make(proc_root, str(tmp_path / "none")))
    assert value(samples, "nsfleet_pidns_processes", pidns=CHILD_NS, workload="") == 3
