"""Reading logs across rotated files: all, the tail, and following through a rotation."""

import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle import logs
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.state import NoSuchWorkload, StateStore
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.runtime.log_writer import BoundedLog


@pytest.fixture
def store(tmp_path):
    store = StateStore(str(tmp_path / "host"))
    os.makedirs(store.log_dir)
    return store


def write_logs(store, current, *rotated):
    with open(store.log_path("web"), "wb") as log:
        log.write(current)
    for index, content in enumerate(rotated, 1):
        with open("%s.%d" % (store.log_path("web"), index), "wb") as log:
            log.write(content)


def _read_all(snapshot):
    chunks = []
    logs.read_all(snapshot, chunks.append)
    return b"".join(chunks)


def test_all_lines_oldest_file_first_a_line_split_by_rotation_joined(store):
    write_logs(store, b"4\n5\n", b"2\n3", b"0\n1\n")
    snapshot = logs.Snapshot(store, "web")
    assert _read_all(snapshot) == b"0\n1\n2\n34\n5\n"
    for count, expected in ((2, [b"34\n", b"5\n"]), (0, []), (100, [b"0\n", b"1\n", b"2\n", b"34\n", b"5\n"])):
        assert logs.tail_lines(logs.Snapshot(store, "web"), count) == expected
    snapshot.close()


def test_what_was_appended_after_the_snapshot_is_left_to_the_follower(store):
    write_logs(store, b"a\n")
    snapshot = logs.Snapshot(store, "web")
    with open(store.log_path("web"), "ab") as log:
        log.write(b"b\n")
    assert logs.tail_lines(snapshot, 10) == [b"a\n"]
    assert logs.Follower(store.log_path("web"), snapshot.size, snapshot.files[-1]).read_new() == b"b\n"
    snapshot.close()


def test_a_rotation_while_the_files_are_opened_is_never_stitched_in(store, monkeypatch):
    """Read by name, the rotation below would print the old .2, then the old current log as .1: 0 1 4 5."""
    write_logs(store, b"4\n5\n", b"2\n3\n", b"0\n1\n")
    path = store.log_path("web")
    opened = []

    def open_then_rotate_once(name):
        opened.append(name)
        if len(opened) == 2:  # the current log and .1 are open; a rotation now, before .2 is
            os.rename(path + ".1", path + ".2")
            os.rename(path, path + ".1")
            with open(path, "wb") as current:
                current.write(b"6\n")
        return open(name, "rb")

    monkeypatch.setattr(logs.Snapshot, "_open", staticmethod(open_then_rotate_once))
    snapshot = logs.Snapshot(store, "web")
    assert _read_all(snapshot) == b"2\n3\n4\n5\n6\n"  # one rotation's consistent view, taken again
    snapshot.close()


def test_a_rotation_after_the_snapshot_is_followed_from_the_file_it_read(store):
    write_logs(store, b"a\n")
    snapshot = logs.Snapshot(store, "web")
    path = store.log_path("web")
    with open(path, "ab") as log:
        log.write(b"b\n")
    os.rename(path, path + ".1")
    with open(path, "wb") as log:
        log.write(b"c\n")
    assert _read_all(snapshot) == b"a\n"
    follower = logs.Follower(path, snapshot.size, snapshot.files[-1])
    assert follower.read_new() == b"b\nc\n"
    follower.close()
    snapshot.close()


def test_the_follower_loses_nothing_across_rotations(store):
    path = store.log_path("web")
    log = BoundedLog(path, lambda: os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640), 100, 3)
    follower = logs.Follower(path, 0)
    log.write(b"one\n")
    assert follower.read_new() == b"one\n"
    log.write(b"two\n" * 30)  # 124 bytes: one rotation
    log.write(b"three\n")
    assert follower.read_new() == b"two\n" * 30 + b"three\n"
    log.write(b"".join(b"%03d\n" % number for number in range(60)))  # two rotations between reads
    assert follower.read_new() == b"".join(b"%03d\n" % number for number in range(60))
    follower.close()


def test_a_workload_without_spec_or_log_does_not_exist(store):
    with pytest.raises(NoSuchWorkload):
        logs.log_files(store, "ghost")
