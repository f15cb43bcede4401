# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The supervisor: one per workload, in the host PID namespace, parent of init.

It starts instances, records their state, forwards signals, applies the
restart policy, and on SIGTERM (a stop request) sends ``stop_signal``, then
SIGKILL after ``stop_timeout``. In the foreground (``nsfleet run``) the same
loop runs in the CLI process, and SIGTERM is forwarded instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ..host import collector, handshake, procfs, signals, termination
from ..host.identity import ProcessIdentity
from ..security import confine
from . import init, instance
from .namespaces import NamespacePlan

BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 10.0
# An instance that ran this long resets the backoff, as it was healthy.
BACKOFF_RESET_AFTER_SECONDS = 10.0
_WAKE_SECONDS = 1.0
# How long ``nsfleet start`` waits for the supervisor's word: set-up, plus time to fork and record.
START_REPORT_TIMEOUT_SECONDS = instance.SETUP_TIMEOUT_SECONDS + 5.0


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def should_restart(policy, exit_code):
    return policy == "always" or (policy == "on-failure" and exit_code != 0)


class NullRecorder:
    """State recorder for one-shot runs that keep no state."""

    keeps_state = False  # so nothing is read from /proc only to be recorded

    def record(self, **changes):
        return changes

    def open_init_exit(self):
        return None


class StateRecorder:
    keeps_state = True

    def __init__(self, store, name):
        self.store = store
        self.name = name

    def record(self, **changes):
        return self.store.update_state(self.name, **changes)

    def open_init_exit(self):
        return self.store.open_init_exit(self.name)


class StartReport:
    """The supervisor's one message to the ``nsfleet start`` that forked it: how the first instance went.

    Sent at most once, then the pipe is closed: a later failure must not
    write into a descriptor number that has since been reused.
    """

    def __init__(self, handshake_fd):
        self.handshake_fd = handshake_fd

    def send(self, result):
        if self.handshake_fd is None:
            return
        from ..host import jsonio
        handshake.send(self.handshake_fd, jsonio.dumps(result), close=True)
        self.handshake_fd = None

    def fail(self, error):
        self.send({"error": "supervisor: %s" % error})


def read_start_report(read_fd):
    """The starter's side of StartReport: {"init_host_pid": N} or {"error": why}."""
    from ..host import jsonio
    try:
        text = handshake.receive(read_fd, START_REPORT_TIMEOUT_SECONDS)
    except handshake.HandshakeTimeout:
        return {"error": "no answer from the supervisor within %ss" % START_REPORT_TIMEOUT_SECONDS}
    try:
        return jsonio.loads(text)
    except ValueError:
        return {"error": "the supervisor exited before starting the workload"}


def run_detached(store, name, report):
    """The detached supervisor of workload ``name``: log as output, state recorded. Returns an exit code.

    ``report``: the StartReport to the starter; any failure reaches it.
    """
    try:
        from .joins import open_joined
        from .log_writer import BoundedLog, LogCopier
        from ..host import cgroups
        from ..host.libc import set_process_name

        set_process_name("nsfleet-sup")
        spec = store.read_spec(name)
        state = store.read_state(name) or {}
        init.block_signals()  # before the log's thread starts, so it inherits the mask
        copier = LogCopier(BoundedLog(store.log_path(name), lambda: store.open_log(name), spec["log_max_size"],
                                      spec["log_max_files"]))
        output_fd = copier.start()
        supervisor = Supervisor(spec, StateRecorder(store, name),
                                (os.open(os.devnull, os.O_RDONLY), output_fd, output_fd),
                                lambda wanted: open_joined(store, wanted), detached=True,
                                cgroup=cgroups.for_workload(spec, store.root),
                                filter_cache_dir=store.filter_cache_dir)
        try:
            supervisor.run(state.get("restart_count", 0), report.send)
        finally:
            copier.close()
        return 0
    except BaseException as error:  # noqa: B902 - the starter waits for a word either way
        report.fail(error)
        return 1


class Supervisor:
    """``cgroup``: the workload's host.cgroups.Cgroup, made at each start (None: the host has no usable one)."""

    def __init__(self, spec, recorder, stdio_fds, join_resolver, detached, cgroup=None, filter_cache_dir=None):
        self.spec = spec
        self.cgroup = cgroup
        self.filter_cache_dir = filter_cache_dir
        self.recorder = recorder
        self.stdio_fds = stdio_fds
        self.join_resolver = join_resolver
        self.detached = detached
        self.stop_requested = False
        self.stop_deadline = None

    def run(self, restart_count=0, on_started=None):
        """Run instances until one should not be restarted; returns the last exit code."""
        init.block_signals()
        confine.make_undumpable()
        backoff = BACKOFF_FIRST_SECONDS
        if self.recorder.keeps_state:
            self.recorder.record(supervisor=ProcessIdentity.of(os.getpid()).to_record(), restart_count=restart_count)
        while True:
            started_at = time.monotonic()
            code, failure = self.run_instance(on_started)
            on_started = None
            if failure is not None or self.stop_requested or not should_restart(self.spec["restart_policy"], code):
                return code
            if time.monotonic() - started_at >= BACKOFF_RESET_AFTER_SECONDS:
                backoff = BACKOFF_FIRST_SECONDS
            if self.sleep_unless_stopped(backoff):
                self.recorder.record(status="stopped")
                return code
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
            restart_count += 1
            self.recorder.record(restart_count=restart_count)

    def make_cgroup(self):
        """The instance's cgroup, made and limited; None when the host offers none and no limit needs one."""
        limits = self.spec.get("limits") or {}
        if self.cgroup is None and not limits:
            return None  # a one-shot run without limits: host.cgroups is not even imported
        from ..host import cgroups
        if self.cgroup is None:
            raise cgroups.CgroupError("limits: this host mounts no cgroup hierarchy nsfleet can use")
        try:
            self.cgroup.make(limits)
            # An instance starts alone: the first process of one whose supervisor was killed
            # before it could record it would otherwise live on beside it, unknown.
            self.cgroup.kill_all()
        except (OSError, cgroups.CgroupError) as error:
            if limits:
                raise cgroups.CgroupError("cgroup %s: %s" % (self.cgroup.path, error))
            return None  # without limits a cgroup is a convenience: never the reason a workload cannot run
        return self.cgroup

    def run_instance(self, on_started):
        plan = NamespacePlan(self.spec["namespaces"], {})
        cgroup, oom_kills_before = None, 0
        try:
            plan.joins = self.join_resolver(self.spec)
            cgroup = self.make_cgroup()
            oom_kills_before = cgroup.oom_kills() if cgroup is not None else 0
            exit_record_fd = self.recorder.open_init_exit()
            try:
                identity, failure = instance.launch(self.spec, plan, self.stdio_fds, exit_record_fd, cgroup,
                                                    self.filter_cache_dir)
            finally:
                if exit_record_fd is not None:
                    os.close(exit_record_fd)
        except (OSError, RuntimeError) as error:  # JoinError is a RuntimeError
            identity, failure = None, "start: %s" % error
        finally:
            plan.close()
        if failure is not None:
            # The child is exiting after a failed set-up; reap it for its code.
            code = 127 if identity is None else init.exit_code(os.waitpid(identity.pid, 0)[1])
            self.recorder.record(status="exited", exit_code=code, error=failure, init=None,
                                 finished_at=now_iso())
            if on_started:
                on_started({"error": failure})
            return None, failure
        namespaces = procfs.namespace_ids(identity.pid) if self.recorder.keeps_state else {}
        self.recorder.record(status="running", init=identity.to_record(), exit_code=None, error=None,
                             namespaces=namespaces, oom_killed=False,
                             cgroup=cgroup.record() if cgroup is not None else None,
                             started_at=now_iso(), finished_at=None)
        if on_started:
            on_started({"init_host_pid": identity.pid})
        collector.for_long_life()  # waits as long as the workload runs
        code = self.wait_instance(identity, plan.owns_pid_namespace())
        oom_killed = False
        if cgroup is not None:
            oom_killed = cgroup.oom_kills() > oom_kills_before
            cgroup.kill_all()  # what outlived init in a shared PID namespace dies with the instance
        self.recorder.record(status="stopped" if self.stop_requested else "exited",
                             exit_code=code, oom_killed=oom_killed, finished_at=now_iso())
        return code, None

    def wait_instance(self, identity, owns_pid_namespace):
        while True:
            timeout = _WAKE_SECONDS
            if self.stop_deadline is not None:
                timeout = max(0.0, min(timeout, self.stop_deadline - time.monotonic()))
            info = signals.sigtimedwait(init.WAITED_SIGNALS, timeout)
            # A signal the supervisor caused itself is not for the workload: SIGPIPE from
            # reporting to a starter that was killed meanwhile would otherwise kill it.
            if info is not None and info.si_signo != signals.SIGCHLD and info.si_pid != os.getpid():
                self.on_signal(info.si_signo, identity)
            pid, status = os.waitpid(identity.pid, os.WNOHANG)
            if pid == identity.pid:
                return init.exit_code(status)
            if self.stop_deadline is not None and time.monotonic() >= self.stop_deadline:
                self.stop_deadline = float("inf")  # kill once; then wait for the reap
                termination.kill_workload(identity, owns_pid_namespace)

    def on_signal(self, signum, identity):
        if signum == signals.SIGTERM and self.detached:
            if not self.stop_requested:
                self.stop_requested = True
                self.stop_deadline = time.monotonic() + self.spec["stop_timeout"]
                os.kill(identity.pid, signals.number(self.spec["stop_signal"]))
            return
        try:
            os.kill(identity.pid, signum)
        except ProcessLookupError:
            pass

    def sleep_unless_stopped(self, seconds):
        """Back off before a restart; a stop request ends the wait. Returns whether one came."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            info = signals.sigtimedwait(init.WAITED_SIGNALS, remaining)
            if info is not None and info.si_signo == signals.SIGTERM:
                self.stop_requested = True
                return True
