# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Entering a running workload: its cgroup, each of its namespaces and its root; then the command.

The caller joins the workload's PID namespace for its children and forks;
the child (``enter_and_run``, already a process inside) enters its cgroup
first (before it can fork), then the other namespaces and the root with the
host's privilege, and its user namespace last, as the workload's own set-up
does (what was made before belongs to the host's user namespace); then it
forks again, so the command has a PID inside and this process stays its
subreaper: a timeout can then kill the whole tree it made. The command itself
is exec'd by ``command.exec_command``, the same final step as the workload's
own command, so it gets the same ids, environment and confinement.

Nothing here may import once the root has changed: the executor's files are
not inside the workload.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ..host import handshake, libc, signals
from ..host.descriptors import close_all_except
from ..security import confine, userns
from . import command, init
from .namespaces import join_namespaces

# siginfo's si_code for a signal the kernel made (a terminal's ^C): the command got it too.
SI_KERNEL = 0x80
_WAKE_SECONDS = 1.0
# The first line the entering process reports once the command is forked and waits for the go.
FORKED = "forked\n"


def enter_root(root_fd, cwd):
    """chroot into the workload's root, then chdir to ``cwd`` resolved inside it.

    ``root_fd`` is the workload init's /proc/PID/root, opened by the caller:
    the root as the workload sees it, whatever it pivoted into.
    """
    os.fchdir(root_fd)
    os.chroot(".")
    try:
        confine.enter_working_directory(cwd)
    except NotADirectoryError:
        raise ValueError("cwd %s: not a directory" % cwd)
    except OSError as error:
        raise ValueError("cwd %s: %s" % (cwd, os.strerror(error.errno) if error.errno else error))


def forward_until_exit(main_pid):
    """Forward signals to the command and reap whatever ends up here, until the command exits."""
    while True:
        info = signals.sigtimedwait(init.WAITED_SIGNALS, _WAKE_SECONDS)
        # A terminal's signal already reached the command (same process group): do not double it.
        if info is not None and info.si_signo != signals.SIGCHLD and info.si_code != SI_KERNEL:
            try:
                os.kill(main_pid, info.si_signo)
            except ProcessLookupError:
                pass
        code = init.reap(main_pid)
        if code is not None:
            return code


def _wait_for_go(go_fd):
    """The caller has recorded the command's PID; EOF without a byte means it gave up."""
    try:
        if os.read(go_fd, 1):
            return
    except OSError:
        pass
    os._exit(127)


def enter_and_run(exec_spec, joins, root_fd, cgroup, stdio_fds, report_fd, go_fd):
    """In the caller's child, already in the workload's PID namespace. Never returns.

    Reports on ``report_fd`` (close-on-exec): FORKED once the command is
    forked, and anything after it is why it failed; EOF alone means it ran.
    """
    try:
        for target_fd, source_fd in enumerate(stdio_fds):
            if source_fd != target_fd:
                os.dup2(source_fd, target_fd)
        # Only 0, 1 and 2 may reach the command: a caller's descriptor of a host directory is a way out.
        close_all_except(set(joins.values()) | {root_fd, report_fd, go_fd})
        libc.set_process_name("nsfleet-exec")
        confine.make_undumpable()  # the workload may not ptrace it or open its /proc/PID/exe (the host's python)
        if cgroup is not None:
            cgroup.add_process(0)  # under the workload's limits before anything can fork
        join_namespaces(joins)
        enter_root(root_fd, exec_spec["cwd"])
        if "user" in joins:
            userns.join(joins["user"])  # nothing when the workload shares ours
        for fd in list(joins.values()) + [root_fd]:
            os.close(fd)
        init.block_signals()
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
        pid = os.fork()
        if pid == 0:
            _wait_for_go(go_fd)
            command.exec_command(exec_spec, report_fd)
        os.close(go_fd)
        handshake.send(report_fd, FORKED, close=True)
        os._exit(forward_until_exit(pid))
    except BaseException as error:  # noqa: B902 - nothing may escape a forked child
        handshake.send(report_fd, "exec: %s" % error)
    os._exit(127)
