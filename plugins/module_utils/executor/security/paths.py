# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolving a path inside a root without ever leaving it.

A rootfs belongs to the workload: between two starts it may have swapped a
directory for a symlink to a host path. Every mount destination is resolved
at every start as if the root were ``/`` (symlinks are followed inside it,
``..`` stops at it), and the mount goes onto the opened descriptor, never
onto a path that could change in between. openat2(RESOLVE_IN_ROOT) does this
in the kernel (Linux 5.6+); elsewhere a walk with O_NOFOLLOW does the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ..host import libc

# As the kernel's own bound on symlinks in one lookup.
MAX_SYMLINKS = 40
_OPEN_FLAGS = os.O_PATH | os.O_CLOEXEC


def fd_path(fd):
    """A path naming exactly the file ``fd`` is open on, for calls that take paths (mount)."""
    return "/proc/self/fd/%d" % fd


def open_root(root):
    return os.open(root, _OPEN_FLAGS | os.O_DIRECTORY)


def open_in_root(root_fd, path, create=None):
    """An O_PATH descriptor of ``path`` resolved inside ``root_fd``; the caller closes it.

    ``create``: None, "dir" or "file": what to make when the path is missing
    (its missing parents become directories).
    """
    try:
        return libc.openat2(root_fd, path.lstrip("/") or ".", _OPEN_FLAGS,
                            libc.RESOLVE_IN_ROOT | libc.RESOLVE_NO_MAGICLINKS)
    except OSError as error:
        if error.errno not in (errno.ENOSYS, errno.ENOENT, errno.EPERM):
            raise
        if error.errno == errno.ENOENT and create is None:
            raise
    return walk_in_root(root_fd, path, create)


def walk_in_root(root_fd, path, create=None):
    """What openat2(RESOLVE_IN_ROOT) does, one component at a time."""
    parts = [part for part in path.split("/") if part and part != "."]
    directories = [os.dup(root_fd)]  # from the root down to where the walk is
    symlinks = 0
    try:
        while parts:
            part = parts.pop(0)
            if part == "..":
                if len(directories) > 1:
                    os.close(directories.pop())
                continue
            current = directories[-1]
            try:
                status = os.stat(part, dir_fd=current, follow_symlinks=False)
            except FileNotFoundError:
                if create is None:
                    raise
                _create(current, part, "file" if create == "file" and not parts else "dir")
                parts.insert(0, part)
                continue
            if stat.S_ISLNK(status.st_mode):
                symlinks += 1
                if symlinks > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many symlinks resolving %s" % path)
                target = os.readlink(part, dir_fd=current)
                if target.startswith("/"):
                    while len(directories) > 1:
                        os.close(directories.pop())
                parts[0:0] = [item for item in target.split("/") if item and item != "."]
                continue
            opened = os.open(part, _OPEN_FLAGS | os.O_NOFOLLOW, dir_fd=current)
            mode = os.fstat(opened).st_mode
            if stat.S_ISLNK(mode):  # swapped for a symlink since the stat: resolve it again
                os.close(opened)
                symlinks += 1
                parts.insert(0, part)
                continue
            if parts and not stat.S_ISDIR(mode):
                os.close(opened)
                raise OSError(errno.ENOTDIR, "%s: %s is not a directory" % (path, part))
            directories.append(opened)
        return os.dup(directories[-1])
    finally:
        for fd in directories:
            os.close(fd)


def _create(directory_fd, name, kind):
    try:
        if kind == "dir":
            os.mkdir(name, 0o755, dir_fd=directory_fd)
        else:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                             dir_fd=directory_fd))
    except FileExistsError:
        pass  # made meanwhile: the walk looks at it again
