"""Giving up a capability for good once its one use is over (CAP_NET_ADMIN, after subscribing to process events).

Capabilities belong to a thread: call this before starting any thread that
should not hold the capability (they inherit the caller's sets).
"""

import ctypes
import errno
import os

CAP_NET_ADMIN = 12
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_LOWER = 3


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capability(capability, libc=None):
    """Remove ``capability`` from this thread's effective, permitted, inheritable and ambient sets.

    Raises OSError if the kernel refuses; dropping one that is not held is no error.
    """
    libc = libc or ctypes.CDLL(None, use_errno=True)
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        _raise("capget")
    word, bit = divmod(capability, 32)
    keep = ~(1 << bit) & 0xFFFFFFFF
    data[word].effective &= keep
    data[word].permitted &= keep
    data[word].inheritable &= keep
    # Ambient first: the kernel drops an ambient capability that is no longer permitted anyway, but says EPERM
    # to lowering one on kernels without ambient sets (before 4.3), which is fine to ignore.
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_LOWER, capability, 0, 0)
    if libc.capset(ctypes.byref(header), data) != 0:
        _raise("capset")


def _raise(call):
    number = ctypes.get_errno() or errno.EPERM
    raise OSError(number, "%s: %s" % (call, os.strerror(number)))
