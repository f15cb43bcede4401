"""nsfleet-agent trace: process events live, one line each, like forkstat, per PID namespace and workload.

It opens its own subscription to the process connector (a serving agent's is
not shared), so it runs beside an agent or without one. Details are read from
/proc when the event is handled; a process already gone by then shows what
its earlier events said, or "?".
"""

import argparse
import json
import logging
import os
import sys
import time

import psutil

from . import log
from .sources.proc_connector import PROC_EVENT_EXEC, PROC_EVENT_EXIT, PROC_EVENT_FORK, ConnectorUnavailable, \
    Overrun, ProcConnector
from .sources.proc_events import EVENT_NAMES, SUBSCRIBE_TIMEOUT_SECONDS, Attribution, how_it_ended, signal_name
from .sources.workload_state import WorkloadStates

LOG = logging.getLogger("nsfleet_agent")
# Workload names are read again from the state dir at most this often.
NAMES_REFRESH_SECONDS = 1.0
HEADER = "%-15s %-5s %8s %7s %-10s %-16s %-16s %s" % ("TIME", "EVENT", "HOST_PID", "NS_PID", "PIDNS", "WORKLOAD",
                                                       "COMM", "DETAIL")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="nsfleet-agent trace",
        description="Stream process events (fork, exec, exit) from the kernel's process connector, one line each, "
                    "with the PID namespace and nsfleet workload of each process. Ctrl-C stops it. Needs root in "
                    "the host's user and PID namespaces.")
    parser.add_argument("--workload", action="append", default=[], metavar="NAME",
                        help="only events in this workload's PID namespace (repeatable)")
    parser.add_argument("--pidns", action="append", default=[], type=int, metavar="INODE",
                        help="only events in this PID namespace (repeatable)")
    parser.add_argument("--event", action="append", default=[], choices=sorted(EVENT_NAMES.values()),
                        help="only these events (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--path.procfs", dest="procfs", default="/proc", metavar="DIR", help="procfs mount point")
    parser.add_argument("--path.state", dest="state_dir", default="/run/nsfleet", metavar="DIR",
                        help="nsfleet's live state dir, for workload names")
    parser.add_argument("--subscribe-timeout", type=float, default=SUBSCRIBE_TIMEOUT_SECONDS, metavar="SECONDS",
                        help="how long to wait for the kernel to accept the subscription")
    return parser


class WorkloadNames:
    """pidns -> workload name, from the state dir, read again at most once a second."""

    def __init__(self, state_dir):
        self.states = WorkloadStates(state_dir)
        self.names = {}
        self.read_at = None

    def get(self, pidns):
        now = time.monotonic()
        if self.read_at is None or now - self.read_at >= NAMES_REFRESH_SECONDS:
            self.read_at = now
            workloads, _errors = self.states.read()
            names = {}
            # Workloads that share a namespace: the first by name, as the metrics' owner rule would mostly pick.
            for workload in sorted(workloads.values(), key=lambda item: item.name):
                if workload.pidns is not None and workload.status == "running":
                    names.setdefault(workload.pidns, workload.name)
            self.names = names
        return self.names.get(pidns, "")


class Tracer:
    """Turns events into records (dicts) after the filters; remembers what it needs for later events."""

    def __init__(self, proc_root, names, workloads=(), pidns=(), events=()):
        self.proc_root = proc_root
        self.attribution = Attribution(proc_root)
        self.names = names
        self.workloads = set(workloads)
        self.pidns = set(pidns)
        self.events = set(events)
        self.seen = {}  # pid -> (ns_pid, comm) of live processes we printed, for their exit
        # ktime (CLOCK_MONOTONIC) of an event -> wall clock.
        self.wall_offset_ns = time.time_ns() - time.monotonic_ns()

    def _identity(self, pid):
        """(ns_pid, comm) from /proc, or what was seen earlier, or ('?', '?')."""
        base = "%s/%d" % (self.proc_root, pid)
        try:
            with open(base + "/status", "rb") as status_file:
                nspid_line = [line for line in status_file if line.startswith(b"NSpid:")][0]
            with open(base + "/stat", "rb") as stat_file:
                stat = stat_file.read()
            identity = (int(nspid_line.split()[-1]),
                        stat[stat.index(b"(") + 1:stat.rindex(b")")].decode("utf-8", "replace"))
        except (OSError, ValueError, IndexError):
            return self.seen.get(pid, ("?", "?"))
        self.seen[pid] = identity
        return identity

    def record(self, event):
        what = event.what
        if event.pid != event.tgid and what != PROC_EVENT_EXEC:
            return None  # threads: the metrics do not count them either
        name = EVENT_NAMES.get(what)
        if name is None:
            return None
        if what == PROC_EVENT_FORK:
            pidns = self.attribution.forked(event)
        elif what == PROC_EVENT_EXIT:
            pidns = self.attribution.exited(event)
        else:
            pidns = self.attribution.known(event.tgid)
        workload = self.names.get(pidns)
        if (self.events and name not in self.events) or (self.pidns and pidns not in self.pidns) or (
                self.workloads and workload not in self.workloads):
            if what == PROC_EVENT_EXIT:
                self.seen.pop(event.tgid, None)
            return None
        ns_pid, comm = self._identity(event.tgid)
        record = {"time": _iso((event.timestamp_ns + self.wall_offset_ns) / 1e9), "event": name,
                  "host_pid": event.tgid, "ns_pid": ns_pid, "pidns": "" if pidns is None else pidns,
                  "workload": workload, "comm": comm}
        if what == PROC_EVENT_FORK:
            record["parent_host_pid"] = event.parent_tgid
        elif what == PROC_EVENT_EXEC:
            record["exe"], record["cmdline"] = _exe_and_cmdline(event.tgid)
        else:
            how, number = how_it_ended(event.exit_status)
            record["how"] = how
            if how == "signaled":
                record["signal"] = signal_name(number)
            else:
                record["exit_code"] = number
            self.seen.pop(event.tgid, None)
        return record


def _exe_and_cmdline(pid):
    try:
        process = psutil.Process(pid)
        return process.exe(), process.cmdline()
    except (psutil.Error, OSError):
        return "?", []


def _iso(seconds):
    return "%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)), int(seconds % 1 * 1e6))


def text_line(record):
    if record["event"] == "fork":
        detail = "parent %s" % record["parent_host_pid"]
    elif record["event"] == "exec":
        detail = "%s %s" % (record["exe"], json.dumps(record["cmdline"], ensure_ascii=False))
    elif record["how"] == "signaled":
        detail = "signaled %s" % record["signal"]
    else:
        detail = "exited %s" % record["exit_code"]
    return "%-15s %-5s %8s %7s %-10s %-16s %-16s %s" % (record["time"][11:26], record["event"], record["host_pid"],
                                                        record["ns_pid"], record["pidns"], record["workload"] or "-",
                                                        record["comm"], detail)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.subscribe_timeout > 0:
        parser.error("--subscribe-timeout must be a positive number of seconds")
    log.configure()
    try:
        connector = ProcConnector(args.subscribe_timeout)
    except ConnectorUnavailable as error:
        LOG.error("%s", error)
        return 1
    tracer = Tracer(args.procfs, WorkloadNames(args.state_dir), args.workload, args.pidns, args.event)
    tracer.attribution.prime()  # after subscribing: a process born meanwhile is learned from its fork
    LOG.info("tracing process events; Ctrl-C stops")
    out = sys.stdout
    reported_lost = 0
    try:
        if not args.json:
            out.write(HEADER + "\n")
            out.flush()
        while True:
            try:
                events = connector.receive(None)
            except Overrun as overrun:
                events = overrun.args[0] if overrun.args else []
            if connector.lost != reported_lost:
                reported_lost = connector.lost
                LOG.warning("the kernel dropped events: the trace has gaps (%d lost so far)", reported_lost)
            lines = []
            for event in events:
                record = tracer.record(event)
                if record is not None:
                    lines.append(json.dumps(record, ensure_ascii=False) if args.json else text_line(record))
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # The reader went away (| head): say nothing more, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    finally:
        connector.close()
