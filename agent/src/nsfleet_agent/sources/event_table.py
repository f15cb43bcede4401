"""The process table kept current by process events: a steady scrape reads /proc only for what changed.

Without events (the connector refused, or switched off) every scan lists /proc,
as ProcessTable does. With them, a scan lists /proc only at start, after a loss
of events, and every ``full_rescan_seconds`` as a safety net; otherwise it
re-reads the processes that events named (forked, exec'd, renamed, exited, or
whose threads came and went) and the zombies, whose reaping sends no event.

What else a process's stat holds changes without an event (CPU times, memory):
a source that needs it current for some processes names them with
``reread(process)``. Those are read again on every scan (one pread each), as
polling would, or, with ``reread_max_age`` seconds, a share of them on each
scan, round robin, so that none is older than that: the cost of a scan then
falls with the scrape interval over that bound. The others keep what was read
when they last changed.
"""

import errno
import math
import time
from collections import Counter, deque

from .proc_scan import ProcessTable, Scan, error_reason

# A full listing of /proc now and then, whatever the events say.
FULL_RESCAN_SECONDS = 600.0


class EventDrivenProcessTable(ProcessTable):
    """A ProcessTable whose ``scan()`` applies the changes ``events.take_changes()`` reports."""

    def __init__(self, events, proc_root="/proc", descriptor_budget=None, full_rescan_seconds=FULL_RESCAN_SECONDS,
                 reread=None, reread_max_age=None):
        """``reread(process)``: True for the processes whose stat must be read again (None: none);
        ``reread_max_age``: at most how old their stat may be, in seconds (None: read on every scan)."""
        ProcessTable.__init__(self, proc_root, descriptor_budget)
        self.reread = reread
        self.reread_max_age = reread_max_age
        self.reread_queue = deque()  # PIDs in the order their turn comes
        self.last_scan = None
        self.events = events
        self.full_rescan_seconds = full_rescan_seconds
        self.zombies = set()
        self.last_full_scan = None
        self.full_scans = 0
        events.attribution.cached_pidns = self.cached_pidns

    def cached_pidns(self, pid):
        """The PID namespace of a process the table knows, or None; safe from another thread."""
        process = self.known.get(pid)
        return None if process is None else process.pidns

    def scan(self):
        rescan, changed = self.events.take_changes()
        now = time.monotonic()
        if rescan or self.last_full_scan is None or now - self.last_full_scan >= self.full_rescan_seconds:
            self.last_full_scan = now
            self.full_scans += 1
            scan = ProcessTable.scan(self)
            self.zombies = set(process.pid for process in scan.processes if process.state == "Z")
            return scan
        return self._apply(changed)

    def _apply(self, changed):
        errors = Counter()
        known = self.known
        for pid in self.zombies:
            changed.setdefault(pid, False)  # a zombie's reaping sends no event
        for pid, new in changed.items():
            process = known.get(pid)
            try:
                if process is None or new:  # a fork under a PID we knew: the process we knew is gone
                    process = self.learn(pid)
                else:
                    self._refresh(process)
            except (OSError, ValueError, IndexError) as error:
                self.forget(pid)
                self.zombies.discard(pid)
                _count_error(errors, error)
                continue
            if process.state == "Z":
                self.zombies.add(pid)
            else:
                self.zombies.discard(pid)
        if self.reread is not None:
            self._reread(changed, errors)
        return Scan(list(known.values()), errors, self.own_pidns, self.boot_id)

    def _due(self):
        """The processes whose turn it is: all of them, or the share that keeps none older than the bound."""
        now = time.monotonic()
        elapsed, self.last_scan = (None if self.last_scan is None else now - self.last_scan), now
        if self.reread_max_age is None:
            return list(self.known.values())
        queue = self.reread_queue
        if len(queue) < len(self.known):  # newcomers and a first turn: every known process is queued once
            queue.clear()
            queue.extend(self.known)
        share = 1.0 if elapsed is None else min(1.0, elapsed / self.reread_max_age)
        due = []
        for _turn in range(min(len(queue), int(math.ceil(len(queue) * share)))):
            pid = queue.popleft()
            process = self.known.get(pid)
            if process is not None:
                due.append(process)
                queue.append(pid)
        return due

    def _reread(self, changed, errors):
        for process in self._due():
            if process.pid not in changed and self.reread(process):
                try:
                    self._refresh(process)
                except (OSError, ValueError, IndexError) as error:
                    self.forget(process.pid)
                    _count_error(errors, error)


def _count_error(errors, error):
    # A process that came and went between two scrapes is no error: the events counted it.
    if not (isinstance(error, OSError) and error.errno in (errno.ENOENT, errno.ESRCH)):
        errors[error_reason(error)] += 1
