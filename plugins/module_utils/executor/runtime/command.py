# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turning the current process into the workload's command: confinement (ids, cwd, capabilities, seccomp), env, exec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ..host import handshake
from ..security import confine
from ..spec.validate import DEFAULT_PATH
from . import init

GO = b"g"


def environment(spec):
    """A clean environment, as a container runtime gives: PATH, HOME, HOSTNAME, then the spec's."""
    env = {"PATH": DEFAULT_PATH, "HOME": "/root" if not spec["user"] or spec["user"]["uid"] == 0 else "/"}
    if spec["hostname"]:
        env["HOSTNAME"] = spec["hostname"]
    env.update(spec["env"])
    return env


def exec_command(spec, error_fd, go_fd=None):
    """exec the command; on failure write why to ``error_fd`` and exit 126/127 like a shell.

    ``go_fd``: started before its filesystem is finished (``spawn_early``), the
    command drops its privileges, then waits for init's word on ``go_fd``.
    EOF in its place: set-up failed, and init says why.
    """
    try:
        init.reset_signals()
        env = environment(spec)
        confine.drop_privileges(spec)
        if go_fd is not None and os.read(go_fd, 1) != GO:
            os._exit(127)
        confine.seal(spec)
        os.execvpe(spec["command"][0], spec["command"], env)
    except BaseException as error:  # noqa: B902 - nothing may escape a forked child
        handshake.send(error_fd, "exec %s: %s" % (spec["command"][0], error))
        os._exit(126 if isinstance(error, PermissionError) else 127)


def spawn(spec, error_fd):
    """fork a child that execs the command; the parent keeps no copy of ``error_fd``."""
    pid = os.fork()
    if pid == 0:
        exec_command(spec, error_fd)
    os.close(error_fd)
    return pid


def spawn_early(spec, error_fd):
    """fork the command before its filesystem is finished: it drops its privileges meanwhile, on the other core.

    Returns ``go``: ``go()`` once set-up is done lets the command go on to
    exec, hands ``error_fd`` over to it (the caller keeps it until then, to
    report a failed set-up) and returns the command's pid, as ``spawn`` does. The caller's death before ``go()`` kills the
    command too: the caller is its PID namespace's init.
    """
    go_read, go_write = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        exec_command(spec, error_fd, go_read)
    os.close(go_read)

    def go():
        try:
            os.write(go_write, GO)
        except BrokenPipeError:
            pass  # the command failed before it could wait, and said why on error_fd
        finally:
            os.close(go_write)
            os.close(error_fd)
        return pid

    return go
