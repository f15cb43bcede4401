"""nsfleet workloads from the executor's live state dir (/run/nsfleet/<name>/state.json).

Read-only. Each state.json is parsed again only when its mtime or size changed.
Whether a workload runs, and which PID namespace it names, is decided against
a scan of /proc (``attribute``): this file reads no /proc itself.
"""

import json
import os

from .proc_scan import namespace_inode

SUPPORTED_SCHEMA = 1


class Workload:
    """What one state.json records."""

    __slots__ = ("name", "status", "pidns", "init_pid", "init_start_time", "restart_count", "boot_id", "cgroup")

    def __init__(self, name, state):
        self.name = name
        self.status = state.get("status") or "created"
        pid_link = (state.get("namespaces") or {}).get("pid") or ""
        self.pidns = namespace_inode(pid_link) if "[" in pid_link else None
        init = state.get("init") or {}
        self.init_pid = init.get("pid")
        self.init_start_time = init.get("start_time")
        self.restart_count = int(state.get("restart_count") or 0)
        self.boot_id = state.get("boot_id")
        # {"version": 1|2, "path": ..., "dirs": {controller or "unified": absolute dir}}, or None.
        self.cgroup = state.get("cgroup") or None

    def is_from_boot(self, boot_id):
        """False for state written before the host last booted; True when either boot id is unknown
        (state from before boot ids were recorded is trusted, as the executor does)."""
        return not self.boot_id or not boot_id or self.boot_id == boot_id


class WorkloadStates:
    def __init__(self, state_dir="/run/nsfleet"):
        self.state_dir = state_dir
        self.cache = {}

    def read(self):
        """{name: Workload} for every readable state.json; returns (workloads, errors by reason)."""
        workloads = {}
        errors = {}
        try:
            names = os.listdir(self.state_dir)
        except OSError:
            return workloads, errors  # no executor on this host: nothing to label
        fresh_cache = {}
        for name in names:
            path = os.path.join(self.state_dir, name, "state.json")
            try:
                info = os.stat(path)
            except OSError:
                continue  # a lock file, or a workload being removed
            key = (info.st_mtime_ns, info.st_size)
            cached = self.cache.get(name)
            if cached is not None and cached[0] == key:
                workload = cached[1]
            else:
                try:
                    with open(path) as state_file:
                        state = json.load(state_file)
                    if state.get("schema") != SUPPORTED_SCHEMA:
                        raise ValueError("schema %r" % state.get("schema"))
                    workload = Workload(name, state)
                except (OSError, ValueError, TypeError, AttributeError):
                    errors["state_file"] = errors.get("state_file", 0) + 1
                    continue
            fresh_cache[name] = (key, workload)
            workloads[name] = workload
        self.cache = fresh_cache
        return workloads, errors


def is_running(workload, scan):
    """The workload's recorded init is alive in this scan: same PID, same start time, same boot."""
    if workload.status != "running" or workload.init_pid is None:
        return False
    if not workload.is_from_boot(scan.boot_id):
        return False  # state from an earlier boot: its PID now names some other process
    init = scan.process(workload.init_pid)
    return init is not None and init.start_time == workload.init_start_time and init.is_alive


def attribute(workloads, scan, namespaces):
    """({name: running}, {pidns inode: workload name}) for this scan.

    Only a running workload names a namespace. Workloads sharing one PID
    namespace all point at it; the one whose init is that namespace's init
    (its creator) names it, else the first by name.
    """
    running = dict((name, is_running(workload, scan)) for name, workload in workloads.items())
    names = {}
    for name in sorted(workloads):
        workload = workloads[name]
        if not running[name] or workload.pidns is None:
            continue
        namespace = namespaces.get(workload.pidns)
        if namespace is None:
            continue
        owner = namespace.init_host_pid is not None and namespace.init_host_pid == workload.init_pid
        if owner or workload.pidns not in names:
            names[workload.pidns] = name
    return running, names
