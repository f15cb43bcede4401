"""One read of the host per scrape, shared by the scrapes that arrive while it runs."""

import threading
import time

from nsfleet_agent.snapshot import Scraper, SharedScan
from nsfleet_agent.sources.event_table import EventDrivenProcessTable
from nsfleet_agent.sources.proc_events import ProcEvents

from fixture_tree import CHILD_NS, fixture_parent_of


def test_a_snapshot_holds_the_scan_tree_and_workloads(proc_root, state_dir):
    snapshot = Scraper.of_host(proc_root, state_dir, parent_of=fixture_parent_of).snapshot()
    assert len(snapshot.scan.processes) == 7 and CHILD_NS in snapshot.namespaces
    assert snapshot.running == {"app": True, "old": False} and snapshot.names == {CHILD_NS: "app"}
    assert snapshot.errors_total == {"vanished": 1} and snapshot.duration >= 0


def test_without_workload_states_nothing_is_named(proc_root, state_dir):
    snapshot = Scraper.of_host(proc_root, state_dir, read_states=False, parent_of=fixture_parent_of).snapshot()
    assert snapshot.workloads == {} and snapshot.names == {}


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


def test_with_events_and_cgroups_every_process_is_reread_within_the_bound(proc_root, state_dir):
    events = ProcEvents(proc_root)
    with_cgroups = Scraper.of_host(proc_root, state_dir, read_cgroups=True, proc_events=events, stat_max_age=60)
    assert isinstance(with_cgroups.table, EventDrivenProcessTable)
    assert with_cgroups.table.reread(object()) and with_cgroups.table.reread_max_age == 60
    without = Scraper.of_host(proc_root, state_dir, read_cgroups=False, proc_events=ProcEvents(proc_root))
    assert without.table.reread is None
