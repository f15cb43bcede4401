import os
import signal

from nsfleet_agent.sources.proc_connector import PROC_EVENT_COMM, PROC_EVENT_EXEC, PROC_EVENT_EXIT, PROC_EVENT_FORK, Event
from nsfleet_agent.sources.proc_events import Attribution, ProcEvents, how_it_ended, signal_name

from fixture_tree import CHILD_NS, GRANDCHILD_NS


def fork(parent, child, thread_of=None):
    return Event(PROC_EVENT_FORK, 0, 0, child, thread_of or child, parent, parent)


def exit_(pid, status=0, parent=1, thread_of=None):
    return Event(PROC_EVENT_EXIT, 0, 0, pid, thread_of or pid, parent, parent, status)


def events(proc_root):
    tracked = ProcEvents(proc_root)
    tracked.up = True
    tracked._pump = lambda limit=0: None  # no socket: tests hand events to handle()
    return tracked


def test_each_event_counts_in_the_namespace_of_its_process(proc_root):
    tracked = events(proc_root)
    tracked.handle([fork(200, 201), Event(PROC_EVENT_EXEC, 0, 0, 301, 301), exit_(301, 0, 300)])
    counts = tracked.counts()[0]
    assert counts == {("fork", CHILD_NS): 1, ("exec", GRANDCHILD_NS): 1, ("exit", GRANDCHILD_NS): 1}


def test_a_process_gone_before_its_event_counts_in_its_parents_namespace(proc_root):
    tracked = events(proc_root)
    tracked.handle([fork(300, 9999), exit_(9999, 0, 300)])  # 9999 is not in the fixture /proc
    assert tracked.counts()[0] == {("fork", GRANDCHILD_NS): 1, ("exit", GRANDCHILD_NS): 1}


def test_a_fork_into_a_new_namespace_counts_in_the_new_one(tmp_path):
    # The child of a clone(CLONE_NEWPID) is the new namespace's init: its own link says where it is.
    root = tmp_path / "proc"
    for pid, inode in ((10, GRANDCHILD_NS), (11, CHILD_NS)):
        (root / str(pid) / "ns").mkdir(parents=True)
        os.symlink("pid:[%d]" % inode, str(root / str(pid) / "ns" / "pid"))
    tracked = events(str(root))
    tracked.handle([fork(10, 11)])
    assert tracked.counts()[0] == {("fork", CHILD_NS): 1}


def test_threads_are_not_counted_but_their_process_is_read_again(proc_root):
    tracked = events(proc_root)
    tracked.handle([fork(200, 205, thread_of=201), exit_(205, 0, 200, thread_of=201)])
    assert tracked.counts()[0] == {}
    assert tracked.take_changes()[1] == {201: False}


def test_exits_by_how_and_signal(proc_root):
    tracked = events(proc_root)
    tracked.handle([exit_(201, 3 << 8, 200), exit_(202, signal.SIGKILL, 200), exit_(301, 0x80 | signal.SIGSEGV, 300)])
    _events, exits, signals, _last, _lost, up = tracked.counts()
    assert exits == {(CHILD_NS, "exited"): 1, (CHILD_NS, "signaled"): 1, (GRANDCHILD_NS, "signaled"): 1}
    assert signals == {(CHILD_NS, "SIGKILL"): 1, (GRANDCHILD_NS, "SIGSEGV"): 1}
    assert up


def test_changes_say_which_processes_are_new(proc_root):
    tracked = events(proc_root)
    tracked.take_changes()  # the first asks for a full scan
    tracked.handle([Event(PROC_EVENT_EXEC, 0, 0, 201, 201), fork(201, 203), Event(PROC_EVENT_COMM, 0, 0, 100, 100)])
    assert tracked.take_changes() == (False, {201: False, 203: True, 100: False})
    assert tracked.take_changes() == (False, {})


def test_a_loss_asks_for_a_full_rescan(proc_root):
    tracked = events(proc_root)
    tracked.take_changes()
    tracked.handle([fork(200, 201)], lost=5)
    assert tracked.take_changes() == (True, {})
    assert tracked.counts()[4] == 5
    tracked.handle([], overrun=True, lost=5)
    assert tracked.take_changes()[0] is True
    assert tracked.overruns == 1


def test_without_the_connector_every_scan_is_full(proc_root):
    tracked = ProcEvents(proc_root)
    assert tracked.take_changes()[0] is True and tracked.take_changes()[0] is True


def test_the_scans_cache_places_processes_whose_link_is_gone(tmp_path):
    attribution = Attribution(str(tmp_path), cached_pidns={77: CHILD_NS}.get)
    assert attribution.exited(exit_(77, 0, 1)) == CHILD_NS
    assert attribution.exited(exit_(78, 0, 77)) == CHILD_NS  # through the parent
    assert attribution.exited(exit_(79, 0, 80)) is None


def test_how_it_ended_and_signal_names():
    assert how_it_ended(0) == ("exited", 0) and how_it_ended(42 << 8) == ("exited", 42)
    assert how_it_ended(signal.SIGTERM) == ("signaled", signal.SIGTERM)
    assert signal_name(9) == "SIGKILL" and signal_name(signal.SIGRTMIN + 3) == "SIGRTMIN+3"
