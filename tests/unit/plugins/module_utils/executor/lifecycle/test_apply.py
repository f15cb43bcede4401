"""apply's planning and ordering, without a host: what each workload needs, and in which order it is done."""

import threading
import time

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle import apply
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError

SLEEP = ["/bin/sleep", "1000"]
OTHER = ["/bin/sleep", "2000"]


class Seen:
    """What plan_entry reads of an Observation."""

    def __init__(self, status, labels=None):
        self.name = "web"
        self.status = status
        self.spec = {"name": "web", "command": SLEEP, "labels": labels or {}}


def plan(state, existing, command="same", recreate=False, labels=None, current_labels=None):
    command = SLEEP if command == "same" else command
    entry = apply.Entry(0, "web", state, recreate, None)
    wanted = None if command is None else {"name": "web", "command": command, "labels": labels or {}}
    current = None if existing is None else Seen(existing, labels=current_labels)
    return apply.plan_entry(entry, current, wanted)


# (state, existing status or None, command, recreate) -> steps, action: the single module's table, one action each.
CASES = [
    ("absent", None, SLEEP, False, [], "none"),
    ("absent", "running", None, False, ["remove"], "remove"),
    ("present", None, SLEEP, False, ["create"], "create"),
    ("present", "running", SLEEP, False, [], "none"),
    ("present", "running", OTHER, False, ["remove", "create", "start"], "recreate"),
    ("present", "stopped", OTHER, False, ["remove", "create"], "recreate"),
    ("present", "running", SLEEP, True, ["remove", "create", "start"], "recreate"),
    ("started", None, SLEEP, False, ["create", "start"], "create"),
    ("started", "running", SLEEP, False, [], "none"),
    ("started", "exited", SLEEP, False, ["start"], "start"),
    ("started", "stale", SLEEP, False, ["start"], "start"),
    ("started", "stale", None, False, ["start"], "start"),
    ("started", "running", OTHER, False, ["remove", "create", "start"], "recreate"),
    ("stopped", None, SLEEP, False, ["create"], "create"),
    ("stopped", "running", SLEEP, False, ["stop"], "stop"),
    ("stopped", "orphaned", None, False, ["stop"], "stop"),
    ("stopped", "stale", SLEEP, False, [], "none"),
    ("stopped", "running", OTHER, False, ["remove", "create"], "recreate"),
    ("restarted", "running", SLEEP, False, ["restart"], "restart"),
    ("restarted", None, SLEEP, False, ["create", "start"], "create"),
]


@pytest.mark.parametrize("state, existing, command, recreate, steps, action", CASES)
def test_plan(state, existing, command, recreate, steps, action):
    planned = plan(state, existing, command, recreate)
    assert planned.error is None
    assert (planned.steps, planned.action) == (steps, action)


def test_creating_needs_a_command():
    assert "command: required" in plan("started", None, command=None).error


def test_labels_alone_update_in_place_and_keep_the_workload_running():
    planned = plan("started", "running", labels={"tier": "db"}, current_labels={"tier": "web"})
    assert (planned.steps, planned.action) == (["update"], "update")
    planned = plan("started", "stopped", labels={"tier": "db"}, current_labels={"tier": "web"})
    assert (planned.steps, planned.action) == (["update", "start"], "start")


def test_entries_are_checked_for_shape_before_anything():
    entries = apply.parse_entries([{"name": "a", "command": SLEEP}, {"name": "b", "state": "absent"},
                                   {"name": "c", "state": "stopped"}])
    assert [(entry.name, entry.state, entry.raw is not None) for entry in entries] == [
        ("a", "started", True), ("b", "absent", False), ("c", "stopped", False)]
    assert entries[0].raw == {"name": "a", "command": SLEEP}
    for document, param in [({"name": "a"}, "--specs"), ([["a"]], "workloads[0]"),
                            ([{"name": "Bad"}], "workloads[0].name"),
                            ([{"name": "a"}, {"name": "a"}], "workloads[1].name"),
                            ([{"name": "a", "state": "gone"}], "workloads[0].state"),
                            ([{"name": "a", "recreate": "yes"}], "workloads[0].recreate")]:
        with pytest.raises(SpecError) as refused:
            apply.parse_entries(document)
        assert refused.value.param == param


def test_the_selector_is_checked_as_labels_are():
    assert apply.parse_selector(["tier=web", "team=a=b", "empty="]) == {"tier": "web", "team": "a=b", "empty": ""}
    for words in (["tier"], ["=web"], ["bad key=x"]):
        with pytest.raises(SpecError):
            apply.parse_selector(words)
    assert apply.labels_match({"labels": {"tier": "web", "team": "a"}}, {"tier": "web"})
    assert not apply.labels_match({"labels": {"tier": "db"}}, {"tier": "web"})
    assert apply.labels_match({"labels": {}}, {})


def run(names, needs, fail=(), parallel=4, delay=0.0):
    order, blocked, active, most = [], {}, [0], [0]
    lock = threading.Lock()

    def work(name):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(delay)
        with lock:
            active[0] -= 1
            order.append(name)
        return name not in fail

    apply.run_ordered(names, needs, work, blocked.__setitem__, parallel)
    return order, blocked, most[0]


def test_a_workload_starts_after_the_workloads_it_joins():
    order, blocked, _most = run(["sidecar", "web", "db"], {"sidecar": {"web"}, "web": {"db"}})
    assert order == ["db", "web", "sidecar"] and blocked == {}


def test_a_failure_blocks_only_its_dependents():
    order, blocked, _most = run(["a", "b", "c", "d"], {"b": {"a"}, "c": {"b"}}, fail={"a"})
    assert sorted(order) == ["a", "d"]
    assert blocked == {"b": ["a"], "c": ["b"]}


def test_a_cycle_is_reported_not_waited_for():
    order, blocked, _most = run(["a", "b", "c"], {"a": {"b"}, "b": {"a"}})
    assert order == ["c"] and blocked == {"a": None, "b": None}


def test_independent_workloads_run_concurrently_within_the_bound():
    _order, _blocked, most = run(["w%d" % index for index in range(12)], {}, parallel=3, delay=0.05)
    assert most == 3


def test_what_already_failed_blocks_its_dependents():
    blocked = {}
    apply.run_ordered(["a", "b"], {"a": {"broken"}}, lambda name: True,
                      blocked.__setitem__, 2, failed_already={"broken"})
    assert blocked == {"a": ["broken"]}


def test_joined_workloads_are_the_workload_values():
    spec = {"namespaces": {"pid": "workload:web", "net": "workload:db", "uts": "private", "ipc": "path:/x"}}
    assert apply.joined_workloads(spec) == {"web", "db"}
