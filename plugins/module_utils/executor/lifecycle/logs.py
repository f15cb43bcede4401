# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``nsfleet logs``: a workload's stdout and stderr, across its rotated files, all, the last lines, or followed.

The supervisor rotates by renaming the log to ``<log>.1`` (``runtime.log_writer``):
a follower keeps the file it reads open, reads it to its end when the name
points to a new file, and goes on with the new one, losing nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import time

from ..runtime.log_writer import rotated_paths
from . import observe
from .state import NoSuchWorkload

FOLLOW_POLL_SECONDS = 0.2
# How often a follower asks whether the workload still runs.
FOLLOW_STATUS_SECONDS = 1.0
_CHUNK = 65536


def log_files(store, name):
    """The workload's log files, oldest first, the current one last. NoSuchWorkload when it has neither spec nor log."""
    current = store.log_path(name)
    if not store.exists(name) and not os.path.exists(current):
        raise NoSuchWorkload(name)
    return list(reversed(rotated_paths(current))) + [current]


def _read_file(path, offset=0):
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read()
    except OSError:
        return b""


def _lines(path, limit=None):
    """The lines of ``path`` (the last may lack its newline), reading no further than ``limit`` bytes."""
    try:
        log = open(path, "rb")
    except OSError:
        return
    with log:
        consumed = 0
        for line in log:
            if limit is not None and consumed + len(line) > limit:
                line = line[:limit - consumed]
            consumed += len(line)
            if line:
                yield line
            if limit is not None and consumed >= limit:
                return


def snapshot(store, name):
    """(the log files oldest first, the current log's size now): what is printed before following."""
    paths = log_files(store, name)
    try:
        size = os.stat(paths[-1]).st_size
    except OSError:
        size = 0
    return paths, size


def read_all(paths, current_size, write):
    """Write every line of ``paths``, the current (last) one up to ``current_size``."""
    for index, path in enumerate(paths):
        for line in _lines(path, current_size if index == len(paths) - 1 else None):
            write(line)


def tail_lines(paths, current_size, count):
    """The last ``count`` lines (bytes, newline kept) across ``paths``; memory bounded by ``count``."""
    if count <= 0:
        return []
    lines = collections.deque(maxlen=count)
    pending = b""
    for index, path in enumerate(paths):
        for line in _lines(path, current_size if index == len(paths) - 1 else None):
            if pending:
                line, pending = pending + line, b""
            if line.endswith(b"\n"):
                lines.append(line)
            else:
                pending = line  # a file may end mid-line; the next one continues it
    if pending:
        lines.append(pending)
    return list(lines)


class Follower:
    """New output of the current log as it comes, across rotations."""

    def __init__(self, log_path, offset):
        self.log_path = log_path
        self.fd = None
        self._open(offset)

    def _open(self, offset):
        try:
            self.fd = os.open(self.log_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.fd = None
            return
        os.lseek(self.fd, offset, os.SEEK_SET)

    def _drain(self):
        chunks = []
        while self.fd is not None:
            chunk = os.read(self.fd, _CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def _rotated(self):
        try:
            named = os.stat(self.log_path)
        except OSError:
            return False  # between the rename and the new file: look again next time
        if self.fd is None:
            return True
        opened = os.fstat(self.fd)
        return (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino)

    def read_new(self):
        data = self._drain()
        if self._rotated():
            data += self._drain()  # the old file's last bytes, written before the rename
            data += self._newer_copies()
            self.close()
            self._open(0)
            data += self._drain()
        return data

    def _newer_copies(self):
        """Copies made after ours, when more than one rotation came between two reads."""
        if self.fd is None:
            return b""
        opened = os.fstat(self.fd)
        copies = rotated_paths(self.log_path)  # newest first
        for index, path in enumerate(copies):
            try:
                status = os.stat(path)
            except OSError:
                continue
            if (status.st_dev, status.st_ino) == (opened.st_dev, opened.st_ino):
                return b"".join(_read_file(newer) for newer in reversed(copies[:index]))
        return b""

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def follow(store, name, write, already_read, deadline=None):
    """Write new output with ``write(bytes)`` until the workload is no longer running (or ``deadline``).

    ``already_read``: the current log's size when printing began.
    """
    follower = Follower(store.log_path(name), already_read)
    try:
        _follow(store, name, write, follower, deadline)
    finally:
        follower.close()


def _follow(store, name, write, follower, deadline):
    next_status = 0.0
    while True:
        data = follower.read_new()
        if data:
            write(data)
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return
        if now >= next_status:
            next_status = now + FOLLOW_STATUS_SECONDS
            observation = observe.observe(store, name)
            if observation is None or not observation.is_active:
                tail = follower.read_new()  # what it wrote last
                if tail:
                    write(tail)
                return
        time.sleep(FOLLOW_POLL_SECONDS)
