"""A workload's resource use from its cgroup (v2 or v1), read at scrape time.

The executor records the cgroup in state.json: ``{"version": 2, "dirs":
{"unified": DIR}}`` or ``{"version": 1, "dirs": {"memory": DIR, "pids": DIR,
"cpuacct": DIR, ...}}``, absolute directories; a v1 controller may be
missing. Each figure is read from the file that holds it, and a file that
is missing (a controller not enabled or not mounted) leaves that figure out.

As with /proc/PID/stat, a cgroup file is opened once and read with pread on
every scrape. A held descriptor of a removed cgroup reads ENODEV: the file
is then opened again, which finds the cgroup made anew at that path, or
nothing.
"""

import errno
import os

# cgroup v1 writes "no limit" as the largest page-aligned 64-bit value; nothing real comes near 2^60 bytes.
V1_UNLIMITED_BYTES = 1 << 60


class CgroupUsage:
    """What a cgroup says; None where it says nothing (no such file, or no limit)."""

    __slots__ = ("cpu_seconds", "memory_bytes", "memory_limit_bytes", "pids", "pids_limit", "oom_kills")

    def __init__(self):
        self.cpu_seconds = None
        self.memory_bytes = None
        self.memory_limit_bytes = None
        self.pids = None
        self.pids_limit = None
        self.oom_kills = None


def _keyed(text, key):
    """The value of ``key`` in a flat-keyed file (cpu.stat, memory.events, memory.oom_control)."""
    if text is None:
        return None
    for line in text.splitlines():
        name, _sep, value = line.partition(" ")
        if name == key:
            return int(value)
    return None


def _number(text):
    return None if text is None else int(text)


def _limit(text):
    """A v2 limit file: a number, or "max" for none."""
    if text is None or text.strip() == "max":
        return None
    return int(text)


class CgroupReader:
    """Reads workloads' cgroups, holding at most ``max_held`` file descriptors between scrapes."""

    def __init__(self, max_held=1024):
        self.max_held = max_held
        self.held = {}  # path -> descriptor
        self.used = set()

    def close(self):
        for fd in self.held.values():
            os.close(fd)
        self.held = {}

    def read_usage(self, cgroup):
        """CgroupUsage of a state.json "cgroup" record; None if the record is unusable or its cgroup is gone.

        Raises OSError (other than "not there") and ValueError for the caller to count.
        """
        if not isinstance(cgroup, dict) or not isinstance(cgroup.get("dirs"), dict):
            return None
        version = cgroup.get("version")
        if version == 2:
            usage = self._read_v2(cgroup["dirs"])
        elif version == 1:
            usage = self._read_v1(cgroup["dirs"])
        else:
            return None
        if all(getattr(usage, slot) is None for slot in CgroupUsage.__slots__):
            return None  # every directory is gone: the cgroup was removed
        return usage

    def end_scrape(self):
        """Close the descriptors of files no workload asked for in this scrape."""
        for path in [path for path in self.held if path not in self.used]:
            os.close(self.held.pop(path))
        self.used = set()

    def _read(self, directory, name):
        """The file's text, or None if the directory or the file does not exist."""
        if not directory:
            return None
        path = "%s/%s" % (directory, name)
        self.used.add(path)
        fd = self.held.get(path)
        if fd is not None:
            try:
                return os.pread(fd, 4096, 0).decode("ascii")
            except OSError as error:
                del self.held[path]
                os.close(fd)
                if error.errno != errno.ENODEV:
                    raise
                # The cgroup was removed since: look again at its path.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENODEV):
                return None
            raise
        try:
            text = os.pread(fd, 4096, 0).decode("ascii")
        except BaseException:
            os.close(fd)
            raise
        if len(self.held) < self.max_held:
            self.held[path] = fd
        else:
            os.close(fd)
        return text

    def _read_v2(self, dirs):
        unified = dirs.get("unified")
        usage = CgroupUsage()
        usec = _keyed(self._read(unified, "cpu.stat"), "usage_usec")
        usage.cpu_seconds = None if usec is None else usec / 1e6
        usage.memory_bytes = _number(self._read(unified, "memory.current"))
        usage.memory_limit_bytes = _limit(self._read(unified, "memory.max"))
        usage.oom_kills = _keyed(self._read(unified, "memory.events"), "oom_kill")
        usage.pids = _number(self._read(unified, "pids.current"))
        usage.pids_limit = _limit(self._read(unified, "pids.max"))
        return usage

    def _read_v1(self, dirs):
        usage = CgroupUsage()
        nanoseconds = _number(self._read(dirs.get("cpuacct") or dirs.get("cpu"), "cpuacct.usage"))
        usage.cpu_seconds = None if nanoseconds is None else nanoseconds / 1e9
        memory = dirs.get("memory")
        usage.memory_bytes = _number(self._read(memory, "memory.usage_in_bytes"))
        limit = _number(self._read(memory, "memory.limit_in_bytes"))
        usage.memory_limit_bytes = None if limit is None or limit >= V1_UNLIMITED_BYTES else limit
        usage.oom_kills = _keyed(self._read(memory, "memory.oom_control"), "oom_kill")
        usage.pids = _number(self._read(dirs.get("pids"), "pids.current"))
        usage.pids_limit = _limit(self._read(dirs.get("pids"), "pids.max"))
        return usage
