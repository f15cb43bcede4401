"""Which workloads run, and which namespace each names, decided against a scan."""

import os

import pytest

from nsfleet_agent.sources.pidns_tree import NamespaceTree
from nsfleet_agent.sources.proc_scan import ProcessTable
from nsfleet_agent.sources.workload_state import WorkloadStates, attribute

from fixture_tree import BOOT_ID, CHILD_NS, GRANDCHILD_NS, fixture_parent_of, write_state


@pytest.fixture
def scanned(proc_root):
    table = ProcessTable(proc_root)
    scan = table.scan()
    yield scan, NamespaceTree(proc_root, fixture_parent_of).group(scan)
    table.close()


def attributed(state_dir, scanned):
    workloads, errors = WorkloadStates(state_dir).read()
    assert errors == {}
    return attribute(workloads, *scanned)


def test_the_fixture_state_dir(state_dir, scanned):
    running, names = attributed(state_dir, scanned)
    assert running == {"app": True, "old": False}
    assert names == {CHILD_NS: "app"}


def test_a_shared_namespace_is_named_by_the_workload_whose_init_is_its_init(tmp_path, scanned):
    state_dir = str(tmp_path)
    # "a-sidecar" sorts first and joined app's namespace: its init is host PID 201 there.
    write_state(state_dir, "a-sidecar", init={"pid": 201, "start_time": 1001}, namespaces={"pid": "pid:[%d]" % CHILD_NS})
    write_state(state_dir, "app", init={"pid": 200, "start_time": 1000}, namespaces={"pid": "pid:[%d]" % CHILD_NS})
    running, names = attributed(state_dir, scanned)
    assert running == {"a-sidecar": True, "app": True}
    assert names == {CHILD_NS: "app"}


def test_a_recorded_pid_that_now_names_another_process_is_not_running(tmp_path, scanned):
    state_dir = str(tmp_path)
    write_state(state_dir, "reused", init={"pid": 300, "start_time": 5}, namespaces={"pid": "pid:[%d]" % GRANDCHILD_NS})
    write_state(state_dir, "zombie", init={"pid": 202, "start_time": 1002}, namespaces={"pid": "pid:[%d]" % CHILD_NS})
    assert attributed(state_dir, scanned) == ({"reused": False, "zombie": False}, {})


def test_state_from_an_earlier_boot_is_not_running(tmp_path, scanned):
    state_dir = str(tmp_path)
    init = {"pid": 200, "start_time": 1000}
    write_state(state_dir, "before-reboot", boot_id="another-boot", init=init, namespaces={"pid": "pid:[%d]" % CHILD_NS})
    write_state(state_dir, "this-boot", boot_id=BOOT_ID, init=init, namespaces={"pid": "pid:[%d]" % CHILD_NS})
    write_state(state_dir, "no-boot-id", boot_id="", init=init, namespaces={"pid": "pid:[%d]" % CHILD_NS})
    running, names = attributed(state_dir, scanned)
    assert running == {"before-reboot": False, "this-boot": True, "no-boot-id": True}
    assert names == {CHILD_NS: "this-boot"}


def test_unreadable_and_unknown_schema_state_files_are_counted(tmp_path):
    state_dir = str(tmp_path)
    write_state(state_dir, "future", schema=2)
    os.makedirs(os.path.join(state_dir, "torn"))
    with open(os.path.join(state_dir, "torn", "state.json"), "w") as state_file:
        state_file.write('{"schema": 1, "na')
    with open(os.path.join(state_dir, "torn.lock"), "w"):
        pass
    assert WorkloadStates(state_dir).read() == ({}, {"state_file": 2})
