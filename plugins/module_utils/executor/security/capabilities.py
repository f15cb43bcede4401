# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux capabilities: names, the set a workload gets, and dropping the rest.

A workload's command gets Docker's default set, changed by the spec's
``capabilities: {add, drop}`` as Docker's --cap-add/--cap-drop change it:
``ALL`` in add means every capability (minus the drops), ``ALL`` in drop
means only what add names. The set bounds the command (bounding set); a root
command has it as permitted and effective; a non-root command gets none
(setuid clears them, as in Docker). Inheritable and ambient are always empty,
so nothing passes through an exec without a file capability.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno

from ..host import libc

# capability.h order: the index is the capability's number.
NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
NUMBERS = dict((name, number) for number, name in enumerate(NAMES))
# Docker's default set: CapEff 00000000a80425fb for a root command.
DEFAULT = frozenset((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
    "CAP_AUDIT_WRITE",
))
ALL = "ALL"

PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def normalise_name(name):
    """'net_admin', 'CAP_NET_ADMIN', 'all' -> 'CAP_NET_ADMIN', 'ALL'; KeyError for an unknown name."""
    text = str(name).strip().upper()
    if text == ALL:
        return ALL
    if not text.startswith("CAP_"):
        text = "CAP_" + text
    if text not in NUMBERS:
        raise KeyError(name)
    return text


def effective_set(add, drop):
    """The capability names a workload's bounding set holds, from normalised ``add`` and ``drop``."""
    if ALL in add:
        return frozenset(NAMES) - frozenset(drop)
    if ALL in drop:
        return frozenset(add)
    return (DEFAULT - frozenset(drop)) | frozenset(add)


def last_supported():
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as last_cap:
            return int(last_cap.read())
    except (OSError, ValueError):
        return NUMBERS["CAP_AUDIT_READ"]  # Linux 3.16's, where the file may be missing


def mask(names):
    """The bitmask of ``names``, as /proc/PID/status shows it."""
    value = 0
    for name in names:
        value |= 1 << NUMBERS[name]
    return value


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32))


# Version 3 takes two of them (capabilities 0-31, 32-63). Made once: a ctypes array type costs a
# tenth of a millisecond to make, and the child that confines a command has none to spare.
_DataPair = _Data * 2


def drop_bounding(keep):
    """Drop every capability not in ``keep`` from the bounding set (needs CAP_SETPCAP, so before setuid)."""
    keep_numbers = frozenset(NUMBERS[name] for name in keep)
    number = 0
    while True:
        if number not in keep_numbers:
            try:
                libc.prctl(PR_CAPBSET_DROP, number)
            except OSError as error:
                if error.errno == errno.EINVAL:
                    return  # past the kernel's last capability (a kept one is never past it: validated)
                raise
        number += 1


def _permitted_now():
    data = _DataPair()
    libc.capget(ctypes.byref(_Header(_LINUX_CAPABILITY_VERSION_3, 0)), data)
    return data[0].permitted | (data[1].permitted << 32)


def set_process_sets(names):
    """Permitted and effective become ``names`` (those this process still holds); inheritable and ambient empty.

    A capability the executor itself lacks (a restricted host) cannot be given, only left out.
    """
    value = mask(names) & _permitted_now()
    data = _DataPair()
    for index in (0, 1):
        part = (value >> (32 * index)) & 0xFFFFFFFF
        data[index].effective = part
        data[index].permitted = part
        data[index].inheritable = 0
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    libc.capset(ctypes.byref(header), data)
    try:
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError as error:
        if error.errno != errno.EINVAL:  # a kernel before 4.3 has no ambient set, so nothing to clear
            raise
