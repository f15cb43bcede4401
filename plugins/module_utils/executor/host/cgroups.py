# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cgroup per workload, on cgroup v2, v1 and hybrid hosts.

Which hierarchy is used is decided at run time from /proc/self/mountinfo:
v2 when the unified hierarchy offers the memory, pids and cpu controllers or
when there is no v1 controller hierarchy at all; else v1 (the memory, pids,
cpu and cpuacct hierarchies). A hybrid host (v1 controllers, a v2 hierarchy
without them under /sys/fs/cgroup/unified) uses v1.

A workload's cgroup is ``<cgroup_parent>/<name>`` in each hierarchy used.
The default parent is /nsfleet for the state root / and
/nsfleet-<crc32 of the root> for another root, so several "hosts" (test
state dirs) on one machine never share a cgroup. Every function takes its
paths from arguments, so tests can point them at a fake tree; the
environment variable NSFLEET_CGROUP_MOUNTINFO names another mountinfo file,
so tests can show a whole executor only some of the host's hierarchies (on
a hybrid host: only the unified one, to run workloads on v2).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

from . import signals

MOUNTINFO = "/proc/self/mountinfo"
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
# Which controller each limit needs.
LIMIT_CONTROLLERS = {"memory": "memory", "memory_swap": "memory", "pids": "pids", "cpu": "cpu", "cpu_weight": "cpu"}
DEFAULT_PARENT = "/nsfleet"
# rm waits this long for a cgroup's processes to die and its directories to go.
REMOVE_TIMEOUT_SECONDS = 10.0
CPU_PERIOD_US = 100000


class CgroupError(RuntimeError):
    """A cgroup that cannot be made, limited or removed; ``param`` names the limit when one is the cause."""

    def __init__(self, message, param=None):
        RuntimeError.__init__(self, message)
        self.param = param


def default_parent(state_root):
    """/nsfleet for the host's own state root; /nsfleet-<crc32> for another, so test "hosts" never collide."""
    real = os.path.realpath(state_root)
    if real == "/":
        return DEFAULT_PARENT
    import zlib
    return "%s-%08x" % (DEFAULT_PARENT, zlib.crc32(real.encode("utf-8", "surrogateescape")) & 0xFFFFFFFF)


def _read(path):
    with open(path) as cgroup_file:
        return cgroup_file.read()


def _write(path, value):
    with open(path, "w") as cgroup_file:
        cgroup_file.write(str(value))


def _unescape_mount_point(text):
    """mountinfo writes a space as \\040, a tab as \\011 and so on."""
    if "\\" not in text:
        return text
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1").decode("utf-8", "surrogateescape")


class Hierarchies:
    """Where the host mounts its cgroup hierarchies: the unified (v2) one and each v1 controller's."""

    def __init__(self, unified=None, v1=None):
        self.unified = unified
        self.v1 = dict(v1 or {})

    @classmethod
    def read(cls, mountinfo=None):
        mountinfo = mountinfo or os.environ.get("NSFLEET_CGROUP_MOUNTINFO") or MOUNTINFO
        unified, v1 = None, {}
        try:
            lines = _read(mountinfo).splitlines()
        except OSError:
            return cls()
        for line in lines:
            fields = line.split()
            if "-" not in fields[6:]:
                continue
            separator = fields.index("-", 6)
            if len(fields) < separator + 4 or fields[3] != "/":
                continue  # a bind of part of a hierarchy is not where cgroups of ours can go
            fstype, mount_point = fields[separator + 1], _unescape_mount_point(fields[4])
            if fstype == "cgroup2" and unified is None:
                unified = mount_point
            elif fstype == "cgroup":
                for option in fields[separator + 3].split(","):
                    if option in V1_CONTROLLERS:
                        v1.setdefault(option, mount_point)
        return cls(unified, v1)

    def unified_controllers(self):
        try:
            return _read(os.path.join(self.unified, "cgroup.controllers")).split()
        except (OSError, TypeError):
            return []

    def version(self):
        """2, 1, or None when the host has no hierarchy nsfleet can use."""
        if self.unified and (not self.v1 or set(V2_CONTROLLERS) <= set(self.unified_controllers())):
            return 2
        if self.v1:
            return 1
        return None

    def cgroup(self, path):
        """The (not yet made) Cgroup at ``path`` in the hierarchies this host offers, or None."""
        version = self.version()
        relative = path.lstrip("/")
        if version == 2:
            return Cgroup(2, path, {"unified": os.path.join(self.unified, relative)})
        if version == 1:
            return Cgroup(1, path, dict((controller, os.path.join(mount_point, relative))
                                        for controller, mount_point in self.v1.items()))
        return None

    def missing_controllers(self, limits):
        """{limit: why it cannot be applied here} for each limit this host's hierarchies cannot honour."""
        version = self.version()
        missing = {}
        for limit in limits:
            controller = LIMIT_CONTROLLERS[limit]
            if version is None:
                missing[limit] = ("this host mounts no cgroup hierarchy nsfleet can use "
                                  "(no cgroup2, and no v1 memory, pids or cpu hierarchy)")
            elif version == 2 and controller not in self.unified_controllers():
                missing[limit] = "the %s controller is not available in the cgroup v2 hierarchy at %s" % (
                    controller, self.unified)
            elif version == 1 and controller not in self.v1:
                missing[limit] = "the cgroup v1 %s controller is not mounted on this host" % controller
        return missing


def workload_path(spec, state_root):
    """<cgroup_parent>/<name>; the parent defaults from the state root."""
    return "%s/%s" % (spec.get("cgroup_parent") or default_parent(state_root), spec["name"])


def for_workload(spec, state_root, hierarchies=None):
    """The workload's Cgroup (not yet made), or None when the host has no usable hierarchy."""
    hierarchies = hierarchies or Hierarchies.read()
    return hierarchies.cgroup(workload_path(spec, state_root))


class Cgroup:
    """One workload's cgroup: ``dirs`` maps "unified" (v2) or each v1 controller to its absolute directory.

    ``record()`` is what state.json keeps, and what the agent reads.
    """

    def __init__(self, version, path, dirs):
        self.version = version
        self.path = path
        self.dirs = dict(dirs)

    def record(self):
        return {"version": self.version, "path": self.path, "dirs": dict(self.dirs)}

    @classmethod
    def from_record(cls, record):
        if not isinstance(record, dict) or not isinstance(record.get("dirs"), dict) or not record.get("path"):
            return None
        return cls(record.get("version"), record["path"], record["dirs"])

    def distinct_dirs(self):
        """Each directory once: v1 cpu and cpuacct share one when they are mounted together."""
        return sorted(set(self.dirs.values()))

    def _hierarchy_root(self, directory):
        return directory[:len(directory) - len(self.path.rstrip("/"))] or "/"

    # -- making -----------------------------------------------------------------------------------------------------

    def make(self, limits):
        """Create the directories (and, on v2, enable the controllers above them), then apply ``limits``."""
        for directory in self.distinct_dirs():
            if self.version == 2:
                self._enable_controllers_above(directory)
            _make_directory(directory)
        self.apply_limits(limits)

    def _enable_controllers_above(self, directory):
        """v2 hands a controller to a child only when every ancestor lists it in cgroup.subtree_control."""
        root = self._hierarchy_root(directory)
        current = root
        for part in [part for part in self.path.split("/") if part][:-1]:
            self._enable_controllers_in(current)
            current = os.path.join(current, part)
            _make_directory(current)
        self._enable_controllers_in(current)

    @staticmethod
    def _enable_controllers_in(directory):
        try:
            available = _read(os.path.join(directory, "cgroup.controllers")).split()
            enabled = _read(os.path.join(directory, "cgroup.subtree_control")).split()
        except OSError:
            return
        for controller in V2_CONTROLLERS:
            if controller in available and controller not in enabled:
                try:
                    _write(os.path.join(directory, "cgroup.subtree_control"), "+" + controller)
                except OSError:
                    pass  # a limit that needs it says so when its file is missing

    def apply_limits(self, limits):
        for limit, files in self._limit_files(limits):
            controller = LIMIT_CONTROLLERS[limit]
            directory = self.dirs.get("unified" if self.version == 2 else controller)
            for name, value, required in files:
                path = os.path.join(directory or "", name)
                if not directory or not os.path.exists(path):
                    if not required:
                        continue
                    raise CgroupError("limits.%s: %s has no %s: the %s controller is not enabled for cgroup %s" % (
                        limit, directory or "this host", name, controller, self.path), "limits." + limit)
                try:
                    _write(path, value)
                except OSError as error:
                    raise CgroupError("limits.%s: cannot write %s to %s: %s" % (limit, value, path, error.strerror),
                                      "limits." + limit)

    def _limit_files(self, limits):
        """(limit, [(file, value, required)]) in the order they must be written."""
        v2 = self.version == 2
        memory = limits.get("memory")
        swap = limits.get("memory_swap")
        if memory is not None:
            # Without memory_swap, no swap beyond memory: an allocation past the limit is an OOM kill, not a slow-down.
            if v2:
                swap_value = "max" if swap == -1 else (swap - memory if swap is not None else 0)
                yield "memory", [("memory.max", memory, True), ("memory.swap.max", swap_value, swap is not None)]
            else:
                yield "memory", [("memory.limit_in_bytes", memory, True),
                                 ("memory.memsw.limit_in_bytes", swap if swap is not None else memory, swap is not None)]
        if limits.get("pids") is not None:
            yield "pids", [("pids.max", limits["pids"], True)]
        if limits.get("cpu") is not None:
            quota = int(round(limits["cpu"] * CPU_PERIOD_US))
            if v2:
                yield "cpu", [("cpu.max", "%d %d" % (quota, CPU_PERIOD_US), True)]
            else:
                yield "cpu", [("cpu.cfs_period_us", CPU_PERIOD_US, True), ("cpu.cfs_quota_us", quota, True)]
        if limits.get("cpu_weight") is not None:
            if v2:
                yield "cpu_weight", [("cpu.weight", limits["cpu_weight"], True)]
            else:
                # v1 shares: weight 100 (the default) is 1024 shares, as systemd maps them.
                yield "cpu_weight", [("cpu.shares", max(2, limits["cpu_weight"] * 1024 // 100), True)]

    # -- processes ----------------------------------------------------------------------------------------------------

    def add_process(self, pid):
        """Move ``pid`` into the cgroup in every hierarchy (0: the caller itself)."""
        for directory in self.distinct_dirs():
            _write(os.path.join(directory, "cgroup.procs"), pid)

    def pids(self):
        """Every PID in the cgroup or a cgroup below it, in any of its hierarchies."""
        found = set()
        for directory in self.distinct_dirs():
            for parent, _subdirs, files in os.walk(directory):
                if "cgroup.procs" in files:
                    try:
                        found.update(int(word) for word in _read(os.path.join(parent, "cgroup.procs")).split())
                    except (OSError, ValueError):
                        pass
        return found

    def oom_kills(self):
        """How many processes the OOM killer killed in this cgroup since it was made."""
        if self.version == 2:
            path, prefix = os.path.join(self.dirs.get("unified", ""), "memory.events"), "oom_kill "
        else:
            path, prefix = os.path.join(self.dirs.get("memory", ""), "memory.oom_control"), "oom_kill "
        try:
            for line in _read(path).splitlines():
                if line.startswith(prefix):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def kill_all(self, timeout=REMOVE_TIMEOUT_SECONDS):
        """SIGKILL every process in the cgroup, again for any forked meanwhile, until it is empty; bounded.

        Returns whether it is empty.
        """
        kill_file = os.path.join(self.dirs.get("unified", ""), "cgroup.kill")
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            if self.version == 2 and os.path.exists(kill_file):
                try:
                    _write(kill_file, 1)  # the kernel kills the whole subtree, forks included
                except OSError:
                    self._kill_listed(pids)
            else:
                self._kill_listed(pids)
            if time.monotonic() >= deadline:
                return not self.pids()
            time.sleep(0.02)

    def _kill_listed(self, pids):
        """SIGKILL each PID that is still in the cgroup once a pidfd pins it: a reused PID is never hit."""
        pidfds = {}
        for pid in pids:
            try:
                pidfds[pid] = os.pidfd_open(pid)
            except OSError:
                pass
        try:
            still_here = self.pids()
            for pid, pidfd in pidfds.items():
                if pid in still_here:
                    try:
                        signals.pidfd_send_signal(pidfd, signals.SIGKILL)
                    except OSError:
                        pass
        finally:
            for pidfd in pidfds.values():
                os.close(pidfd)

    def remove(self, timeout=REMOVE_TIMEOUT_SECONDS):
        """Kill what is left, then remove the directories (children first). Raises CgroupError if one stays.

        Kill and rmdir alternate until both succeed: a process that entered meanwhile (the first process of
        an instance whose supervisor was killed) is killed too rather than keeping the cgroup busy.
        """
        deadline = time.monotonic() + timeout
        while True:
            emptied = self.kill_all(max(0.0, deadline - time.monotonic()))
            try:
                for directory in self.distinct_dirs():
                    _remove_tree(directory)
                return
            except OSError as error:
                if error.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() >= deadline:
                    why = "processes %s survived SIGKILL" % " ".join(
                        str(pid) for pid in sorted(self.pids())) if not emptied else error.strerror
                    raise CgroupError("cannot remove cgroup %s: %s" % (self.path, why))
            time.sleep(0.02)

    def exists(self):
        return any(os.path.isdir(directory) for directory in self.distinct_dirs())


def _make_directory(directory):
    """mkdir -p that tolerates a parent removed meanwhile by an rm of the last workload under it."""
    for _attempt in range(5):
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            return
        except FileNotFoundError:
            continue
    os.makedirs(directory, mode=0o755, exist_ok=True)


def _remove_tree(directory):
    """rmdir a cgroup and those below it, deepest first; one gone meanwhile is fine."""
    if not os.path.isdir(directory):
        return
    for parent, subdirs, _files in os.walk(directory, topdown=False):
        for subdir in subdirs:
            _rmdir(os.path.join(parent, subdir))
    _rmdir(directory)


def _rmdir(directory):
    try:
        os.rmdir(directory)
    except FileNotFoundError:
        pass


def remove_default_parent(cgroup, spec, state_root):
    """Remove the per-state-root default parent once empty (test "hosts" leave nothing); keep /nsfleet and users'."""
    parent = default_parent(state_root)
    if spec.get("cgroup_parent") or parent == DEFAULT_PARENT or cgroup is None:
        return
    suffix = cgroup.path[len(parent):]
    for directory in cgroup.distinct_dirs():
        if directory.endswith(suffix):
            try:
                os.rmdir(directory[:len(directory) - len(suffix)])
            except OSError:
                pass  # another workload of this root still uses it
