# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Starting one instance of a workload: the fork into new namespaces and the set-up checklist.

The parent learns the outcome through a close-on-exec pipe: EOF alone means
the command was exec'd; any bytes are the reason set-up or exec failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ..host import handshake, libc
from ..host.descriptors import close_all_except
from ..host.identity import ProcessIdentity
from ..security import confine
from . import command, filesystem, init

# Set-up (mounts, pivot_root) can block on a bad filesystem; never wait forever.
SETUP_TIMEOUT_SECONDS = 30.0


class LaunchError(RuntimeError):
    pass


def _setup_and_exec(spec, plan, stdio_fds, error_fd, exit_record_fd, cgroup):
    """The child's checklist. Never returns.

    No import may happen here: after pivot_root the executor's files are gone.
    """
    try:
        if cgroup is not None:
            # First of all: the workload's first process is in its cgroup before it
            # can fork, exec or unshare a cgroup namespace (which is then rooted there).
            cgroup.add_process(0)
        confine.make_undumpable()  # init runs the host's Python: its /proc/1/exe must not open from inside
        for target_fd, source_fd in enumerate(stdio_fds):
            os.dup2(source_fd, target_fd)
        close_all_except(plan.child_fds() | {error_fd} | ({exit_record_fd} - {None}))
        plan.enter_others()
        go = None
        if _command_first(spec, plan):
            go = command.spawn_early(spec, error_fd)
        if spec["namespaces"]["mount"] == "private":
            filesystem.build(spec)
        if spec["hostname"]:
            libc.sethostname(spec["hostname"])
        plan.enter_user()
        if spec["init"]:
            spawn_command = go or (lambda: command.spawn(spec, error_fd))
            os._exit(init.run(spawn_command, plan.owns_pid_namespace(), exit_record_fd))
        command.exec_command(spec, error_fd)
    except BaseException as error:  # noqa: B902 - nothing may escape a forked child
        handshake.send(error_fd, "set-up: %s" % error)
    os._exit(127)


def _command_first(spec, plan):
    """Whether init forks its command before building the filesystem (``command.spawn_early``).

    Only where nothing it sets up later concerns the command's process: the
    command must enter a user namespace with init, and in a PID namespace it
    does not own, init must be a subreaper before the command runs.
    """
    return (spec["init"] and spec["namespaces"]["mount"] == "private" and plan.owns_pid_namespace()
            and plan.private_user is None and "user" not in plan.joins)


def _read_failure(read_fd, deadline):
    """Block until the child execs (EOF, None) or reports a failure (its text); bounded."""
    try:
        return handshake.receive(read_fd, max(0.0, deadline - time.monotonic())) or None
    except handshake.HandshakeTimeout:
        return "set-up did not finish within %ss" % SETUP_TIMEOUT_SECONDS


def launch(spec, plan, stdio_fds, exit_record_fd=None, cgroup=None, filter_cache_dir=None):
    """fork the workload's first process into its namespaces (and ``cgroup``, a made host.cgroups.Cgroup).

    ``exit_record_fd``: where init writes its exit code (close-on-exec, so the
    command never holds it). ``filter_cache_dir``: where compiled seccomp filters are kept.

    Returns (identity of init, failure message or None). On a failure the
    child has exited or is exiting; the caller still reaps it.
    """
    # Before the PID namespace is prepared: a compiler child must not become a process of the workload.
    confine.prepare(spec, filter_cache_dir, isolated=True)
    deadline = time.monotonic() + SETUP_TIMEOUT_SECONDS
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    try:
        plan.prepare_user(spec, SETUP_TIMEOUT_SECONDS)  # plan.close() closes what it opens
        plan.prepare_pid()
        pid = os.fork()
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        os.close(read_fd)
        _setup_and_exec(spec, plan, stdio_fds, write_fd, exit_record_fd, cgroup)
    os.close(write_fd)
    try:
        identity = ProcessIdentity.of(pid) or ProcessIdentity(pid, 0)
        mapping_failure = None
        if plan.private_user is not None:
            mapping_failure = plan.private_user.map_child(pid, max(0.0, deadline - time.monotonic()))
            plan.private_user.close()  # the child reads EOF after the answer, or in place of one
        failure = _read_failure(read_fd, deadline)
        failure = mapping_failure or failure  # the parent's reason is the first cause
    finally:
        os.close(read_fd)
    return identity, failure
