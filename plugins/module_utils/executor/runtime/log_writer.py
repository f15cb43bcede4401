# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A workload's log, bounded: its stdout and stderr come through a pipe that the supervisor copies to the log.

Past ``log_max_size`` the log is renamed ``<log>.1`` (older copies shift up,
those past ``log_max_files`` go) and a new one is started, so no file ever
passes the bound and a chatty workload cannot fill the disk: when it writes
faster than the disk takes, the pipe makes it wait, as conmon and Docker's
log drivers do. A reader with the old file open still reads it to its end.
A rotation holds an exclusive flock on the current log while it renames;
a reader opening the whole set holds a shared one (``lifecycle.logs``), and
a rotation that would wait for it is put off to the next write instead.

The copying runs in a thread of the supervisor with every signal blocked,
so the supervisor's signal loop is unchanged. If the supervisor is killed,
nobody reads the pipe: the workload's next write fails (SIGPIPE), as a
container's does when its conmon dies.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os

_CHUNK = 65536
# The copier needs little stack; a workload's memory matters.
_THREAD_STACK_BYTES = 256 * 1024
# At the supervisor's end, how long output still in the pipe is copied.
DRAIN_SECONDS = 2.0


def rotated_path(log_path, index):
    return "%s.%d" % (log_path, index)


def rotated_paths(log_path, max_files=None):
    """The rotated copies that exist, newest (.1) first; with ``max_files``, only those it keeps."""
    directory, base = os.path.split(log_path)
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        return []
    indexes = sorted(int(entry[len(base) + 1:]) for entry in entries
                     if entry.startswith(base + ".") and entry[len(base) + 1:].isdigit())
    return [rotated_path(log_path, index) for index in indexes
            if index >= 1 and (max_files is None or index < max_files)]


class BoundedLog:
    """Appends to ``log_path``, rotating at ``max_size``; ``open_log()`` opens the current file for appending."""

    def __init__(self, log_path, open_log, max_size, max_files):
        self.log_path = log_path
        self.open_log = open_log
        self.max_size = max_size
        self.max_files = max_files
        self.fd = open_log()
        self.size = os.fstat(self.fd).st_size

    def write(self, data):
        while data:
            room = self.max_size - self.size
            if room <= 0:
                # A reader opening the set puts the rotation off: this chunk goes past the bound, once.
                room = self.max_size if self.rotate() else len(data)
            written = os.write(self.fd, data[:room])
            self.size += written
            data = data[written:]

    def rotate(self):
        """Shift the copies and start a new log; False (nothing done) while a reader is opening them."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        for stale in rotated_paths(self.log_path):
            if int(stale.rpartition(".")[2]) >= self.max_files:
                os.unlink(stale)  # the bound was lowered, or one file is kept: copies past it go
        if self.max_files > 1:
            for index in range(self.max_files - 1, 1, -1):
                try:
                    os.rename(rotated_path(self.log_path, index - 1), rotated_path(self.log_path, index))
                except FileNotFoundError:
                    pass
            os.rename(self.log_path, rotated_path(self.log_path, 1))
        else:
            os.unlink(self.log_path)
        os.close(self.fd)  # and with it the lock
        self.fd = self.open_log()
        self.size = 0
        return True

    def close(self):
        os.close(self.fd)


class LogCopier:
    """The pipe and the thread that copies it into a BoundedLog.

    ``start()`` returns the pipe's write end (close-on-exec), for the
    workload's stdout and stderr; call it with every signal already blocked,
    so the thread inherits the mask and never takes the supervisor's signals.
    """

    def __init__(self, bounded_log):
        self.log = bounded_log
        self.read_fd = None
        self.write_fd = None
        self.running = None  # a lock held while the thread copies

    def start(self):
        # _thread, not threading: a supervisor lives as long as its workload, and threading costs memory.
        import _thread

        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        self.running = _thread.allocate_lock()
        self.running.acquire()
        previous = _thread.stack_size(_THREAD_STACK_BYTES)
        try:
            _thread.start_new_thread(self._copy, ())
        finally:
            _thread.stack_size(previous)
        return self.write_fd

    def _copy(self):
        try:
            while True:
                try:
                    chunk = os.read(self.read_fd, _CHUNK)
                except OSError:
                    return
                if not chunk:
                    return
                try:
                    self.log.write(chunk)
                except OSError:
                    pass  # a full disk drops output; it must not stop the reading, or the workload would block
        finally:
            self.running.release()

    def is_copying(self):
        return self.running is not None and self.running.locked()

    def close(self, drain_seconds=DRAIN_SECONDS):
        """Close our write end and copy what is left; bounded, as a daemon the workload left may hold the pipe."""
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None
        if self.running is not None and self.running.acquire(timeout=drain_seconds):
            self.running.release()
