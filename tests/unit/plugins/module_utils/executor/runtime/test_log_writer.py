"""The bounded log: no file past its bound, only max_files kept, the copier's pipe drained at the end."""

import os

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.runtime.log_writer import (
    BoundedLog, LogCopier, rotated_paths)


def bounded(tmp_path, max_size=100, max_files=3):
    path = str(tmp_path / "web.log")
    return path, BoundedLog(path, lambda: os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640),
                            max_size, max_files)


def sizes(path):
    return [os.path.getsize(name) for name in [path] + rotated_paths(path)]


def test_no_file_passes_the_bound_and_nothing_is_lost_of_what_is_kept(tmp_path):
    path, log = bounded(tmp_path, max_size=100, max_files=3)
    log.write(b"a" * 250)
    assert rotated_paths(path) == [path + ".1", path + ".2"] and sizes(path) == [50, 100, 100]
    log.write(b"b" * 60)
    assert sizes(path) == [10, 100, 100]
    assert open(path + ".1", "rb").read() == b"a" * 50 + b"b" * 50


def test_one_file_keeps_no_copy_and_a_lowered_bound_drops_the_extra_copies(tmp_path):
    path, log = bounded(tmp_path, max_size=10, max_files=1)
    for extra in (1, 2, 5):
        open("%s.%d" % (path, extra), "w").write("old")
    log.write(b"x" * 25)
    assert rotated_paths(path) == [] and sizes(path) == [5]


def test_an_existing_log_is_continued(tmp_path):
    path = str(tmp_path / "web.log")
    open(path, "wb").write(b"z" * 90)
    _path, log = bounded(tmp_path, max_size=100)
    log.write(b"y" * 20)
    assert sizes(path) == [10, 100]


def test_rotated_paths_ignores_other_files(tmp_path):
    path = str(tmp_path / "web.log")
    for name in ("web.log.1", "web.log.10", "web.log.x", "web.log.1.tmp", "web.log.log", "other.log.1"):
        (tmp_path / name).write_text("")
    assert rotated_paths(path) == [path + ".1", path + ".10"]
    assert rotated_paths(path, max_files=3) == [path + ".1"]


def test_the_copier_copies_until_every_writer_closed(tmp_path):
    path, log = bounded(tmp_path, max_size=1000)
    copier = LogCopier(log)
    write_fd = copier.start()
    os.write(write_fd, b"hello\n")
    copier.close()
    assert open(path, "rb").read() == b"hello\n" and not copier.is_copying()


def test_a_rotation_waits_for_no_reader_it_is_put_off_while_one_opens_the_copies(tmp_path):
    import fcntl
    path, log = bounded(tmp_path, max_size=10, max_files=3)
    log.write(b"0123456789")
    reader = os.open(path, os.O_RDONLY)
    fcntl.flock(reader, fcntl.LOCK_SH)  # what lifecycle.logs.Snapshot holds while it opens the set
    log.write(b"abc")
    assert rotated_paths(path) == [] and sizes(path) == [13]  # put off: past the bound, once
    os.close(reader)
    log.write(b"d")
    assert sizes(path) == [1, 13]
    with open(path + ".1", "rb") as copy:
        assert copy.read() == b"0123456789abc"
    log.close()
