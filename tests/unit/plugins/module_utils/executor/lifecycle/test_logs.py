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


def test_all_lines_oldest_file_first_a_line_split_by_rotation_joined(store):
    write_logs(store, b"4\n5\n", b"2\n3", b"0\n1\n")
    paths, size = logs.snapshot(store, "web")
    chunks = []
    logs.read_all(paths, size, chunks.append)
    assert b"".join(chunks) == b"0\n1\n2\n34\n5\n"
    assert logs.tail_lines(paths, size, 2) == [b"34\n", b"5\n"]
    assert logs.tail_lines(paths, size, 0) == []
    assert logs.tail_lines(paths, size, 100)[0] == b"0\n"


def test_what_was_appended_after_the_snapshot_is_left_to_the_follower(store):
    write_logs(store, b"a\n")
    paths, size = logs.snapshot(store, "web")
    with open(store.log_path("web"), "ab") as log:
        log.write(b"b\n")
    assert logs.tail_lines(paths, size, 10) == [b"a\n"]
    assert logs.Follower(store.log_path("web"), size).read_new() == b"b\n"


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
