# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The few libc calls the standard library does not wrap, each checked.

Every failure becomes ``OSError(errno, message)`` naming the call, so callers
handle one exception type. Nothing here decides policy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import os
import struct

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2

# NS_GET_PARENT = _IO(0xb7, 0x2)
NS_GET_PARENT = 0xB702
# NS_GET_NSTYPE = _IO(0xb7, 0x3): a namespace file's CLONE_NEW* type
NS_GET_NSTYPE = 0xB703

# pivot_root has no glibc wrapper on older systems.
_SYS_PIVOT_ROOT = {
    "x86_64": 155,
    "aarch64": 41,
    "riscv64": 41,
    "ppc64le": 203,
    "s390x": 217,
    "armv7l": 218,
}

_libc = None


def _load():
    """libc with every prototype set once: a start makes about a hundred of these calls."""
    global _libc
    if _libc is None:
        # The interpreter already links libc; find_library would fork ldconfig.
        loaded = ctypes.CDLL(None, use_errno=True)
        ulong = ctypes.c_ulong
        loaded.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ulong, ctypes.c_char_p)
        loaded.prctl.argtypes = (ctypes.c_int, ulong, ulong, ulong, ulong)
        loaded.syscall.restype = ctypes.c_long
        _libc = loaded
    return _libc


def _fail(call, detail=""):
    err = ctypes.get_errno()
    raise OSError(err, "%s%s: %s" % (call, detail, os.strerror(err)))


def _check(result, call, detail=""):
    if result == -1:
        _fail(call, detail)
    return result


def _path(value):
    return None if value is None else os.fsencode(value)


def unshare(flags):
    _check(_load().unshare(ctypes.c_int(flags)), "unshare")


def setns(fd, nstype):
    _check(_load().setns(ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def mount(source, target, fstype, flags=0, data=None):
    if _load().mount(_path(source), _path(target), _path(fstype), flags, _path(data)) == -1:
        _fail("mount", " %s on %s" % (source or fstype, target))


def sethostname(name):
    encoded = os.fsencode(name)
    _check(_load().sethostname(encoded, ctypes.c_size_t(len(encoded))), "sethostname")


def umount2(target, flags=0):
    _check(_load().umount2(_path(target), ctypes.c_int(flags)), "umount2", " " + target)


def pivot_root(new_root, put_old):
    machine = os.uname().machine
    number = _SYS_PIVOT_ROOT.get(machine)
    if number is None:
        raise OSError(38, "pivot_root: unsupported machine %s" % machine)
    _check(_load().syscall(ctypes.c_long(number), _path(new_root), _path(put_old)), "pivot_root")


def prctl(option, arg2=0, arg3=0):
    if _load().prctl(option, arg2, arg3, 0, 0) == -1:
        _fail("prctl", " %d" % option)


def capget(header, data):
    _check(_load().capget(header, data), "capget")


def capset(header, data):
    """capset(2) with a ctypes header and data array (see ``security.capabilities``)."""
    _check(_load().capset(header, data), "capset")


PR_SET_NAME = 15


def set_process_name(name):
    """Set comm (what ps and the agent show); the kernel keeps 15 bytes."""
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write(name[:15])
    except PermissionError:
        # In a user namespace our /proc files belong to the host's root (we are not dumpable): ask the kernel.
        encoded = ctypes.create_string_buffer(name[:15].encode("utf-8"))
        prctl(PR_SET_NAME, ctypes.addressof(encoded))


# close_range(2), Linux 5.9+ (CLOSE_RANGE_CLOEXEC 5.11+): the same number on every architecture.
_SYS_CLOSE_RANGE = 436
CLOSE_RANGE_CLOEXEC = 0x4


def close_range(first, last, flags=0):
    """close_range(2); OSError(ENOSYS or EINVAL) where the kernel is older."""
    _check(_load().syscall(ctypes.c_long(_SYS_CLOSE_RANGE), ctypes.c_uint(first), ctypes.c_uint(last),
                           ctypes.c_uint(flags)), "close_range")


# mount_setattr(2), Linux 5.12+: the same number on every architecture.
_SYS_MOUNT_SETATTR = 442
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NODEV = 0x4


def mount_setattr(fd, attr_set, recursive=True):
    """Add ``attr_set`` (MOUNT_ATTR_*) to the mount ``fd`` is open on and, ``recursive``, to every mount below it.

    All or nothing; OSError(ENOSYS) where the kernel is older.
    """
    attr = ctypes.create_string_buffer(struct.pack("=4Q", attr_set, 0, 0, 0))  # struct mount_attr
    flags = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    _check(_load().syscall(ctypes.c_long(_SYS_MOUNT_SETATTR), ctypes.c_int(fd), b"", ctypes.c_uint(flags), attr,
                           ctypes.c_size_t(32)), "mount_setattr")


# openat2(2), Linux 5.6+: the same number on every architecture.
_SYS_OPENAT2 = 437
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = (("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64))


def openat2(dir_fd, path, flags, resolve):
    """openat2 with ``resolve`` flags; OSError(ENOSYS) where the kernel is older."""
    how = _OpenHow(flags, 0, resolve)
    result = _load().syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dir_fd), _path(path), ctypes.byref(how),
                             ctypes.c_size_t(ctypes.sizeof(how)))
    return _check(result, "openat2", " " + path)
