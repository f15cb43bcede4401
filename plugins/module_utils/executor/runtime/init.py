# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PID 1 of a workload: spawn the command, forward signals to it, reap every orphan.

Like tini: all signals are blocked and taken with sigtimedwait, so a signal is
never lost between checks; the command's death by signal N becomes 128+N.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ..host import collector, libc, signals, termination

# Synchronous signals describe a fault in init itself; the rest can be forwarded.
_NOT_FORWARDED = signals.SYNCHRONOUS | {signals.SIGKILL, signals.SIGSTOP, signals.SIGCHLD}
FORWARDED_SIGNALS = frozenset(sig for sig in signals.valid_signals()
                              if sig not in _NOT_FORWARDED and sig < signals.SIGRTMIN)
WAITED_SIGNALS = FORWARDED_SIGNALS | {signals.SIGCHLD}
# Wake up now and then even without a signal, so no wait is unbounded.
_WAKE_SECONDS = 5.0


def exit_code(wait_status):
    """A wait status as a shell would report it: the code, or 128+N for death by signal N."""
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


def block_signals():
    signals.pthread_sigmask(signals.SIG_BLOCK, WAITED_SIGNALS)


def reset_signals():
    """In a child about to exec: default dispositions and nothing blocked.

    Python ignores SIGPIPE and SIGXFSZ at start, and ignored signals survive
    exec, so every disposition is reset, not only those init touched.
    """
    for sig in signals.valid_signals():
        if sig in (signals.SIGKILL, signals.SIGSTOP) or signals.get_handler(sig) in (signals.SIG_DFL, None):
            continue
        try:
            signals.set_handler(sig, signals.SIG_DFL)
        except (OSError, ValueError):
            pass
    signals.pthread_sigmask(signals.SIG_SETMASK, ())


def reap(main_pid):
    """Reap every exited child; returns the main child's exit code if it was among them."""
    main_code = None
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return main_code
        if pid == 0:
            return main_code
        if pid == main_pid:
            main_code = exit_code(status)


def forward_and_reap(main_pid):
    """Loop until the main child exits; returns its exit code."""
    while True:
        info = signals.sigtimedwait(WAITED_SIGNALS, _WAKE_SECONDS)
        if info is not None and info.si_signo != signals.SIGCHLD:
            try:
                os.kill(main_pid, info.si_signo)
            except ProcessLookupError:
                pass
        code = reap(main_pid)
        if code is not None:
            return code


def run(spawn_command, is_namespace_init, exit_record_fd=None):
    """Be init: spawn the command with ``spawn_command()`` and outlive it.

    The exit code goes to ``exit_record_fd`` too, so it survives a supervisor
    killed before it could reap init.

    When init is not PID 1 (a shared or host PID namespace) it becomes a child
    subreaper, so orphans still come back to it and destroy can find them.
    """
    libc.set_process_name("nsfleet-init")
    block_signals()
    if not is_namespace_init:
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
    main_pid = spawn_command()
    collector.for_long_life()
    code = forward_and_reap(main_pid)
    if not is_namespace_init:
        # A real PID 1's exit kills its namespace; a subreaper's would let the
        # workload's leftovers escape to someone else's init, so kill them here.
        termination.kill_descendants(os.getpid())
        reap(main_pid)
    if exit_record_fd is not None:
        try:
            os.write(exit_record_fd, b"%d\n" % code)
        except OSError:
            pass  # the supervisor, if alive, still learns it from wait()
    return code
