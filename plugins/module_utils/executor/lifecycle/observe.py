# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a workload is doing now: recorded state checked against the live processes.

This builds the workload object of DESIGN.md that ``inspect``, ``ls`` and
the modules return.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ..host import procfs
from ..host.identity import ProcessIdentity
from ..runtime.namespaces import pidns_ancestry
from ..security.confine import record as security_record
from ..spec.validate import spec_hash


class Observation:
    """A workload's recorded state and which of its processes still live."""

    def __init__(self, name, spec, state, init_exit_code=None):
        self.name = name
        self.spec = spec
        self.state = state or {}
        self.init_exit_code = init_exit_code
        self.supervisor = ProcessIdentity.from_record(self.state.get("supervisor"))
        self.init = ProcessIdentity.from_record(self.state.get("init"))
        self.supervisor_alive = self.supervisor is not None and self.supervisor.is_alive()
        self.init_alive = self.init is not None and self.init.is_alive()
        self.status = self._status()

    def _status(self):
        recorded = self.state.get("status") or "created"
        if recorded != "running":
            return recorded
        if self.init_alive:
            return "running" if self.supervisor_alive else "orphaned"
        # The instance ended but nobody recorded it: the supervisor died first.
        # Init's own record says how it ended; with none (no init, or init killed) it is dead.
        return "exited" if self.supervisor_alive or self.init_exit_code is not None else "dead"

    @property
    def exit_code(self):
        if self.state.get("exit_code") is None and self.status == "exited":
            return self.init_exit_code
        return self.state.get("exit_code")

    @property
    def is_active(self):
        """Something of the workload still runs, so it must be stopped before rm or start."""
        return self.supervisor_alive or self.init_alive


def observe(store, name):
    spec = store.read_spec(name)
    if spec is None:
        return None
    state = store.read_state(name)
    ended_unrecorded = (state or {}).get("status") == "running"
    return Observation(name, spec, state, store.read_init_exit(name) if ended_unrecorded else None)


def _pidns_membership(pidns_inode, proc_root="/proc"):
    """is_inside(inode, pid): the namespace is ``pidns_inode`` or nested below it."""
    parents = {}

    def is_inside(inode, pid):
        if inode == pidns_inode:
            return True
        if inode not in parents:
            chain = pidns_ancestry("%s/%d/ns/pid" % (proc_root, pid))
            for child, parent in zip(chain, chain[1:] + [None]):
                parents.setdefault(child, parent)
        while inode is not None:
            inode = parents.get(inode)
            if inode == pidns_inode:
                return True
        return False

    return is_inside


def processes(init_identity, proc_root="/proc"):
    """The PID mapping of a running workload: every process visible in its PID namespace."""
    if init_identity is None or not init_identity.is_alive():
        return []
    pidns_inode = procfs.namespace_inode(init_identity.pid, "pid", proc_root)
    if pidns_inode is None:
        return []
    return procfs.pid_mapping(pidns_inode, _pidns_membership(pidns_inode, proc_root), proc_root)


def workload_object(observation, with_processes=True):
    state = observation.state
    running = observation.init_alive
    return {
        "name": observation.name,
        "status": observation.status,
        "exit_code": observation.exit_code,
        "error": state.get("error"),
        "init_host_pid": observation.init.pid if running else None,
        "supervisor_host_pid": observation.supervisor.pid if observation.supervisor_alive else None,
        "started_at": state.get("started_at"),
        "finished_at": state.get("finished_at"),
        "spec_hash": spec_hash(observation.spec),
        "restart_count": state.get("restart_count", 0),
        "namespaces": state.get("namespaces", {}) if running else {},
        # The user namespace's maps in force: what root inside is on the host.
        "user_namespace": procfs.id_maps(observation.init.pid) if running else {},
        "oom_killed": bool(state.get("oom_killed")),
        "cgroup": state.get("cgroup"),
        "processes": processes(observation.init) if with_processes and running else [],
        "security": security_record(observation.spec),
        "spec": observation.spec,
    }
