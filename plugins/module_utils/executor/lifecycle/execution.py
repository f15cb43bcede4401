# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``nsfleet exec``: run a command inside a running workload, with a bound, and say what happened.

The caller stays in the host's namespaces: it proves the workload's init is
the recorded process, opens its namespaces and root, joins its PID namespace
for its children only, and forks the process that enters the rest
(``runtime.enter``). Output is passed through (the CLI, a terminal included)
or captured (the module). At the timeout everything the command started is
killed, whatever it does with SIGTERM.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import math
import os
import select
import time

from ..host import cgroups, handshake, libc, procfs, signals, termination
from ..host.identity import ProcessIdentity
from ..runtime import enter
from ..runtime.init import exit_code
from ..runtime.joins import JoinError, open_joined
from ..security import confine, paths
from ..spec.schema import NAMESPACE_KINDS
from ..spec.validate import SpecError, _Validator, _check_exec_size, _refuse_nul_bytes
from . import observe
from .state import NoSuchWorkload

# Entering the namespaces and forking takes milliseconds; a stuck filesystem must not hold us for ever.
SETUP_TIMEOUT_SECONDS = 30.0
# The largest timeout taken: a day, as stop_timeout.
MAX_TIMEOUT_SECONDS = 86400
# After the command's end, how long output still held open by something it left running is read.
DRAIN_SECONDS = 0.2
# Signals the CLI passes on to the command instead of dying of them.
_FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")


class ExecError(RuntimeError):
    """The command could not be run as asked; the message says why (the CLI's exit code 1)."""


class ExecRequest:
    """What to run: ``command`` (argv) and its options, validated by ``validated()``."""

    def __init__(self, command, user=None, env=None, cwd=None, timeout=None, creates=None, removes=None):
        self.command = command
        self.user = user
        self.env = env or {}
        self.cwd = cwd
        self.timeout = timeout
        self.creates = creates
        self.removes = removes

    def validated(self):
        """Checks what can be checked before the workload is looked at; raises SpecError naming the option."""
        if isinstance(self.command, str) or not isinstance(self.command, list) or not self.command:
            raise SpecError("command", "give the command as a non-empty list of arguments")
        if not all(isinstance(arg, str) for arg in self.command) or not self.command[0]:
            raise SpecError("command", "every argument must be a string, the first not empty")
        _refuse_nul_bytes(self.command, "command")
        self.env = _Validator.env(self.env, None)
        _refuse_nul_bytes(self.env, "env")
        _check_exec_size(self.command, self.env)
        for param in ("cwd", "creates", "removes"):
            value = getattr(self, param)
            if value is not None and (not isinstance(value, str) or not value.startswith("/") or "\0" in value):
                raise SpecError(param, "must be an absolute path inside the workload, got %r" % (value,))
        if self.timeout is not None:
            try:
                self.timeout = float(self.timeout)
            except (TypeError, ValueError):
                raise SpecError("timeout", "must be a number of seconds, got %r" % (self.timeout,))
            if not math.isfinite(self.timeout) or not 0 < self.timeout <= MAX_TIMEOUT_SECONDS:
                raise SpecError("timeout", "must be more than 0 and at most %d seconds" % MAX_TIMEOUT_SECONDS)
        return self


def _timestamp(epoch):
    """As ansible.builtin.command prints them: local time with microseconds (datetime costs milliseconds)."""
    whole, fraction = divmod(int(round(epoch * 1e6)), 1000000)
    return "%s.%06d" % (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(whole)), fraction)


def _delta(seconds):
    """As str(datetime.timedelta) prints a duration under a day: H:MM:SS.ffffff."""
    microseconds = int(round(seconds * 1e6))
    whole, fraction = divmod(microseconds, 1000000)
    return "%d:%02d:%02d.%06d" % (whole // 3600, whole // 60 % 60, whole % 60, fraction)


class _Entry:
    """The workload as the command will see it: descriptors of its namespaces and root, its cgroups."""

    def __init__(self, store, name):
        observation = observe.observe(store, name)
        if observation is None:
            raise NoSuchWorkload(name)
        if not observation.init_alive:
            raise ExecError("workload %r is not running (status: %s); start it first" % (name, observation.status))
        self.name = name
        self.spec = observation.spec
        self.init = observation.init
        self.cgroup = cgroups.Cgroup.from_record(observation.state.get("cgroup"))
        self.joins = {}
        self.root_fd = None
        try:
            self.joins = open_joined(store, {"namespaces": dict(
                (kind.name, "workload:" + name) for kind in NAMESPACE_KINDS)})
            self.root_fd = self._open_root()
        except JoinError:
            self.close()
            raise ExecError("workload %r is not running; start it first" % name)
        except BaseException:
            self.close()
            raise

    def _open_root(self):
        pidfd = self.init.open_pidfd()
        if pidfd is None:
            raise JoinError("gone")
        try:  # the pidfd pins init, so this root is still its
            return paths.open_root("/proc/%d/root" % self.init.pid)
        finally:
            os.close(pidfd)

    def exists_inside(self, path):
        try:
            os.close(paths.open_in_root(self.root_fd, path))
            return True
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                return False
            raise ExecError("%s inside workload %r: %s" % (path, self.name, os.strerror(error.errno)))

    def close(self):
        for fd in list(self.joins.values()) + [self.root_fd]:
            if fd is not None:
                os.close(fd)
        self.joins = {}
        self.root_fd = None


def _exec_spec(spec, request):
    """The workload's spec as the exec'd command gets it: its user, env and cwd unless the request says."""
    user = spec["user"]
    if request.user not in (None, ""):
        user = _Validator.user(request.user, spec)
    return dict(spec, command=list(request.command), env=dict(spec["env"], **request.env), user=user,
                cwd=request.cwd or spec["cwd"])


def _skip_reason(entry, request):
    if request.creates and entry.exists_inside(request.creates):
        return "%s exists inside the workload: skipped" % request.creates
    if request.removes and not entry.exists_inside(request.removes):
        return "%s does not exist inside the workload: skipped" % request.removes
    return None


class _Forwarder:
    """While the CLI waits, the signals that would kill it go to the command's tree instead."""

    def __init__(self, target_pid, from_terminal):
        self.target_pid = target_pid
        self.saved = {}
        for name in _FORWARDED:
            signum = signals.number(name)
            # ^C at a terminal reaches the command itself (one process group): only ignore it here.
            handler = signals.SIG_IGN if from_terminal and name in ("SIGINT", "SIGQUIT") else self._forward
            self.saved[signum] = signals.set_handler(signum, handler)

    def _forward(self, signum, _frame):
        try:
            os.kill(self.target_pid, signum)
        except ProcessLookupError:
            pass

    def restore(self):
        for signum, handler in self.saved.items():
            signals.set_handler(signum, handler)


def _not_run(request, skipped, msg):
    return {"rc": 0 if skipped else None, "skipped": skipped, "msg": msg, "stdout": "", "stderr": "",
            "timed_out": False, "host_pid": None, "ns_pid": None, "start": None, "end": None, "delta": None,
            "error": None, "cmd": list(request.command)}


def run(store, name, request, capture=False, stdin_fd=0, check=False):
    """Run ``request`` in workload ``name``. Returns the result dict (``rc`` is the command's exit code).

    ``capture``: collect stdout and stderr into the result, else the command
    writes to ours. ``stdin_fd``: the command's stdin. ``check``: answer
    whether it would run (the workload runs, creates/removes) and run nothing.
    """
    request.validated()
    entry = _Entry(store, name)
    try:
        exec_spec = _exec_spec(entry.spec, request)
        skipped = _skip_reason(entry, request)
        if skipped or check:
            return _not_run(request, bool(skipped), skipped or "would run (check mode)")
        # The workload's seccomp filter, compiled here on the host side: nothing is loaded from inside it.
        confine.prepare(exec_spec, store.filter_cache_dir)
        return _Execution(entry, exec_spec, request.timeout, capture, stdin_fd).run()
    finally:
        entry.close()


class _Execution:
    def __init__(self, entry, exec_spec, timeout, capture, stdin_fd):
        self.entry = entry
        self.exec_spec = exec_spec
        self.timeout = timeout
        self.capture = capture
        self.stdin_fd = stdin_fd
        self.output = {}  # "stdout"/"stderr" -> bytearray, when capturing
        self.timed_out = False
        self.ns_pid = None
        self.pipe_names = {}

    def run(self):
        started = time.time()
        begun = time.monotonic()
        deadline = None if self.timeout is None else begun + self.timeout
        pid, host_pid, failure, pipes = self._start()
        identity = ProcessIdentity.of(pid) or ProcessIdentity(pid, 0)
        forwarder = None if self.capture else _Forwarder(pid, os.isatty(self.stdin_fd))
        try:
            self._wait(identity, pipes, deadline)
            code = exit_code(os.waitpid(pid, 0)[1])
        finally:
            if forwarder is not None:
                forwarder.restore()
            for fd in pipes:
                os.close(fd)
        ended = time.time()
        stdout = self.output.get("stdout", bytearray()).decode("utf-8", "replace")
        stderr = self.output.get("stderr", bytearray()).decode("utf-8", "replace")
        if failure:
            stderr += failure + ("" if failure.endswith("\n") else "\n")
        return {"rc": code, "stdout": stdout, "stderr": stderr, "timed_out": self.timed_out, "skipped": False,
                "host_pid": host_pid, "ns_pid": self.ns_pid, "error": failure or None,
                "start": _timestamp(started), "end": _timestamp(ended), "delta": _delta(ended - started),
                "cmd": list(self.exec_spec["command"])}

    def _start(self):
        """Fork the entering process; returns (its pid, the command's host pid, exec failure, output pipes)."""
        report_read, report_write = os.pipe2(os.O_CLOEXEC)
        go_read, go_write = os.pipe2(os.O_CLOEXEC)
        stdio, pipes = self._stdio()
        own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        workload_pidns = self.entry.joins.pop("pid")
        try:
            libc.setns(workload_pidns, libc.CLONE_NEWPID)  # for our children only
            try:
                pid = os.fork()
                if pid == 0:
                    os.close(report_read)
                    os.close(go_write)
                    enter.enter_and_run(self.exec_spec, self.entry.joins, self.entry.root_fd,
                                        self.entry.cgroup, stdio, report_write, go_read)
            finally:
                libc.setns(own_pidns, libc.CLONE_NEWPID)
        finally:
            os.close(own_pidns)
            os.close(workload_pidns)
            for fd in (report_write, go_read) + tuple(fd for fd in stdio if fd > 2 and fd != self.stdin_fd):
                os.close(fd)
        try:
            first = self._receive_line(report_read)
            if first != enter.FORKED:
                os.close(go_write)
                # It reported a failure and is exiting, or is stuck in set-up: either way, end it.
                termination.kill_descendants(pid)
                try:
                    os.kill(pid, signals.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)
                for fd in pipes:
                    os.close(fd)
                raise ExecError("workload %r: %s" % (self.entry.name, first.strip() or "exec: set-up failed"))
            host_pid = _only_child(pid)
            self.ns_pid = _ns_pid(host_pid)  # now, while the command waits for the go
            os.write(go_write, b"g")
            os.close(go_write)
            try:
                failure = handshake.receive(report_read, SETUP_TIMEOUT_SECONDS) or None
            except handshake.HandshakeTimeout:
                failure = "exec did not finish within %ss" % SETUP_TIMEOUT_SECONDS
        finally:
            os.close(report_read)
        return pid, host_pid, failure, pipes

    def _stdio(self):
        """(the command's 0, 1, 2), and the read ends we keep: none unless capturing."""
        if not self.capture:
            return (self.stdin_fd, 1, 2), ()
        out_read, out_write = os.pipe2(os.O_CLOEXEC)
        err_read, err_write = os.pipe2(os.O_CLOEXEC)
        self.pipe_names = {out_read: "stdout", err_read: "stderr"}
        return (self.stdin_fd, out_write, err_write), (out_read, err_read)

    @staticmethod
    def _receive_line(read_fd):
        """The entering process's first word: FORKED, or why it failed; bounded."""
        poller = select.poll()
        poller.register(read_fd, select.POLLIN | select.POLLHUP)
        deadline = time.monotonic() + SETUP_TIMEOUT_SECONDS
        text = b""
        while b"\n" not in text and len(text) < handshake.MAX_MESSAGE_BYTES:
            if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                return "exec: set-up did not finish within %ss" % SETUP_TIMEOUT_SECONDS
            chunk = os.read(read_fd, 4096 if text.startswith(b"exec:") else 1)
            if not chunk:
                break
            text += chunk
        return text.decode("utf-8", "replace")

    def _wait(self, identity, pipes, deadline):
        """Read output until the entering process exits (it waits for the command); kill all at the deadline."""
        pidfd = identity.open_pidfd()
        poller = select.poll()
        open_pipes = set(pipes)
        for fd in pipes:
            self.output[self.pipe_names[fd]] = bytearray()
            poller.register(fd, select.POLLIN | select.POLLHUP)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        try:
            exited = pidfd is None
            while not exited:
                wait_ms = 1000 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic())) * 1000
                for fd, _events in poller.poll(wait_ms):
                    if fd == pidfd:
                        exited = True
                    elif not self._read(fd):
                        poller.unregister(fd)
                        open_pipes.discard(fd)
                if not exited and deadline is not None and time.monotonic() >= deadline:
                    self.timed_out = True
                    # The entering process is the subreaper of all the command made: kill its tree, then it.
                    termination.kill_descendants(identity.pid)
                    identity.send_signal(signals.SIGKILL)
                    deadline = None
            self._drain(poller, open_pipes)
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _drain(self, poller, open_pipes):
        """What the command wrote before it ended; a daemon it left holding the pipe is not waited for."""
        drain_until = time.monotonic() + DRAIN_SECONDS
        while open_pipes and time.monotonic() < drain_until:
            ready = [fd for fd, _events in poller.poll(max(0.0, drain_until - time.monotonic()) * 1000)
                     if fd in open_pipes]
            if not ready:
                return
            for fd in ready:
                if not self._read(fd):
                    poller.unregister(fd)
                    open_pipes.discard(fd)

    def _read(self, fd):
        chunk = os.read(fd, 65536)
        self.output[self.pipe_names[fd]] += chunk
        return bool(chunk)


def _only_child(parent_pid):
    """The host PID of the command: the entering process's one child, held before exec by the go pipe."""
    try:
        with open("/proc/%d/task/%d/children" % (parent_pid, parent_pid)) as children:
            found = [int(pid) for pid in children.read().split()]
    except OSError:  # no CONFIG_PROC_CHILDREN: look it up by parent
        found = []
        for pid in procfs.list_pids():
            stat = procfs.read_stat(pid)
            if stat is not None and stat.ppid == parent_pid:
                found.append(pid)
    return found[0] if found else None


def _ns_pid(host_pid):
    nspid = procfs.read_nspid(host_pid) if host_pid else []
    return nspid[-1] if nspid else None
