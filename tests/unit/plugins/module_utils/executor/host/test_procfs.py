import os

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import procfs

PROC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "fixtures", "proc", "nested")
CHILD_NS = 4026532201
GRANDCHILD_NS = 4026532305


def test_parse_stat_keeps_spaces_and_parentheses_in_comm():
    stat = procfs.read_stat(201, PROC)
    assert (stat.comm, stat.state, stat.ppid, stat.start_time) == ("my (odd) app", "S", 200, 1001)


def test_zombie_state_is_read():
    assert procfs.read_stat(202, PROC).state == "Z"


def test_vanished_process_reads_as_none_not_an_error():
    assert procfs.read_stat(400, PROC) is None
    assert procfs.read_nspid(400, PROC) == []
    assert procfs.read_stat(99999, PROC) is None


def test_nspid_lists_outermost_first():
    assert procfs.read_nspid(301, PROC) == [301, 5, 2]


def test_namespace_inode_from_link():
    assert procfs.namespace_inode(300, "pid", PROC) == GRANDCHILD_NS
    assert procfs.namespace_inode(99999, "pid", PROC) is None


def test_pid_mapping_of_child_namespace_includes_nested_processes_at_its_level():
    parents = {GRANDCHILD_NS: CHILD_NS}

    def is_inside(inode, pid):
        while inode is not None:
            if inode == CHILD_NS:
                return True
            inode = parents.get(inode)
        return False

    mapping = procfs.pid_mapping(CHILD_NS, is_inside, PROC)
    assert [(p["host_pid"], p["ns_pid"], p["ppid"]) for p in mapping] == [
        (200, 1, 0), (201, 2, 1), (202, 3, 1), (300, 4, 2), (301, 5, 4)]
    assert mapping[1]["comm"] == "my (odd) app"


def test_pid_mapping_of_unknown_namespace_is_empty():
    assert procfs.pid_mapping(1234, lambda inode, pid: inode == 1234, PROC) == []
