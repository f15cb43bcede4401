# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Creating and joining namespaces, and reading how PID namespaces nest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os

from ..host import libc
from ..spec.schema import NAMESPACE_KINDS

CLONE_FLAGS = {
    "pid": libc.CLONE_NEWPID,
    "mount": libc.CLONE_NEWNS,
    "uts": libc.CLONE_NEWUTS,
    "ipc": libc.CLONE_NEWIPC,
    "net": libc.CLONE_NEWNET,
    "cgroup": libc.CLONE_NEWCGROUP,
    "user": libc.CLONE_NEWUSER,
}
# The name of each spec namespace type under /proc/PID/ns/.
PROC_NS_NAMES = dict((kind.name, kind.proc_name) for kind in NAMESPACE_KINDS)
# Joined before the new ones are made; mount last so /proc paths still resolve.
# The user namespace comes after all of them and after the mounts (``enter_user``).
JOIN_ORDER = ("ipc", "uts", "net", "cgroup", "mount")


def join_namespaces(joins):
    """setns into every namespace of ``joins`` (type -> fd) but the user one, mount last, with the host's privilege."""
    for nstype in JOIN_ORDER:
        if nstype in joins:
            libc.setns(joins[nstype], CLONE_FLAGS[nstype])


class NamespacePlan:
    """What to do for each namespace type: unshare it, join a file, or keep the host's.

    ``joins`` maps a type to an open fd (opened by the supervisor, which has
    proven the owning process's identity); the fds are closed after use.
    ``private_user``: the handshake of a private user namespace, made by
    ``prepare_user`` for the launcher, which writes its maps.
    """

    def __init__(self, values, join_fds):
        self.values = values
        self.joins = join_fds
        self.private_user = None

    def child_fds(self):
        """Descriptors the child needs until its command execs."""
        kept = set(self.joins.values())
        if self.private_user is not None:
            kept |= self.private_user.child_fds()
        return kept

    def unshare_flags(self, types):
        flags = 0
        for nstype in types:
            if self.values.get(nstype) == "private":
                flags |= CLONE_FLAGS[nstype]
        return flags

    def prepare_pid(self):
        """In the supervisor, before the fork: make or join the PID namespace for children."""
        if "pid" in self.joins:
            libc.setns(self.joins["pid"], libc.CLONE_NEWPID)
        elif self.values.get("pid") == "private":
            try:
                libc.unshare(libc.CLONE_NEWPID)
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                # A restart: the kernel makes a new PID namespace only while
                # pid_for_children is our own, so go back to it first.
                own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
                try:
                    libc.setns(own, libc.CLONE_NEWPID)
                finally:
                    os.close(own)
                libc.unshare(libc.CLONE_NEWPID)

    def enter_others(self):
        """In the child: join shared namespaces, then unshare the private ones."""
        join_namespaces(self.joins)
        flags = self.unshare_flags(("mount", "uts", "ipc", "net", "cgroup"))
        if flags:
            libc.unshare(flags)

    def prepare_user(self, spec, timeout):
        """In the supervisor, before the fork: what ``enter_user`` will need.

        The child enters the user namespace after pivot_root, when the
        executor's files are out of reach: security.userns is imported here,
        and only for a workload that has a user namespace of its own.
        """
        if "user" in self.joins or self.values.get("user") == "private":
            from ..security import userns
            if "user" not in self.joins:
                self.private_user = userns.PrivateUserNamespace(spec, timeout)

    def enter_user(self):
        """In the child, last of its set-up: join or make the user namespace, then be its root.

        Everything made before belongs to the host's user namespace, out of the
        reach of the workload's root.
        """
        if "user" in self.joins:
            from ..security import userns  # imported by prepare_user
            userns.join(self.joins["user"])
        elif self.private_user is not None:
            self.private_user.enter()

    def owns_pid_namespace(self):
        return self.values.get("pid") == "private"

    def close(self):
        for fd in self.joins.values():
            os.close(fd)
        self.joins = {}
        if self.private_user is not None:
            self.private_user.close()


def pidns_ancestry(ns_path):
    """Inodes of the PID namespace at ``ns_path`` and each parent, innermost first.

    Stops at the outermost namespace the caller can see (NS_GET_PARENT says
    EPERM there). Empty if the path is gone.
    """
    try:
        fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    chain = []
    try:
        while len(chain) <= 33:  # the kernel nests PID namespaces 32 deep at most
            chain.append(os.fstat(fd).st_ino)
            try:
                parent_fd = fcntl.ioctl(fd, libc.NS_GET_PARENT)
            except OSError as error:
                if error.errno in (errno.EPERM, errno.ENOTTY, errno.EINVAL):
                    return chain
                raise
            os.close(fd)
            fd = parent_fd
    finally:
        os.close(fd)
    return chain
