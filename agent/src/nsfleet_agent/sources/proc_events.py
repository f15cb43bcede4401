"""Process events into counts per PID namespace, and into the list of processes the cache must re-read.

A thread reads the process connector. Each fork, exec and exit of a process
(not of a thread: a thread's creation is not a fork of a process) is counted
against the PID namespace of the process; a process that is gone by the time
its event is handled is counted against its parent's namespace. Every event,
threads' included, names a process whose /proc entry changed: the cache
re-reads those, and only those, on the next scrape. Lost events (a gap in the
kernel's sequence numbers, or an overrun) ask for a full rescan instead.
"""

import logging
import os
import signal
import threading
import time
from collections import Counter

from .proc_connector import PROC_EVENT_COMM, PROC_EVENT_EXEC, PROC_EVENT_EXIT, PROC_EVENT_FORK, ConnectorUnavailable, \
    Overrun, ProcConnector
from ..privileges import CAP_NET_ADMIN, drop_capability
from .proc_scan import namespace_inode

LOG = logging.getLogger("nsfleet_agent")
EVENT_NAMES = {PROC_EVENT_FORK: "fork", PROC_EVENT_EXEC: "exec", PROC_EVENT_EXIT: "exit"}
# How long the agent waits for the kernel to acknowledge its subscription.
SUBSCRIBE_TIMEOUT_SECONDS = 2.0
# A scrape handles at most this many queued messages itself (under a flood the reader thread does the rest).
_SCRAPE_DRAIN_LIMIT = 100000
# Processes remembered as changed between two scrapes, at most; past that the next scrape lists /proc.
MAX_CHANGED = 50000
# How often the reader wakes up with nothing to read, to notice that it should stop.
_WAKE_SECONDS = 1.0


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return "SIG%d" % number if number < signal.SIGRTMIN else "SIGRTMIN+%d" % (number - signal.SIGRTMIN)


def how_it_ended(exit_status):
    """('exited', code) or ('signaled', signal number), from a wait(2)-style status."""
    if exit_status & 0x7F:
        return "signaled", exit_status & 0x7F
    return "exited", (exit_status >> 8) & 0xFF


class Attribution:
    """Which PID namespace a process is in, for the processes that events name.

    Learned when a process is first named (its fork, or any event of one that
    was already running) and forgotten at its exit, so it holds the processes
    that live, at most: a PID namespace is fixed for a process's life.
    """

    def __init__(self, proc_root="/proc", cached_pidns=None):
        """``cached_pidns(pid)``: what a scan of /proc knew of the process, for those that predate their events."""
        self.proc_root = proc_root
        self.pidns_by_pid = {}
        self.cached_pidns = cached_pidns or (lambda pid: None)

    def read_pidns(self, pid):
        try:
            return namespace_inode(os.readlink("%s/%d/ns/pid" % (self.proc_root, pid)))
        except (OSError, ValueError):
            return None

    def known(self, pid):
        pidns = self.pidns_by_pid.get(pid)
        if pidns is None:
            pidns = self.cached_pidns(pid)
        if pidns is None:
            pidns = self.read_pidns(pid)
            if pidns is not None:
                self.pidns_by_pid[pid] = pidns
        return pidns

    def forked(self, event):
        """The namespace of a new process: its own, read now; its parent's if it is gone already."""
        pidns = self.read_pidns(event.pid)
        if pidns is None:
            pidns = self.known(event.parent_tgid)
        if pidns is not None:
            self.pidns_by_pid[event.pid] = pidns
        return pidns

    def exited(self, event):
        pidns = self.pidns_by_pid.pop(event.pid, None)
        if pidns is None:
            pidns = self.cached_pidns(event.pid)
        if pidns is None:
            pidns = self.read_pidns(event.pid)  # an exiting process's link may already be gone
        if pidns is None:
            pidns = self.known(event.parent_tgid)
        return pidns

    def prime(self):
        """Learn the namespace of every process listed now, so that the exits of older processes are placed."""
        for name in os.listdir(self.proc_root):
            if name.isdigit():
                pidns = self.read_pidns(int(name))
                if pidns is not None:
                    self.pidns_by_pid[int(name)] = pidns

    def forget_all(self):
        self.pidns_by_pid = {}


class ProcEvents:
    """The connector's reader thread and what it counted. ``start()`` subscribes or says why it cannot."""

    def __init__(self, proc_root="/proc", subscribe_timeout=SUBSCRIBE_TIMEOUT_SECONDS, connect=ProcConnector):
        self.attribution = Attribution(proc_root)
        self.subscribe_timeout = subscribe_timeout
        self.connect = connect
        self.connector = None
        self.thread = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.pump_lock = threading.Lock()
        # Guarded by lock: what the scrape reads.
        self.events = Counter()  # (event, pidns) -> count
        self.exits = Counter()  # (pidns, how) -> count
        self.signals = Counter()  # (pidns, signal name) -> count
        self.last_event = {}  # pidns -> monotonic time of its last event
        self.lost = 0
        self.overruns = 0
        self.up = False
        self.rescan = True  # the cache must list /proc again (at start, and after any loss)
        self.changed = {}  # pid -> True for a new process (forget what was known under that PID), else False

    def start(self):
        """Subscribe and start reading; False (logged once, at warn) when the kernel will not send events."""
        try:
            self.connector = self.connect(self.subscribe_timeout)
        except ConnectorUnavailable as error:
            LOG.warning("%s; process events are off and the agent polls /proc on every scrape", error)
            return False
        try:
            # Only the subscription needed it; what an exporter does not hold cannot be abused.
            drop_capability(CAP_NET_ADMIN)
        except OSError as error:
            LOG.warning("could not give up CAP_NET_ADMIN after subscribing to process events: %s", error)
        self.up = True
        self.thread = threading.Thread(target=self._read_forever, name="nsfleet-agent-proc-events", daemon=True)
        self.thread.start()
        return True

    def stop(self, timeout=5.0):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)
        if self.connector is not None:
            self.connector.close()
        self.up = False

    def take_changes(self):
        """(rescan, {pid: is_new}) since the last call: what the cache must read again.

        Handles first what the socket holds: the kernel queues an event before
        the fork, exec or exit returns, so nothing that happened before this
        call is left out.
        """
        if self.up:
            try:
                self._pump(_SCRAPE_DRAIN_LIMIT)
            except OSError:
                LOG.exception("reading process events failed; the agent polls /proc on every scrape from now on")
                self.up = False
        with self.lock:
            rescan = self.rescan or not self.up
            changed = self.changed
            self.changed = {}
            self.rescan = False
        return rescan, changed

    def counts(self):
        """A consistent copy of the counters, for one scrape."""
        with self.lock:
            return (dict(self.events), dict(self.exits), dict(self.signals), dict(self.last_event), self.lost,
                    self.up)

    def forget_namespaces(self, keep):
        """Drop the counts of every namespace not in ``keep``: dead ones, once their series were retained long enough."""
        with self.lock:
            # Keys: (event, pidns), (pidns, how), (pidns, signal).
            for counter, where in ((self.events, 1), (self.exits, 0), (self.signals, 0)):
                for key in [key for key in counter if key[where] not in keep]:
                    del counter[key]
            self.last_event = dict((pidns, when) for pidns, when in self.last_event.items() if pidns in keep)

    def _read_forever(self):
        try:
            while not self.stopping.is_set():
                if self.connector.wait(_WAKE_SECONDS):
                    self._pump()
        except Exception:  # the reader must not die silently: fall back to polling, loudly
            LOG.exception("reading process events failed; the agent polls /proc on every scrape from now on")
            with self.lock:
                self.up = False
                self.rescan = True

    def _pump(self, limit=4096):
        """Read and handle what is queued; the reader and the scrape take turns, so events keep their order."""
        with self.pump_lock:
            try:
                events = self.connector.drain(limit)
                overrun = False
            except Overrun as overrun_error:
                events = overrun_error.args[0] if overrun_error.args else []
                overrun = True
            self.handle(events, overrun, self.connector.lost)

    def handle(self, events, overrun=False, lost=None):
        """Count a batch of events and note what changed; one lock per batch."""
        attribution = self.attribution
        counted = []
        touched = {}
        for event in events:
            what = event.what
            tgid = event.tgid
            if event.pid != tgid:
                if what != PROC_EVENT_EXEC:
                    touched.setdefault(tgid, False)  # a thread came or went: the process's thread count changed
                    continue
            if what == PROC_EVENT_FORK:
                counted.append(("fork", attribution.forked(event), None))
                touched[tgid] = True
            elif what == PROC_EVENT_EXEC:
                counted.append(("exec", attribution.known(tgid), None))
                touched.setdefault(tgid, False)
            elif what == PROC_EVENT_EXIT:
                counted.append(("exit", attribution.exited(event), event.exit_status))
                touched.setdefault(tgid, False)
            elif what == PROC_EVENT_COMM:
                touched.setdefault(tgid, False)
        now = time.monotonic()
        with self.lock:
            for name, pidns, exit_status in counted:
                pidns = "" if pidns is None else pidns
                self.events[(name, pidns)] += 1
                self.last_event[pidns] = now
                if exit_status is not None:
                    how, number = how_it_ended(exit_status)
                    self.exits[(pidns, how)] += 1
                    if how == "signaled":
                        self.signals[(pidns, signal_name(number))] += 1
            changed = self.changed
            for pid, new in touched.items():
                if new:
                    changed[pid] = True
                else:
                    changed.setdefault(pid, False)
            if len(changed) > MAX_CHANGED:
                # Nobody scrapes while processes churn: one full listing later costs less than remembering them all.
                self.changed = {}
                self.rescan = True
            if overrun:
                self.overruns += 1
            if lost is not None and lost != self.lost:
                self.lost = lost
                overrun = True
            if overrun:
                # What was missed is unknown: list /proc again, and learn namespaces afresh.
                self.rescan = True
                self.changed = {}
                attribution.forget_all()
