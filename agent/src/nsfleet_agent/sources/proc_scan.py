"""Scanning /proc: every process with its PID namespace, NSpid, state, threads, start time, CPU time and RSS.

This is the agent's only reader of /proc. A process's PID namespace, NSpid
and start time never change during its life, so they are read once, when the
process is first seen (NSpid from /proc/PID/status, for a process outside
our own namespace; inside it, NSpid is just the PID). What changes comes from
/proc/PID/stat through a file descriptor held open for the process's life:
one pread per process per scrape. That descriptor belongs to the process,
not to the PID: once the process is gone it reads ESRCH, even if the PID has
been reused. The inode of /proc/PID, which scandir returns for free, tells a
reused PID from the process we knew.

The table is a cache keyed by PID that ``scan()`` reconciles with a listing
of /proc. ``learn()`` and ``forget()`` are public so that an event source
(fork/exec/exit from the proc connector) can keep it current between scans.
"""

import errno
import os
import resource
from collections import Counter

# Field indexes in /proc/PID/stat after "pid (comm) " (field N is index N - 3): state 3, utime 14,
# stime 15, cutime 16, cstime 17, num_threads 20, starttime 22, rss 24.
_STATE, _UTIME, _STIME, _CUTIME, _CSTIME, _THREADS, _START_TIME, _RSS = 0, 11, 12, 13, 14, 17, 19, 21
_LAST_FIELD = _RSS
# Descriptors kept free for everything else the agent does (sockets, files).
RESERVED_DESCRIPTORS = 256


class Process:
    """One live process as last scanned. pidns, nspid and start_time are fixed for its life.

    ``cpu_ticks`` counts its own CPU time and that of the children it reaped
    (utime + stime + cutime + cstime), so a namespace's sum does not drop when
    a process exits and its parent in the namespace reaps it. ``rss_pages``
    is its resident set.
    """

    __slots__ = ("pid", "dir_inode", "stat_fd", "pidns", "nspid", "start_time", "comm", "state", "threads",
                 "cpu_ticks", "rss_pages")

    def __init__(self, pid, dir_inode, pidns):
        self.pid = pid
        self.dir_inode = dir_inode
        self.stat_fd = None
        self.pidns = pidns
        self.nspid = (pid,)
        self.start_time = None
        self.comm = ""
        self.state = ""
        self.threads = 0
        self.cpu_ticks = 0
        self.rss_pages = 0

    @property
    def ns_pid(self):
        """The PID as the process sees itself: the last NSpid field."""
        return self.nspid[-1]

    @property
    def is_alive(self):
        """Running or sleeping: a zombie (or a dying task) has ended."""
        return self.state not in ("Z", "X")


class Scan:
    """The result of one scan: live processes in /proc order, what went wrong by reason, and the host it ran on."""

    __slots__ = ("processes", "errors", "own_pidns", "boot_id", "_by_pid")

    def __init__(self, processes, errors, own_pidns, boot_id):
        self.processes = processes
        self.errors = errors
        self.own_pidns = own_pidns
        self.boot_id = boot_id
        self._by_pid = None

    def process(self, pid):
        """The scanned process with this host PID, or None."""
        if self._by_pid is None:
            self._by_pid = dict((process.pid, process) for process in self.processes)
        return self._by_pid.get(pid)


def namespace_inode(link):
    """'pid:[4026532207]' (a /proc/PID/ns link, or a state file's record of one) -> 4026532207."""
    return int(link[link.index("[") + 1:link.index("]")])


def _status_field(status, name):
    start = status.find(name)
    if start < 0:
        raise ValueError("no %s in status" % name.strip().decode())
    return status[start + len(name):status.index(b"\n", start + 1)]


def error_reason(error):
    if isinstance(error, OSError):
        if error.errno in (errno.ENOENT, errno.ESRCH):
            return "vanished"
        if error.errno in (errno.EACCES, errno.EPERM):
            return "permission"
        return "io"
    return "parse"


def descriptor_budget_of_limit():
    """How many stat descriptors the current soft fd limit allows, less a reserve. Never changes the limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(0, soft - RESERVED_DESCRIPTORS)


class ProcessTable:
    """Remembers processes between scans; ``scan()`` reads only what changed."""

    def __init__(self, proc_root="/proc", descriptor_budget=None):
        """``descriptor_budget``: how many stat fds to hold open (None: as the soft fd limit allows)."""
        self.proc_root = proc_root
        self.descriptor_budget = descriptor_budget_of_limit() if descriptor_budget is None else descriptor_budget
        self.held = 0
        self.known = {}
        self.own_pidns = self._own_pidns()
        self.boot_id = self._boot_id()

    def _own_pidns(self):
        # The agent's own namespace: the "host" of this /proc. A fixture tree has no "self".
        for entry in ("self", "1"):
            try:
                return namespace_inode(os.readlink("%s/%s/ns/pid" % (self.proc_root, entry)))
            except (OSError, ValueError):
                continue
        return None

    def _boot_id(self):
        # Fixed until the host reboots, and so is this agent: read once.
        try:
            with open("%s/sys/kernel/random/boot_id" % self.proc_root) as boot_id_file:
                return boot_id_file.read().strip() or None
        except OSError:
            return None

    def close(self):
        for process in self.known.values():
            self._close_descriptor(process)
        self.known = {}

    def _close_descriptor(self, process):
        if process.stat_fd is not None:
            os.close(process.stat_fd)
            process.stat_fd = None
            self.held -= 1

    def forget(self, pid):
        """Drop a process that exited (or whose PID now names another process)."""
        process = self.known.pop(pid, None)
        if process is not None:
            self._close_descriptor(process)

    def learn(self, pid, dir_inode=None):
        """Read a process seen for the first time and remember it; raises OSError or ValueError if it cannot."""
        self.forget(pid)
        if dir_inode is None:
            dir_inode = os.stat("%s/%d" % (self.proc_root, pid)).st_ino
        process = self._read_new(pid, dir_inode)
        self.known[pid] = process
        return process

    def scan(self):
        errors = Counter()
        processes = []
        listed = set()
        with os.scandir(self.proc_root) as entries:
            for entry in entries:
                name = entry.name
                if not name.isdigit():
                    continue
                pid = int(name)
                listed.add(pid)
                dir_inode = entry.inode()
                process = self.known.get(pid)
                try:
                    if process is None or process.dir_inode != dir_inode:  # new, or a reused PID
                        process = self.learn(pid, dir_inode)
                    else:
                        self._refresh(process)
                except (OSError, ValueError, IndexError) as error:
                    errors[error_reason(error)] += 1
                    self.forget(pid)
                    continue
                processes.append(process)
        for gone in [pid for pid in self.known if pid not in listed]:
            self.forget(gone)
        return Scan(processes, errors, self.own_pidns, self.boot_id)

    def _read_new(self, pid, dir_inode):
        base = "%s/%d" % (self.proc_root, pid)
        process = Process(pid, dir_inode, namespace_inode(os.readlink(base + "/ns/pid")))
        try:
            if process.pidns != self.own_pidns:
                # Outside our own namespace the process has other PIDs too: NSpid lists them.
                process.nspid = self._read_nspid(base)
            self._refresh(process)
        except BaseException:
            self._close_descriptor(process)
            raise
        return process

    @staticmethod
    def _read_nspid(base):
        fd = os.open(base + "/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.read(fd, 8192)
        finally:
            os.close(fd)
        if not status:
            raise OSError(errno.ESRCH, "%s is gone" % base)
        nspid = tuple(int(field) for field in _status_field(status, b"\nNSpid:").split())
        if not nspid:
            raise ValueError("empty NSpid in %s/status" % base)
        return nspid

    def _refresh(self, process):
        if process.stat_fd is None:
            data = self._read_stat_once(process)
        else:
            data = os.pread(process.stat_fd, 4096, 0)
        if not data:
            raise OSError(errno.ESRCH, "process %d is gone" % process.pid)
        close_paren = data.rindex(b")")
        process.comm = data[data.index(b"(") + 1:close_paren].decode("utf-8", "replace")
        fields = data[close_paren + 2:].split(b" ", _LAST_FIELD + 1)
        process.state = fields[_STATE].decode("ascii")
        process.threads = int(fields[_THREADS])
        process.cpu_ticks = int(fields[_UTIME]) + int(fields[_STIME]) + int(fields[_CUTIME]) + int(fields[_CSTIME])
        process.rss_pages = int(fields[_RSS])
        if process.start_time is None:
            process.start_time = int(fields[_START_TIME])

    def _read_stat_once(self, process):
        path = "%s/%d/stat" % (self.proc_root, process.pid)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            data = os.pread(fd, 4096, 0)
        except BaseException:
            os.close(fd)
            raise
        if self.held < self.descriptor_budget:
            process.stat_fd = fd  # keep it: next scrape is one pread
            self.held += 1
        else:
            os.close(fd)
        return data
