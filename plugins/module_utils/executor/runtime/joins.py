# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opening the namespace files a spec joins (``workload:<name>`` and ``path:<file>``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from .namespaces import PROC_NS_NAMES


class JoinError(RuntimeError):
    """A namespace to join is not there: the workload it names is not running."""


def open_joined(store, spec):
    """{type: fd} for each namespace the spec joins, each owner's identity proven first.

    Runs in the supervisor at every instance start, so a restart joins the
    shared workload's current instance.
    """
    fds = {}
    try:
        for nstype, value in spec["namespaces"].items():
            kind, _sep, target = value.partition(":")
            if kind == "path":
                fds[nstype] = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
            elif kind == "workload":
                fds[nstype] = _open_workload_namespace(store, target, nstype)
    except BaseException:
        for fd in fds.values():
            os.close(fd)
        raise
    return fds


def _open_workload_namespace(store, name, nstype):
    from ..lifecycle.observe import observe  # only specs that share a workload's namespace need it

    other = observe(store, name)
    pidfd = other.init.open_pidfd() if other is not None and other.init else None
    if pidfd is None:
        raise JoinError("namespaces.%s: workload %r is not running" % (nstype, name))
    try:
        # The pidfd pins the process, so this path is still that process's.
        return os.open("/proc/%d/ns/%s" % (other.init.pid, PROC_NS_NAMES[nstype]), os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(pidfd)
