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
import fcntl
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


def _same_file(status, other):
    return (status.st_dev, status.st_ino) == (other.st_dev, other.st_ino)


def _read_file(path, offset=0):
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read()
    except OSError:
        return b""


def _lines(log, limit=None):
    """The lines of the open file ``log`` (the last may lack its newline), reading no further than ``limit`` bytes."""
    if log is None:
        return
    consumed = 0
    for line in log:
        if limit is not None and consumed + len(line) > limit:
            line = line[:limit - consumed]
        consumed += len(line)
        if line:
            yield line
        if limit is not None and consumed >= limit:
            return


class Snapshot:
    """The log files as one moment left them, open, so a rotation while they are read changes nothing of them.

    Read by name, a rotation between two files would stitch the end of one
    file to another's copy (a chatty workload rotates many times a second).
    The current log is opened first and held with a shared flock, which a
    rotation needs exclusively (``runtime.log_writer``); the copies are opened
    under it, then each name is checked to still be the file opened. A
    rotation in between means one more look, a bounded number of times.
    ``paths`` and ``files`` (None: not there) go oldest first, the current log
    last; ``size`` is the current log's size when it was opened.
    """

    ATTEMPTS = 20

    def __init__(self, store, name):
        current_path = log_files(store, name)[-1]
        for attempt in range(self.ATTEMPTS):
            current = self._open(current_path)
            held = False
            if current is not None:
                try:
                    fcntl.flock(current.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                    held = True
                except BlockingIOError:
                    pass  # a rotation is renaming right now
            # Listed under the lock too: a listing between a rotation's two renames misses a copy.
            self.paths = list(reversed(rotated_paths(current_path))) + [current_path]
            self.files = [self._open(path) for path in reversed(self.paths[:-1])][::-1] + [current]
            if held:
                fcntl.flock(current.fileno(), fcntl.LOCK_UN)
            if attempt == self.ATTEMPTS - 1 or (held or current is None) and self._still_named():
                break
            self.close()
            time.sleep(0.001)
        current = self.files[-1]
        self.size = os.fstat(current.fileno()).st_size if current is not None else 0

    @staticmethod
    def _open(path):
        try:
            return open(path, "rb")
        except OSError:
            return None

    def _still_named(self):
        for path, opened in zip(self.paths, self.files):
            try:
                named = os.stat(path)
            except OSError:
                named = None
            if (named is None) != (opened is None):
                return False
            if opened is not None and not _same_file(named, os.fstat(opened.fileno())):
                return False
        return True

    def present_paths(self):
        return [path for path, opened in zip(self.paths, self.files) if opened is not None]

    def close(self):
        for opened in self.files:
            if opened is not None:
                opened.close()


def read_all(snapshot, write):
    """Write every line of the snapshot's files, the current (last) one up to its size then."""
    for index, log in enumerate(snapshot.files):
        for line in _lines(log, snapshot.size if index == len(snapshot.files) - 1 else None):
            write(line)


def tail_lines(snapshot, count):
    """The last ``count`` lines (bytes, newline kept) of the snapshot's files; memory bounded by ``count``."""
    if count <= 0:
        return []
    lines = collections.deque(maxlen=count)
    pending = b""
    for index, log in enumerate(snapshot.files):
        for line in _lines(log, snapshot.size if index == len(snapshot.files) - 1 else None):
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

    def __init__(self, log_path, offset, opened=None):
        """``opened``: the current log as already read (a file object), so a rotation since is not missed."""
        self.log_path = log_path
        self.fd = None
        if opened is not None:
            self.fd = os.dup(opened.fileno())
            os.set_inheritable(self.fd, False)
            os.lseek(self.fd, offset, os.SEEK_SET)
        else:
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
        return not _same_file(named, os.fstat(self.fd))

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
            if _same_file(status, opened):
                return b"".join(_read_file(newer) for newer in reversed(copies[:index]))
        return b""

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def follow(store, name, write, snapshot, deadline=None):
    """Write new output with ``write(bytes)`` until the workload is no longer running (or ``deadline``).

    ``snapshot``: what was printed before; following goes on from the end of its current log.
    """
    follower = Follower(store.log_path(name), snapshot.size, snapshot.files[-1])
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
