# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A recorded process: PID plus start time, so PID reuse never fools us."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import select
import time

from . import procfs, signals


class ProcessIdentity:
    """A process as recorded in state.json: its host PID and its start time (stat field 22)."""

    __slots__ = ("pid", "start_time")

    def __init__(self, pid, start_time):
        self.pid = pid
        self.start_time = start_time

    @classmethod
    def of(cls, pid):
        stat = procfs.read_stat(pid)
        return None if stat is None else cls(pid, stat.start_time)

    @classmethod
    def from_record(cls, record):
        if not record or not record.get("pid"):
            return None
        return cls(int(record["pid"]), int(record["start_time"]))

    def to_record(self):
        return {"pid": self.pid, "start_time": self.start_time}

    def is_alive(self):
        """True while the same process lives (a zombie counts as gone)."""
        stat = procfs.read_stat(self.pid)
        return stat is not None and stat.start_time == self.start_time and stat.state not in ("Z", "X")

    def open_pidfd(self):
        """A pidfd proven to refer to this process, or None if it is gone.

        The pidfd pins the process; checking the start time after opening it
        proves the PID was not reused before the open.
        """
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError as error:
            if error.errno == errno.ESRCH:
                return None
            raise
        if not self.is_alive():
            os.close(pidfd)
            return None
        return pidfd

    def send_signal(self, signum):
        """Signal the process if it is still the recorded one. Returns whether it was sent."""
        pidfd = self.open_pidfd()
        if pidfd is None:
            return False
        try:
            signals.pidfd_send_signal(pidfd, signum)
            return True
        except ProcessLookupError:
            return False
        finally:
            os.close(pidfd)

    def wait_gone(self, timeout):
        """Wait at most ``timeout`` seconds for the process to exit. Returns whether it did."""
        pidfd = self.open_pidfd()
        if pidfd is None:
            return True
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if poller.poll(max(0, remaining) * 1000):
                    return True
                if remaining <= 0:
                    return not self.is_alive()
        finally:
            os.close(pidfd)
