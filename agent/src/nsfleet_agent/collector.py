"""The Prometheus collector: fresh metric families on every scrape, from one shared scan."""

import threading
import time
from collections import Counter

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import __version__
from .pidns import NamespaceTree
from .proc_scan import ProcessTable
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
    """Per-PID-namespace processes, nesting and PID mappings, labelled with nsfleet workloads."""

    def __init__(self, proc_root="/proc", state_dir="/run/nsfleet", collect_pidns=True, collect_mapping=True,
                 collect_workloads=True, mapping_max_series=10000, parent_of=None, descriptor_budget=None):
        self.table = ProcessTable(proc_root, descriptor_budget)
        self.tree = NamespaceTree(proc_root) if parent_of is None else NamespaceTree(proc_root, parent_of)
        self.states = WorkloadStates(state_dir)
        self.collect_pidns = collect_pidns
        self.collect_mapping = collect_mapping
        self.collect_workloads = collect_workloads
        self.mapping_max_series = mapping_max_series
        self.errors_total = Counter()
        self.shared = SharedScan(self._snapshot)

    def _snapshot(self):
        started = time.monotonic()
        scan = self.table.scan()
        namespaces = self.tree.group(scan)
        workloads, state_errors = self.states.read() if self.collect_workloads else ({}, {})
        names = names_by_pidns(workloads, namespaces)
        self.errors_total.update(scan.errors)
        self.errors_total.update(state_errors)
        return Snapshot(scan, namespaces, workloads, names, time.monotonic() - started)

    def describe(self):
        return []  # families depend on the scrape; nothing to check at registration

    def collect(self):
        snapshot = self.shared.get()
        if self.collect_pidns:
            yield from self._namespace_families(snapshot)
        if self.collect_mapping:
            yield from self._mapping_families(snapshot)
        if self.collect_workloads:
            yield from self._workload_families(snapshot)
        yield from self._self_families(snapshot)

    def _namespace_families(self, snapshot):
        labels = ["pidns", "workload"]
        processes = GaugeMetricFamily("nsfleet_pidns_processes", "Processes whose PID namespace is pidns.",
                                      labels=labels)
        threads = GaugeMetricFamily("nsfleet_pidns_threads", "Threads of the processes in pidns.", labels=labels)
        zombies = GaugeMetricFamily("nsfleet_pidns_zombies", "Processes in pidns that exited and wait to be reaped.",
                                    labels=labels)
        info = GaugeMetricFamily(
            "nsfleet_pidns_info",
            "A PID namespace: its parent, its nesting level below the agent's namespace, and its init's host PID.",
            labels=labels + ["parent_pidns", "level", "init_host_pid"])
        for inode, namespace in sorted(snapshot.namespaces.items()):
            values = [str(inode), snapshot.names.get(inode, "")]
            processes.add_metric(values, namespace.processes)
            threads.add_metric(values, namespace.threads)
            zombies.add_metric(values, namespace.zombies)
            info.add_metric(values + ["" if namespace.parent is None else str(namespace.parent), str(namespace.level),
                                      "" if namespace.init_host_pid is None else str(namespace.init_host_pid)], 1)
        return [processes, threads, zombies, info]

    def _mapping_families(self, snapshot):
        mapping = GaugeMetricFamily(
            MAPPING_FAMILY, "A process's host PID and its PID inside its own namespace (the last NSpid field).",
            labels=["pidns", "workload", "host_pid", "ns_pid", "comm"])
        exported = dropped = 0
        own = snapshot.scan.own_pidns
        for process in snapshot.scan.processes:
            if process.pidns == own:
                continue  # the host's own processes get no mapping series
            if exported >= self.mapping_max_series:
                dropped += 1
                continue
            mapping.add_metric([str(process.pidns), snapshot.names.get(process.pidns, ""), str(process.pid),
                                str(process.ns_pid), process.comm], 1)
            exported += 1
        dropped_family = GaugeMetricFamily(
            "nsfleet_series_dropped", "Series left out of this scrape by a cap, by metric family.", labels=["family"])
        dropped_family.add_metric([MAPPING_FAMILY], dropped)
        return [mapping, dropped_family]

    def _workload_families(self, snapshot):
        up = GaugeMetricFamily("nsfleet_workload_up", "1 if the nsfleet workload's init is running.",
                               labels=["workload"])
        restarts = CounterMetricFamily("nsfleet_workload_restarts", "Restarts of the workload by its supervisor.",
                                       labels=["workload"])
        alive = dict((process.pid, process.start_time) for process in snapshot.scan.processes)
        for name, workload in sorted(snapshot.workloads.items()):
            running = (workload.status == "running" and workload.init_pid is not None
                       and alive.get(workload.init_pid) == workload.init_start_time)
            up.add_metric([name], 1 if running else 0)
            restarts.add_metric([name], workload.restart_count)
        return [up, restarts]

    def _self_families(self, snapshot):
        duration = GaugeMetricFamily("nsfleet_scrape_duration_seconds",
                                     "How long reading /proc and the state dir took for this scrape.")
        duration.add_metric([], snapshot.duration)
        errors = CounterMetricFamily(
            "nsfleet_scrape_errors", "Processes or files skipped while scraping, by reason "
            "(vanished: exited mid-scan; permission; io; parse; state_file).", labels=["reason"])
        for reason in ("vanished", "permission", "io", "parse", "state_file"):
            errors.add_metric([reason], self.errors_total.get(reason, 0))
        build = GaugeMetricFamily("nsfleet_build_info", "The agent's version; always 1.", labels=["version"])
        build.add_metric([__version__], 1)
        return [duration, errors, build]
