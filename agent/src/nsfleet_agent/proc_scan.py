"""Scanning /proc: every process with its PID namespace, NSpid, state and threads.

A process's PID namespace and NSpid never change during its life, so they are
read once, when the process is first seen: from /proc/PID/status, which also
carries its name, state and threads, for a process in another namespace; from
/proc/PID/stat for one in ours, whose NSpid is just its PID. What changes
afterwards comes from /proc/PID/stat through a file descriptor held open for
the process's life: one pread per process per scrape. That descriptor belongs
to the process, not to the PID: once the process is gone it reads ESRCH, even
if the PID has been reused. The inode of /proc/PID, which scandir returns for
free, tells a reused PID from the process we knew.
"""

import errno
import os
import resource
from collections import Counter

# Field indexes in /proc/PID/stat after "pid (comm) ": state is field 3, num_threads 20, starttime 22.
_STATE, _THREADS, _START_TIME = 0, 17, 19
# How the kernel escapes a name in /proc/PID/status, undone.
_NAME_ESCAPES = {"\\\\": "\\", "\\n": "\n", "\\t": "\t", "\\r": "\r", "\\f": "\f", "\\v": "\v",
                 "\\a": "\a", "\\e": "\x1b", '\\"': '"'}


class Process:
    """One live process as last scanned. pidns and nspid are fixed for its life."""

    __slots__ = ("pid", "dir_inode", "stat_fd", "pidns", "nspid", "comm", "state", "threads", "rendered")

    def __init__(self, pid, dir_inode, pidns):
        self.pid = pid
        self.dir_inode = dir_inode
        self.stat_fd = None
        self.pidns = pidns
        self.nspid = (pid,)
        self.comm = ""
        self.state = ""
        self.threads = 0
        self.rendered = None  # (key, text) of this process's mapping series, for the exposition

    @property
    def ns_pid(self):
        """The PID as the process sees itself: the last NSpid field."""
        return self.nspid[-1]


class Scan:
    """The result of one scan: live processes in /proc order, and what went wrong, by reason."""

    __slots__ = ("processes", "errors", "own_pidns")

    def __init__(self, processes, errors, own_pidns):
        self.processes = processes
        self.errors = errors
        self.own_pidns = own_pidns


def namespace_inode(link):
    """'pid:[4026532207]' (a /proc/PID/ns link, or a state file's record of one) -> 4026532207."""
    return int(link[link.index("[") + 1:link.index("]")])


def _status_field(status, name):
    start = status.find(name)
    if start < 0:
        raise ValueError("no %s in status" % name.strip().decode())
    return status[start + len(name):status.index(b"\n", start + 1)]


def _unescape_name(raw):
    text = raw.decode("utf-8", "replace")
    if "\\" not in text:
        return text
    out = []
    index = 0
    while index < len(text):
        pair = text[index:index + 2]
        if pair in _NAME_ESCAPES:
            out.append(_NAME_ESCAPES[pair])
            index += 2
        elif text[index] == "\\" and text[index + 1:index + 4].isdigit():
            out.append(chr(int(text[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def read_start_time(proc_root, pid):
    """Field 22 of /proc/PID/stat, or None if the process is gone."""
    try:
        with open("%s/%d/stat" % (proc_root, pid), "rb") as stat_file:
            data = stat_file.read()
        return int(data[data.rindex(b")") + 2:].split(b" ", _START_TIME + 1)[_START_TIME])
    except (OSError, ValueError, IndexError):
        return None


def _reason(error):
    if isinstance(error, OSError):
        if error.errno in (errno.ENOENT, errno.ESRCH):
            return "vanished"
        if error.errno in (errno.EACCES, errno.EPERM):
            return "permission"
        return "io"
    return "parse"


# Descriptors kept free for everything else the agent does (sockets, files).
_RESERVED_DESCRIPTORS = 256


def held_descriptor_budget():
    """How many stat descriptors may be held: the soft fd limit, lifted to the hard one, less a reserve."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(0, soft - _RESERVED_DESCRIPTORS)


class ProcessTable:
    """Remembers processes between scans; ``scan()`` reads only what changed."""

    def __init__(self, proc_root="/proc", descriptor_budget=None):
        """``descriptor_budget``: how many stat fds to hold open (None: as the fd limit allows)."""
        self.proc_root = proc_root
        self.descriptor_budget = held_descriptor_budget() if descriptor_budget is None else descriptor_budget
        self.held = 0
        self.known = {}
        self.own_pidns = self._own_pidns()

    def _own_pidns(self):
        # The agent's own namespace: the "host" of this /proc. A fixture tree has no "self".
        for entry in ("self", "1"):
            try:
                return namespace_inode(os.readlink("%s/%s/ns/pid" % (self.proc_root, entry)))
            except (OSError, ValueError):
                continue
        return None

    def close(self):
        for process in self.known.values():
            self._forget(process)
        self.known = {}

    def _forget(self, process):
        if process.stat_fd is not None:
            os.close(process.stat_fd)
            process.stat_fd = None
            self.held -= 1

    def scan(self):
        errors = Counter()
        previous = self.known
        current = {}
        processes = []
        with os.scandir(self.proc_root) as entries:
            for entry in entries:
                name = entry.name
                if not name.isdigit():
                    continue
                pid = int(name)
                dir_inode = entry.inode()
                process = previous.pop(pid, None)
                if process is not None and process.dir_inode != dir_inode:
                    self._forget(process)  # the PID was reused: a different process
                    process = None
                try:
                    if process is None:
                        process = self._learn(pid, dir_inode)
                    else:
                        self._refresh(process)
                except (OSError, ValueError, IndexError) as error:
                    errors[_reason(error)] += 1
                    if process is not None:
                        self._forget(process)
                    continue
                current[pid] = process
                processes.append(process)
        for gone in previous.values():
            self._forget(gone)
        self.known = current
        return Scan(processes, errors, self.own_pidns)

    def _learn(self, pid, dir_inode):
        base = "%s/%d" % (self.proc_root, pid)
        process = Process(pid, dir_inode, namespace_inode(os.readlink(base + "/ns/pid")))
        if process.pidns == self.own_pidns:
            # In our own namespace a process's only PID is the one we see: stat has the rest.
            self._refresh(process)
            return process
        fd = os.open(base + "/status", os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.read(fd, 8192)
        finally:
            os.close(fd)
        if not status:
            raise OSError(errno.ESRCH, "process %d is gone" % pid)
        process.nspid = tuple(int(field) for field in _status_field(status, b"\nNSpid:").split())
        process.comm = _unescape_name(status[len(b"Name:\t"):status.index(b"\n")])  # the first line
        process.state = _status_field(status, b"\nState:\t")[:1].decode("ascii")
        process.threads = int(_status_field(status, b"\nThreads:\t"))
        if not process.nspid:
            raise ValueError("empty NSpid in %s/status" % base)
        return process

    def _refresh(self, process):
        if process.stat_fd is None:
            data = self._read_stat_once(process)
        else:
            data = os.pread(process.stat_fd, 4096, 0)
        if not data:
            raise OSError(errno.ESRCH, "process %d is gone" % process.pid)
        close_paren = data.rindex(b")")
        process.comm = data[data.index(b"(") + 1:close_paren].decode("utf-8", "replace")
        fields = data[close_paren + 2:].split(b" ", _THREADS + 1)
        process.state = fields[_STATE].decode("ascii")
        process.threads = int(fields[_THREADS])

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
