"""The process table kept current by process events: a steady scrape reads /proc only for what changed.

Without events (the connector refused, or switched off) every scan lists /proc,
as ProcessTable does. With them, a scan lists /proc only at start, after a loss
of events, and every ``full_rescan_seconds`` as a safety net; otherwise it
re-reads the processes that events named (forked, exec'd, renamed, exited, or
whose threads came and went) and the zombies, whose reaping sends no event.

What else a process's stat holds changes without an event (CPU times, memory):
a source that needs it current for some processes names them with
``reread(process)``, and those are read again on every scan (one pread each),
as polling would; the others keep what was read when they last changed.
"""

import errno
import time
from collections import Counter

from .proc_scan import ProcessTable, Scan, _reason

# A full listing of /proc now and then, whatever the events say.
FULL_RESCAN_SECONDS = 600.0


class EventDrivenProcessTable(ProcessTable):
    """A ProcessTable whose ``scan()`` applies the changes ``events.take_changes()`` reports."""

    def __init__(self, events, proc_root="/proc", descriptor_budget=None, full_rescan_seconds=FULL_RESCAN_SECONDS,
                 reread=None):
        """``reread(process)``: True for the processes whose stat every scan must read again (None: none)."""
        ProcessTable.__init__(self, proc_root, descriptor_budget)
        self.reread = reread
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
                # A process that came and went between two scrapes is no error: the events counted it.
                if not (isinstance(error, OSError) and error.errno in (errno.ENOENT, errno.ESRCH)):
                    errors[_reason(error)] += 1
                continue
            if process.state == "Z":
                self.zombies.add(pid)
            else:
                self.zombies.discard(pid)
        if self.reread is not None:
            self._reread(changed, errors)
        return Scan(list(known.values()), errors, self.own_pidns, self.boot_id)

    def _reread(self, changed, errors):
        for process in list(self.known.values()):
            if process.pid not in changed and self.reread(process):
                try:
                    self._refresh(process)
                except (OSError, ValueError, IndexError) as error:
                    self.forget(process.pid)
                    if not (isinstance(error, OSError) and error.errno in (errno.ENOENT, errno.ESRCH)):
                        errors[_reason(error)] += 1
