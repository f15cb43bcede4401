# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""User namespaces: entered last, so root inside a workload is not root on the host.

Every other namespace and every mount is made first, with the host's
privilege; the child enters its user namespace only then. What was made
before belongs to the host's user namespace, so the workload's root, which is
privileged only inside its own, can change none of it (mounts, hostname,
network) and is an unprivileged uid on the host (100000 by default).

A private user namespace takes a pipe handshake: the child unshares
CLONE_NEWUSER and says so; the parent, root on the host, writes
/proc/PID/uid_map and gid_map (only a writer with CAP_SETUID above the new
namespace may map ranges other than its own id) and answers; the child then
becomes uid 0 and gid 0 of the new namespace. The supplementary groups of
the host's root are dropped before, with the host's privilege.
/proc/PID/setgroups stays "allow": the kernel asks for "deny" only from an
unprivileged writer, and the workload's root may then set its own groups
(``user`` with supplementary groups, ``su`` inside).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ..host import handshake, libc
from ..spec.schema import DEFAULT_ID_MAP

# The parent's answer once the maps are written; anything else means they are not.
_MAPPED = "mapped"


class UserNamespaceError(RuntimeError):
    pass


def id_maps(spec):
    """(uid_map, gid_map) a private user namespace of ``spec`` gets: the spec's, or the default."""
    return (spec["uid_map"] or list(DEFAULT_ID_MAP), spec["gid_map"] or list(DEFAULT_ID_MAP))


def map_text(id_map):
    """What /proc/PID/uid_map takes: one "inside outside count" line per range, written at once."""
    return "".join("%d %d %d\n" % (line["inside"], line["outside"], line["count"]) for line in id_map)


def drop_host_groups():
    """Before entering: no supplementary group of the host's root may come along.

    Done with the host's privilege, as a namespace with setgroups "deny" would not let it go later.
    """
    os.setgroups([])


def become_root():
    """Become uid 0 and gid 0 of the user namespace just entered."""
    try:
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    except OSError as error:
        if error.errno == errno.EINVAL:
            raise UserNamespaceError("the user namespace maps no uid 0 or gid 0, so the workload has no root in it")
        raise


def join(fd):
    """setns into the user namespace open at ``fd``, then be its root. Joining the one we are in does nothing."""
    try:
        if os.fstat(fd).st_ino == os.stat("/proc/self/ns/user").st_ino:
            return  # sharing a workload that runs in the host's user namespace
    except OSError:
        pass  # no /proc to compare with: setns says whether it may
    drop_host_groups()
    libc.setns(fd, libc.CLONE_NEWUSER)
    become_root()


class PrivateUserNamespace:
    """The handshake that makes one child's private user namespace; made before the fork, used on both sides."""

    def __init__(self, spec, timeout_seconds):
        self.uid_map, self.gid_map = id_maps(spec)
        self.timeout_seconds = timeout_seconds
        self._fds = {}
        try:
            self._fds["unshared_read"], self._fds["unshared_write"] = os.pipe2(os.O_CLOEXEC)
            self._fds["mapped_read"], self._fds["mapped_write"] = os.pipe2(os.O_CLOEXEC)
        except OSError:
            self.close()
            raise

    def child_fds(self):
        """The descriptors the child keeps through its set-up."""
        return {self._fds["unshared_write"], self._fds["mapped_read"]}

    def enter(self):
        """In the child, after the rest of its set-up: unshare, wait for the maps, become root inside."""
        drop_host_groups()
        libc.unshare(libc.CLONE_NEWUSER)
        handshake.send(self._fds.pop("unshared_write"), "unshared", close=True)
        mapped_read = self._fds.pop("mapped_read")
        try:
            answer = handshake.receive(mapped_read, self.timeout_seconds)
        finally:
            os.close(mapped_read)
        if answer != _MAPPED:
            raise UserNamespaceError("the uid and gid maps were not written")
        become_root()

    def map_child(self, pid, timeout_seconds):
        """In the parent, after the fork: write the child's maps once it has unshared.

        Returns None, or why the maps could not be written. None also when the
        child failed before it unshared: its own message says why.
        """
        for name in ("unshared_write", "mapped_read"):
            os.close(self._fds.pop(name))
        try:
            said = handshake.receive(self._fds["unshared_read"], timeout_seconds)
        except handshake.HandshakeTimeout:
            return "set-up did not reach the user namespace within %ss" % timeout_seconds
        if not said:
            return None
        try:
            # gid_map first, as runc does; each file takes all its lines in one write.
            for name, id_map in (("gid_map", self.gid_map), ("uid_map", self.uid_map)):
                _write_proc(pid, name, map_text(id_map))
        except OSError as error:
            return "user namespace: writing %s: %s" % (name, error.strerror or error)
        handshake.send(self._fds["mapped_write"], _MAPPED)
        return None

    def close(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}


def _write_proc(pid, name, text):
    fd = os.open("/proc/%d/%s" % (pid, name), os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)
