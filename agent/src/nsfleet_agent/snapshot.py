"""One scrape's reading of the host: the /proc scan, the namespace tree and the workload state, timed.

Every read a scrape makes happens here, once, whichever collectors are on;
scrapes that arrive while one is running share its result.
"""

import threading
import time
from collections import Counter

from .sources.event_table import EventDrivenProcessTable
from .sources.pidns_tree import NamespaceTree
from .sources.proc_scan import ProcessTable
from .sources.workload_state import WorkloadStates, attribute


class SharedScan:
    """Runs ``produce()`` for one caller at a time; callers that arrive meanwhile share its result."""

    def __init__(self, produce, wait_seconds=60.0):
        self.produce = produce
        self.wait_seconds = wait_seconds
        self.condition = threading.Condition()
        self.running = False
        self.generation = 0
        self.outcome = None

    def get(self):
        with self.condition:
            if self.running:
                generation = self.generation
                self.condition.wait_for(lambda: self.generation != generation, timeout=self.wait_seconds)
                if self.generation == generation:
                    raise TimeoutError("the scan in progress took over %ss" % self.wait_seconds)
                return self._result(self.outcome)
            self.running = True
        try:
            outcome = (self.produce(), None)
        except Exception as error:  # handed to every waiting scrape
            outcome = (None, error)
        with self.condition:
            self.outcome = outcome
            self.running = False
            self.generation += 1
            self.condition.notify_all()
        return self._result(outcome)

    @staticmethod
    def _result(outcome):
        value, error = outcome
        if error is not None:
            raise error
        return value


class Snapshot:
    """Everything one scrape exports, read once and shared by concurrent scrapes.

    ``running``: {workload name: its init is alive}; ``names``: {pidns inode:
    the workload that names it}; ``errors_total``: skipped reads by reason, since start.
    """

    __slots__ = ("scan", "namespaces", "workloads", "running", "names", "errors_total", "duration")

    def __init__(self, scan, namespaces, workloads, running, names, errors_total, duration):
        self.scan = scan
        self.namespaces = namespaces
        self.workloads = workloads
        self.running = running
        self.names = names
        self.errors_total = errors_total
        self.duration = duration


class Scraper:
    """Owns the sources and turns them into a Snapshot per scrape."""

    def __init__(self, table, tree, states=None):
        """``states``: the workload state source, or None to read no state dir."""
        self.table = table
        self.tree = tree
        self.states = states
        self.errors_total = Counter()
        self.shared = SharedScan(self._read)

    @classmethod
    def of_host(cls, proc_root="/proc", state_dir="/run/nsfleet", read_states=True, parent_of=None,
                descriptor_budget=None, proc_events=None):
        """``parent_of`` and ``descriptor_budget`` are for tests: see NamespaceTree and ProcessTable.

        ``proc_events``: a started ProcEvents, whose events keep the process table current between scrapes.
        """
        if proc_events is None:
            table = ProcessTable(proc_root, descriptor_budget)
        else:
            table = EventDrivenProcessTable(proc_events, proc_root, descriptor_budget)
        tree = NamespaceTree(proc_root) if parent_of is None else NamespaceTree(proc_root, parent_of)
        return cls(table, tree, WorkloadStates(state_dir) if read_states else None)

    def snapshot(self):
        return self.shared.get()

    def _read(self):
        started = time.monotonic()
        scan = self.table.scan()
        namespaces = self.tree.group(scan)
        workloads, state_errors = self.states.read() if self.states is not None else ({}, {})
        running, names = attribute(workloads, scan, namespaces)
        self.errors_total.update(scan.errors)
        self.errors_total.update(state_errors)
        return Snapshot(scan, namespaces, workloads, running, names, dict(self.errors_total),
                        time.monotonic() - started)
