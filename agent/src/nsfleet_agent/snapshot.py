"""One scrape's reading of the host: the /proc scan, the namespace tree, the workload state and cgroups, timed.

Every read a scrape makes happens here, once, whichever collectors are on;
scrapes that arrive while one is running share its result.
"""

import threading
import time
from collections import Counter

from .sources.cgroups import CgroupReader
from .sources.event_table import EventDrivenProcessTable
from .sources.pidns_tree import NamespaceTree
from .sources.proc_scan import ProcessTable, descriptor_budget_of_limit, error_reason
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
    the workload that names it}; ``cgroups``: {workload name: CgroupUsage}
    for the workloads whose cgroup could be read; ``errors_total``: skipped
    reads by reason, since start.
    """

    __slots__ = ("scan", "namespaces", "workloads", "running", "names", "cgroups", "errors_total", "duration")

    def __init__(self, scan, namespaces, workloads, running, names, cgroups, errors_total, duration):
        self.scan = scan
        self.namespaces = namespaces
        self.workloads = workloads
        self.running = running
        self.names = names
        self.cgroups = cgroups
        self.errors_total = errors_total
        self.duration = duration


def _every_process(_process):
    return True


class Scraper:
    """Owns the sources and turns them into a Snapshot per scrape."""

    def __init__(self, table, tree, states=None, cgroups=None):
        """``states``: the workload state source, or None to read no state dir; ``cgroups``: a CgroupReader for
        their cgroups, or None."""
        self.table = table
        self.tree = tree
        self.states = states
        self.cgroups = cgroups
        self.errors_total = Counter()
        self.shared = SharedScan(self._read)

    @classmethod
    def of_host(cls, proc_root="/proc", state_dir="/run/nsfleet", read_states=True, read_cgroups=False,
                parent_of=None, descriptor_budget=None, proc_events=None, stat_max_age=None):
        """``parent_of`` and ``descriptor_budget`` are for tests: see NamespaceTree and ProcessTable.

        ``proc_events``: a started ProcEvents, whose events keep the process table current between scrapes.
        The CPU time and memory of a process change without an event: when the cgroups are read (the
        resources collector sums those figures for namespaces without one), every process's stat is read
        again within ``stat_max_age`` seconds (None: on every scan).
        """
        cgroups = CgroupReader() if read_cgroups else None
        if descriptor_budget is None:  # what the fd limit allows, less what the cgroup reader may hold
            descriptor_budget = max(0, descriptor_budget_of_limit() - (cgroups.max_held if cgroups else 0))
        if proc_events is None:
            table = ProcessTable(proc_root, descriptor_budget)
        else:
            table = EventDrivenProcessTable(proc_events, proc_root, descriptor_budget,
                                            reread=_every_process if read_cgroups else None,
                                            reread_max_age=stat_max_age)
        tree = NamespaceTree(proc_root) if parent_of is None else NamespaceTree(proc_root, parent_of)
        return cls(table, tree, WorkloadStates(state_dir) if read_states else None, cgroups)

    def snapshot(self):
        return self.shared.get()

    def _read(self):
        started = time.monotonic()
        scan = self.table.scan()
        namespaces = self.tree.group(scan)
        workloads, state_errors = self.states.read() if self.states is not None else ({}, {})
        running, names = attribute(workloads, scan, namespaces)
        cgroups = self._read_cgroups(workloads, scan.boot_id) if self.cgroups is not None else {}
        self.errors_total.update(scan.errors)
        self.errors_total.update(state_errors)
        return Snapshot(scan, namespaces, workloads, running, names, cgroups, dict(self.errors_total),
                        time.monotonic() - started)

    def _read_cgroups(self, workloads, boot_id):
        cgroups = {}
        for name, workload in workloads.items():
            if workload.cgroup is None or not workload.is_from_boot(boot_id):
                continue  # an earlier boot's cgroup is gone; one of the same path now is another's
            try:
                usage = self.cgroups.read_usage(workload.cgroup)
            except (OSError, ValueError) as error:
                self.errors_total[error_reason(error)] += 1
                continue
            if usage is not None:
                cgroups[name] = usage
        self.cgroups.end_scrape()
        return cgroups
