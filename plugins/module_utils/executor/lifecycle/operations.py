# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lifecycle operations on named workloads, each under the workload's lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

from ..host import cgroups, descriptors, signals, termination
from ..runtime.supervisor import StartReport, now_iso, read_start_report, run_detached
from ..spec import validate as spec_module
from ..spec.schema import UNHASHED_KEYS
from ..spec.validate import spec_hash
from . import observe
from .state import NoSuchWorkload

# How long past stop_timeout a stop waits for the supervisor to finish its bookkeeping.
STOP_GRACE_SECONDS = 5.0


def metadata(spec):
    """The spec's fields that the hash leaves out (labels): they change without a restart."""
    return dict((key, spec.get(key)) for key in UNHASHED_KEYS)


class OperationError(RuntimeError):
    """A request that cannot be done as asked; the message says why."""


class Workloads:
    def __init__(self, store, executable=None):
        """``executable``: the nsfleet bundle, to start supervisors as fresh processes; None runs them forked."""
        self.store = store
        self.executable = executable

    def _require(self, name, lock=None):
        """The workload's observation; NoSuchWorkload if there is none (and a held ``lock`` goes with it)."""
        observation = observe.observe(self.store, name)
        if observation is None:
            if lock is not None:
                lock.discard()  # nothing of a missing workload is left behind, not even its lock
            raise NoSuchWorkload(name)
        return observation

    def inspect(self, name, with_processes=True):
        return observe.workload_object(self._require(name), with_processes)

    def list(self, with_processes=False):
        found = []
        for name in self.store.names():
            observation = observe.observe(self.store, name)
            if observation is not None:
                found.append(observe.workload_object(observation, with_processes))
        return found

    def create(self, raw, replace=False):
        """Record a workload's spec. Returns (workload object, changed)."""
        spec = spec_module.validate(raw, self.store.exists, self.store.filter_cache_dir)
        name = spec["name"]
        with self.store.lock(name) as lock:
            current = observe.observe(self.store, name)
            if current is not None:
                if spec_hash(current.spec) == spec_hash(spec):
                    if metadata(current.spec) == metadata(spec):
                        return observe.workload_object(current), False
                    # Labels are metadata: stored in place, the workload keeps running as it is.
                    self.store.write_spec(name, dict(current.spec, **metadata(spec)))
                    return observe.workload_object(observe.observe(self.store, name)), True
                if not replace:
                    raise OperationError("workload %r exists with another spec; remove it or use --replace" % name)
                self._remove_locked(current, force=False)
            try:
                self.store.write_spec(name, spec)
                self.store.write_state(name, {"status": "created", "restart_count": 0})
            except BaseException:
                self.store.remove(name)
                lock.discard()
                raise
            return observe.workload_object(observe.observe(self.store, name)), True

    def start(self, name, with_processes=True):
        """Start a created or ended workload. Returns (workload object, changed)."""
        with self.store.lock(name) as lock:
            observation = self._require(name, lock)
            if observation.status == "running":
                self.store.write_desired(name, "started")
                return observe.workload_object(observation, with_processes), False
            if observation.is_active:
                self._stop_locked(observation, force=True)
            result = self._spawn_supervisor(name)
            if "error" in result:
                raise OperationError("workload %r failed to start: %s" % (name, result["error"]))
            self.store.write_desired(name, "started")
            return self.inspect(name, with_processes), True

    def stop(self, name, force=False):
        with self.store.lock(name) as lock:
            observation = self._require(name, lock)
            self.store.write_desired(name, "stopped")
            if not observation.is_active:
                return observe.workload_object(observation), False
            self._stop_locked(observation, force)
            return self.inspect(name), True

    def restart(self, name, with_processes=True):
        with self.store.lock(name) as lock:
            observation = self._require(name, lock)
            if observation.is_active:
                self._stop_locked(observation, force=False)
            result = self._spawn_supervisor(name)
            if "error" in result:
                raise OperationError("workload %r failed to restart: %s" % (name, result["error"]))
            self.store.write_desired(name, "started")
            return self.inspect(name, with_processes), True

    def remove(self, name, force=False, keep_logs=False):
        """Stop and forget a workload: state, spec, lock and (unless ``keep_logs``) log. Returns whether it existed."""
        if not self.store.has_traces(name):
            return False  # nothing to remove, and nothing to make for it (an rm racing a create comes first)
        with self.store.lock(name) as lock:
            observation = observe.observe(self.store, name)
            if observation is not None:
                self._remove_locked(observation, force, keep_logs)
            else:
                self.store.remove(name, keep_logs)  # what a create killed before its spec was in place left
            lock.discard()
            return observation is not None

    def _remove_locked(self, observation, force, keep_logs=False):
        if observation.is_active:
            self._stop_locked(observation, force)
        self._remove_cgroup(observation)
        self.store.remove(observation.name, keep_logs)

    def _remove_cgroup(self, observation):
        """Kill what is left in the workload's cgroup and remove it: the recorded one, and the one its spec
        names (a supervisor killed before it recorded its cgroup still made it)."""
        recorded = cgroups.Cgroup.from_record(observation.state.get("cgroup"))
        named = cgroups.for_workload(observation.spec, self.store.root)
        for cgroup in (recorded, named):
            if cgroup is not None:
                try:
                    cgroup.remove()
                except cgroups.CgroupError as error:
                    raise OperationError("workload %r: %s" % (observation.name, error))
                cgroups.remove_default_parent(cgroup, observation.spec, self.store.root)

    def _stop_locked(self, observation, force):
        """Stop through the supervisor; if it is gone, stop init ourselves. Leaves nothing running."""
        spec = observation.spec
        owns_pidns = spec["namespaces"]["pid"] == "private"
        timeout = 0 if force else spec["stop_timeout"]
        supervisor = observation.supervisor if observation.supervisor_alive else None
        if supervisor is not None:
            if force and observation.init_alive:
                termination.kill_workload(observation.init, owns_pidns)
            supervisor.send_signal(signals.SIGTERM)
            if not supervisor.wait_gone(timeout + STOP_GRACE_SECONDS):
                supervisor.send_signal(signals.SIGKILL)
                supervisor.wait_gone(STOP_GRACE_SECONDS)
        init_identity = observation.init
        if init_identity is not None and init_identity.is_alive():
            # Orphaned: no supervisor to ask, so do its job with a verified pidfd.
            if not force:
                init_identity.send_signal(signals.number(spec["stop_signal"]))
                init_identity.wait_gone(timeout)
            termination.kill_workload(init_identity, owns_pidns)
            if not init_identity.wait_gone(STOP_GRACE_SECONDS):
                raise OperationError("workload %r: init %d survived SIGKILL" % (observation.name, init_identity.pid))
            recorded_cgroup = cgroups.Cgroup.from_record(observation.state.get("cgroup"))
            if recorded_cgroup is not None:
                recorded_cgroup.kill_all(STOP_GRACE_SECONDS)  # what its supervisor would have killed
            self._record_stopped(observation.name)
        elif (self.store.read_state(observation.name) or {}).get("status") == "running":
            self._record_stopped(observation.name)

    def _record_stopped(self, name):
        """What a supervisor would have recorded, had it lived: init's own record has the exit code."""
        self.store.update_state(name, status="stopped", finished_at=now_iso(), exit_code=self.store.read_init_exit(name))

    def _spawn_supervisor(self, name):
        """Start a detached supervisor (its own session, stdio on /dev/null) and wait for its first instance."""
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        try:
            if self.executable:
                self._spawn_supervisor_process(name, write_fd)
            else:
                pid = os.fork()
                if pid == 0:
                    os.close(read_fd)
                    self._become_supervisor(name, write_fd)
                os.waitpid(pid, 0)
        finally:
            os.close(write_fd)
        try:
            return read_start_report(read_fd)
        finally:
            os.close(read_fd)

    def _spawn_supervisor_process(self, name, handshake_fd):
        """posix_spawn the bundle as the supervisor, in a session of its own.

        No copy of this process is made (glibc spawns with vfork), where the
        double fork copied it twice: ``apply`` is large and threaded, and starts
        a hundred of these. Only stdio on /dev/null and the handshake reach the
        supervisor: descriptors this process inherited are closed in it, and
        its own are close-on-exec. Its parent is this short-lived command, as
        the grandchild's was the first child's; init takes it over after.
        """
        child_fd = 3
        source_fd = handshake_fd if handshake_fd != child_fd else os.dup(handshake_fd)  # dup2(3, 3) keeps CLOEXEC
        try:
            actions = [(os.POSIX_SPAWN_DUP2, source_fd, child_fd)]
            actions += [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
            actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in descriptors.inherited() if fd != child_fd]
            os.posix_spawn(sys.executable, [sys.executable, "-IS", self.executable, "--state-dir", self.store.root,
                                            "_supervise", name, "--handshake-fd", str(child_fd)],
                           os.environ, file_actions=actions, setsid=True)
        finally:
            if source_fd != handshake_fd:
                os.close(source_fd)

    def _become_supervisor(self, name, handshake_fd):
        """In the forked child: detach, then become the supervisor. Never returns.

        From the bundle, the supervisor is a fresh interpreter that imports
        only what it needs: it lives as long as the workload, and memory per
        workload matters.
        """
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            descriptors.close_all_except((handshake_fd,))
            null_fd = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null_fd, fd)
            os.close(null_fd)
            if self.executable:
                os.set_inheritable(handshake_fd, True)
                os.execv(sys.executable, [sys.executable, "-IS", self.executable, "--state-dir", self.store.root,
                                          "_supervise", name, "--handshake-fd", str(handshake_fd)])
            os._exit(run_detached(self.store, name, StartReport(handshake_fd)))
        except BaseException as error:  # noqa: B902 - a daemon reports, it never raises
            StartReport(handshake_fd).fail(error)
        os._exit(1)
