from nsfleet_agent.collectors.events import ProcEventsCollector
from nsfleet_agent.sources.proc_connector import PROC_EVENT_EXEC, PROC_EVENT_EXIT, Event
from nsfleet_agent.sources.proc_events import ProcEvents

from fixture_tree import CHILD_NS, GRANDCHILD_NS
from scrape_helpers import make, scrape as samples_of


def tracked_events(proc_root, up=True):
    tracked = ProcEvents(proc_root)
    tracked.up = up
    tracked._pump = lambda limit=0: None
    return tracked


def test_event_families_carry_the_workload_of_the_namespace(proc_root, state_dir):
    tracked = tracked_events(proc_root)
    collector = make(proc_root, state_dir, proc_events=tracked)
    tracked.handle([Event(PROC_EVENT_EXEC, 0, 0, 201, 201), Event(PROC_EVENT_EXIT, 0, 0, 301, 301, 300, 300, 9)])
    samples = samples_of(collector)
    assert ({"event": "exec", "pidns": str(CHILD_NS), "workload": "app"}, 1.0) in samples["nsfleet_proc_events_total"]
    assert ({"pidns": str(GRANDCHILD_NS), "workload": "", "how": "signaled"}, 1.0) in samples["nsfleet_proc_exits_total"]
    assert samples["nsfleet_proc_exit_signals_total"] == [
        ({"pidns": str(GRANDCHILD_NS), "workload": "", "signal": "SIGKILL"}, 1.0)]
    assert samples["nsfleet_proc_events_lost_total"] == [({}, 0.0)]
    assert samples["nsfleet_proc_connector_up"] == [({}, 1.0)]


def test_a_dead_namespaces_counts_stay_a_while_then_go(proc_root, state_dir):
    tracked = tracked_events(proc_root)
    collector = make(proc_root, state_dir, proc_events=tracked)
    tracked.handle([Event(PROC_EVENT_EXEC, 0, 0, 201, 201)])
    tracked.events[("exit", 12345)] = 3  # a namespace no process is in any more
    tracked.last_event[12345] = tracked.last_event[CHILD_NS]
    labels = [found for found, _v in samples_of(collector)["nsfleet_proc_events_total"]]
    assert {"event": "exit", "pidns": "12345", "workload": ""} in labels
    [events] = [found for found in collector.collectors if isinstance(found, ProcEventsCollector)]
    events.retain_seconds = 0
    labels = [found for found, _v in samples_of(collector)["nsfleet_proc_events_total"]]
    assert {"event": "exit", "pidns": "12345", "workload": ""} not in labels
    assert {"event": "exec", "pidns": str(CHILD_NS), "workload": "app"} in labels  # alive: kept
    assert ("exit", 12345) not in tracked.counts()[0] and 12345 not in tracked.counts()[3]  # and its memory freed


def test_refused_connector_reports_up_0_and_still_counts_processes(proc_root, state_dir):
    collector = make(proc_root, state_dir, proc_events=tracked_events(proc_root, up=False))
    samples = samples_of(collector)
    assert samples["nsfleet_proc_connector_up"] == [({}, 0.0)]
    assert "nsfleet_proc_events_total" not in samples
    assert ({"pidns": str(CHILD_NS), "workload": "app"}, 3.0) in samples["nsfleet_pidns_processes"]


def test_switched_off_there_are_no_event_families(proc_root, state_dir):
    samples = samples_of(make(proc_root, state_dir))
    assert not [name for name in samples if name.startswith("nsfleet_proc_")]
