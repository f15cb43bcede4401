"""A forked child keeps exactly the descriptors it is told to keep, with close_range or without it."""

import errno
import json
import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import descriptors, libc


def _open_in_child_after(close, keep_opened=(1, 4)):
    """Open six descriptors, fork, close all but those at ``keep_opened`` in the child; what it had left."""
    opened = [os.open(os.devnull, os.O_RDONLY) for _index in range(6)]
    read_fd, write_fd = os.pipe()
    keep = set(opened[index] for index in keep_opened) | {write_fd}
    try:
        pid = os.fork()
        if pid == 0:
            try:
                close(keep)
                left = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
                os.write(write_fd, json.dumps(left).encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        os.waitpid(pid, 0)
        answer = os.read(read_fd, 4096)
    finally:
        os.close(read_fd)
        for fd in opened:
            os.close(fd)
    left = json.loads(answer)
    listing_fd = [fd for fd in left if fd > 2 and fd not in keep]  # listdir's own descriptor
    assert len(listing_fd) <= 1
    return set(left) - set(listing_fd), keep


def test_only_the_kept_descriptors_stay():
    left, keep = _open_in_child_after(descriptors.close_all_except)
    assert left == keep | {0, 1, 2}


def test_without_close_range_each_is_closed(monkeypatch):
    def old_kernel(*_args):
        raise OSError(errno.ENOSYS, "close_range")

    monkeypatch.setattr(libc, "close_range", old_kernel)
    left, keep = _open_in_child_after(descriptors.close_all_except)
    assert left == keep | {0, 1, 2}


@pytest.mark.parametrize("with_stdio", [False, True])
def test_stdio_is_never_closed(with_stdio):
    left, keep = _open_in_child_after(
        lambda kept: descriptors.close_all_except(kept | ({0, 1, 2} if with_stdio else set())), keep_opened=())
    assert left == keep | {0, 1, 2}
