"""What the agent exports: fresh metric families on every scrape, from one shared scan."""

import threading
import time
from collections import Counter

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_openmetrics

from . import __version__
from .event_cache import EventDrivenProcessTable
from .event_collector import ProcEventsCollector
from .exposition import OPENMETRICS_EOF, Family, labels, render
from .pidns import NamespaceTree
from .proc_scan import ProcessTable, read_start_time
from .workloads import WorkloadStates, names_by_pidns

MAPPING_FAMILY = "nsfleet_pid_mapping"


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
    """Everything one scrape exports, computed once and shared by concurrent scrapes."""

    __slots__ = ("scan", "namespaces", "workloads", "names", "duration")

    def __init__(self, scan, namespaces, workloads, names, duration):
        self.scan = scan
        self.namespaces = namespaces
        self.workloads = workloads
        self.names = names
        self.duration = duration


class NsfleetCollector:
    """Per-PID-namespace processes, nesting and PID mappings, labelled with nsfleet workloads.

    ``families()`` builds fresh families from one shared scan on every call, so
    a namespace that died has no series left; ``render()`` is the text format.
    """

    def __init__(self, proc_root="/proc", state_dir="/run/nsfleet", collect_pidns=True, collect_mapping=True,
                 collect_workloads=True, mapping_max_series=10000, parent_of=None, descriptor_budget=None,
                 proc_events=None):
        """``proc_events``: a started ProcEvents, to keep the process table current and export its counts."""
        self.proc_root = proc_root
        if proc_events is None:
            self.table = ProcessTable(proc_root, descriptor_budget)
            self.events_collector = None
        else:
            self.table = EventDrivenProcessTable(proc_events, proc_root, descriptor_budget)
            self.events_collector = ProcEventsCollector(proc_events)
        self.tree = NamespaceTree(proc_root) if parent_of is None else NamespaceTree(proc_root, parent_of)
        self.states = WorkloadStates(state_dir)
        self.collect_pidns = collect_pidns
        self.collect_mapping = collect_mapping
        self.collect_workloads = collect_workloads
        self.mapping_max_series = mapping_max_series
        self.errors_total = Counter()
        self.shared = SharedScan(self._snapshot)
        # The agent's own process_* metrics, on a registry of its own (never the global one).
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)

    def _snapshot(self):
        started = time.monotonic()
        scan = self.table.scan()
        namespaces = self.tree.group(scan)
        workloads, state_errors = self.states.read() if self.collect_workloads else ({}, {})
        names = names_by_pidns(workloads, namespaces)
        self.errors_total.update(scan.errors)
        self.errors_total.update(state_errors)
        return Snapshot(scan, namespaces, workloads, names, time.monotonic() - started)

    def render(self, openmetrics=False):
        """The whole exposition, text format or OpenMetrics: nsfleet's families, then process_*."""
        if not openmetrics:
            return render(self.families()) + generate_latest(self.registry)
        own = generate_latest_openmetrics(self.registry)
        if own.endswith(OPENMETRICS_EOF):
            own = own[:-len(OPENMETRICS_EOF)]
        return render(self.families(), openmetrics=True) + own + OPENMETRICS_EOF

    def families(self):
        snapshot = self.shared.get()
        families = []
        if self.collect_pidns:
            families += self._namespace_families(snapshot)
        if self.collect_mapping:
            families += self._mapping_families(snapshot)
        if self.collect_workloads:
            families += self._workload_families(snapshot)
        if self.events_collector is not None:
            families += self.events_collector.families(snapshot)
        return families + self._self_families(snapshot)

    def prime(self):
        """One scrape's work before the first scrape: the process table, namespaces and series text."""
        self.render()

    def _namespace_families(self, snapshot):
        processes = Family("nsfleet_pidns_processes", "gauge", "Processes whose PID namespace is pidns.")
        threads = Family("nsfleet_pidns_threads", "gauge", "Threads of the processes in pidns.")
        zombies = Family("nsfleet_pidns_zombies", "gauge", "Processes in pidns that exited and wait to be reaped.")
        info = Family("nsfleet_pidns_info", "gauge", "A PID namespace: its parent, its nesting level below the "
                                                     "agent's namespace, and its init's host PID.")
        for inode, namespace in sorted(snapshot.namespaces.items()):
            pairs = [("pidns", inode), ("workload", snapshot.names.get(inode, ""))]
            processes.add(pairs, namespace.processes)
            threads.add(pairs, namespace.threads)
            zombies.add(pairs, namespace.zombies)
            info.add(pairs + [("parent_pidns", "" if namespace.parent is None else namespace.parent),
                              ("level", namespace.level),
                              ("init_host_pid", "" if namespace.init_host_pid is None else namespace.init_host_pid)],
                     1)
        return [processes, threads, zombies, info]

    def _mapping_families(self, snapshot):
        mapping = Family(MAPPING_FAMILY, "gauge",
                         "A process's host PID and its PID inside its own namespace (the last NSpid field).")
        exported = dropped = 0
        own = snapshot.scan.own_pidns
        names = snapshot.names
        for process in snapshot.scan.processes:
            if process.pidns == own:
                continue  # the host's own processes get no mapping series
            if exported >= self.mapping_max_series:
                dropped += 1
                continue
            key = (names.get(process.pidns, ""), process.comm)
            if process.rendered is None or process.rendered[0] != key:
                # host_pid, ns_pid and pidns are fixed for the process's life; only these two can change.
                process.rendered = (key, "%s%s 1\n" % (MAPPING_FAMILY, labels(
                    [("pidns", process.pidns), ("workload", key[0]), ("host_pid", process.pid),
                     ("ns_pid", process.ns_pid), ("comm", key[1])])))
            mapping.add_line(process.rendered[1])
            exported += 1
        dropped_family = Family("nsfleet_series_dropped", "gauge",
                                "Series left out of this scrape by a cap, by metric family.")
        dropped_family.add([("family", MAPPING_FAMILY)], dropped)
        return [mapping, dropped_family]

    def _workload_families(self, snapshot):
        up = Family("nsfleet_workload_up", "gauge", "1 if the nsfleet workload's init is running.")
        restarts = Family("nsfleet_workload_restarts_total", "counter", "Restarts of the workload by its supervisor.")
        alive = set(process.pid for process in snapshot.scan.processes)
        for name, workload in sorted(snapshot.workloads.items()):
            running = (workload.status == "running" and workload.init_pid in alive
                       and read_start_time(self.proc_root, workload.init_pid) == workload.init_start_time)
            up.add([("workload", name)], 1 if running else 0)
            restarts.add([("workload", name)], workload.restart_count)
        return [up, restarts]

    def _self_families(self, snapshot):
        duration = Family("nsfleet_scrape_duration_seconds", "gauge",
                          "How long reading /proc and the state dir took for this scrape.")
        duration.add([], snapshot.duration)
        errors = Family("nsfleet_scrape_errors_total", "counter",
                        "Processes or files skipped while scraping, by reason "
                        "(vanished: exited mid-scan; permission; io; parse; state_file).")
        for reason in ("vanished", "permission", "io", "parse", "state_file"):
            errors.add([("reason", reason)], self.errors_total.get(reason, 0))
        build = Family("nsfleet_build_info", "gauge", "The agent's version; always 1.")
        build.add([("version", __version__)], 1)
        return [duration, errors, build]
