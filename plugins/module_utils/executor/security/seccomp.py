# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seccomp: a Docker-format profile compiled by libseccomp, loaded as a plain BPF program.

Compiling needs libseccomp (Debian's libseccomp2, RHEL's libseccomp), loaded
through ctypes on the host side, before the workload's namespaces are
entered: a library is never loaded from a workload's rootfs. Loading the
compiled program needs no library, only prctl(2), so it works after
pivot_root. A host without libseccomp refuses every seccomp value but
``unconfined``: a workload never runs unfiltered by surprise.

Profiles follow Docker's JSON format: defaultAction, defaultErrnoRet,
architectures or archMap, and syscalls entries with names, action, errnoRet,
args and includes/excludes (caps, arches, minKernel).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import os
import struct

from ..host import libc

LIBRARY = "libseccomp.so.2"
_ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
_OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
              "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
EPERM = 1
_NR_SCMP_ERROR = -1
# seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, 2), libseccomp 2.5+: syscalls in a binary tree, not a list.
# The kernel then loads the program in half the time (it runs every syscall number through it once, to
# cache which ones are always allowed), and each filtered syscall takes a few jumps, not hundreds.
_ATTR_CTL_OPTIMIZE = 8
_OPTIMIZE_BINARY_TREE = 2
# Part of a cached program's inputs: programs compiled before the tree are compiled again.
PROGRAM_LAYOUT = b"binary-tree"
# Docker's names for the machine an entry's includes/excludes "arches" match.
_DOCKER_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
                "riscv64": "riscv64", "i686": "386", "mips64": "mips64"}


class SeccompError(RuntimeError):
    """A profile that cannot be compiled, or a host that cannot compile one; the message says why."""


_library = None
_ArgCompare = None  # struct scmp_arg_cmp, made with the library: only a compile needs it


def library():
    """libseccomp, loaded once; SeccompError naming what to install where it is missing."""
    global _library, _ArgCompare
    if _library is None:
        try:
            loaded = ctypes.CDLL(LIBRARY, use_errno=True)
        except OSError:
            raise SeccompError("this host has no %s to build the filter with: install libseccomp (Debian: "
                               "libseccomp2, RHEL: libseccomp), or set seccomp: unconfined to run without a "
                               "filter" % LIBRARY)

        class ArgCompare(ctypes.Structure):
            _fields_ = (("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                        ("datum_b", ctypes.c_uint64))

        _ArgCompare = ArgCompare
        loaded.seccomp_init.restype = ctypes.c_void_p
        loaded.seccomp_init.argtypes = (ctypes.c_uint32,)
        loaded.seccomp_release.argtypes = (ctypes.c_void_p,)
        loaded.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        loaded.seccomp_arch_resolve_name.argtypes = (ctypes.c_char_p,)
        loaded.seccomp_arch_add.argtypes = (ctypes.c_void_p, ctypes.c_uint32)
        loaded.seccomp_syscall_resolve_name.argtypes = (ctypes.c_char_p,)
        loaded.seccomp_rule_add_array.argtypes = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                                  ctypes.POINTER(_ArgCompare))
        loaded.seccomp_export_bpf.argtypes = (ctypes.c_void_p, ctypes.c_int)
        loaded.seccomp_attr_set.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32)
        _library = loaded
    return _library


def action_value(name, errno_ret, default_errno):
    if name == "SCMP_ACT_NOTIFY":
        raise SeccompError("SCMP_ACT_NOTIFY needs a listener, which nsfleet does not run")
    if name not in _ACTIONS:
        raise SeccompError("unknown action %r (known: %s)" % (name, ", ".join(sorted(_ACTIONS))))
    value = _ACTIONS[name]
    if name == "SCMP_ACT_ERRNO":
        value |= (default_errno if errno_ret is None else errno_ret) & 0xFFFF
    elif name == "SCMP_ACT_TRACE":
        value |= (errno_ret or 0) & 0xFFFF
    return value


def _kernel_at_least(version):
    def numbers(text):
        parts = []
        for part in text.split("-")[0].split(".")[:2]:
            digits = "".join(character for character in part if character.isdigit())
            parts.append(int(digits or 0))
        return tuple(parts)
    return numbers(os.uname().release) >= numbers(version)


def applies(entry, capabilities, machine):
    """Whether a syscalls entry is in force for a workload with these capabilities on this machine."""
    arch = _DOCKER_ARCH.get(machine, machine)
    includes = entry.get("includes") or {}
    excludes = entry.get("excludes") or {}
    if includes.get("arches") and arch not in includes["arches"]:
        return False
    if includes.get("caps") and not all(cap in capabilities for cap in includes["caps"]):
        return False
    if includes.get("minKernel") and not _kernel_at_least(includes["minKernel"]):
        return False
    if excludes.get("arches") and arch in excludes["arches"]:
        return False
    if excludes.get("caps") and any(cap in capabilities for cap in excludes["caps"]):
        return False
    return True


def _architectures(profile, machine):
    """The extra architectures to filter: the profile's list, or archMap's sub-architectures of this machine."""
    if profile.get("architectures"):
        return list(profile["architectures"])
    native = "SCMP_ARCH_" + {"i686": "X86", "armv7l": "ARM"}.get(machine, machine.upper())
    for entry in profile.get("archMap") or ():
        if entry.get("architecture") == native:
            return [native] + list(entry.get("subArchitectures") or ())
    return [native]


def _comparisons(args):
    """One rule per comparison set: libseccomp takes one comparison per argument in a rule, as Docker splits them."""
    if not args:
        return [[]]
    indexes = [arg.get("index", 0) for arg in args]
    if len(set(indexes)) == len(indexes):
        return [list(args)]
    return [[arg] for arg in args]


def compile_profile(profile, capabilities):
    """The BPF program (bytes) of a Docker-format ``profile`` for a workload with ``capabilities``."""
    lib = library()
    machine = os.uname().machine
    default_errno = profile.get("defaultErrnoRet", EPERM)
    default_action = action_value(profile.get("defaultAction", "SCMP_ACT_ERRNO"), None, default_errno)
    context = lib.seccomp_init(default_action)
    if not context:
        raise SeccompError("seccomp_init refused the default action")
    try:
        # An older libseccomp refuses the attribute and builds the list: the same filter, slower.
        lib.seccomp_attr_set(context, _ATTR_CTL_OPTIMIZE, _OPTIMIZE_BINARY_TREE)
        for arch_name in _architectures(profile, machine):
            token = lib.seccomp_arch_resolve_name(arch_name.replace("SCMP_ARCH_", "").lower().encode())
            if token == 0:
                raise SeccompError("unknown architecture %r" % arch_name)
            result = lib.seccomp_arch_add(context, token)
            if result < 0 and result != -17:  # -EEXIST: the native one is there from the start
                raise SeccompError("architecture %s: %s" % (arch_name, os.strerror(-result)))
        for index, entry in enumerate(profile.get("syscalls") or ()):
            if applies(entry, capabilities, machine):
                _add_rules(lib, context, index, entry, default_action, default_errno)
        return _export(lib, context)
    finally:
        lib.seccomp_release(context)


def _add_rules(lib, context, index, entry, default_action, default_errno):
    action = action_value(entry.get("action", ""), entry.get("errnoRet"), default_errno)
    if action == default_action:
        return  # libseccomp refuses a rule that changes nothing
    names = list(entry.get("names") or ()) + ([entry["name"]] if entry.get("name") else [])
    for name in names:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number == _NR_SCMP_ERROR:
            continue  # unknown to this libseccomp: as Docker, skipped
        for comparisons in _comparisons(entry.get("args") or ()):
            array = (_ArgCompare * max(1, len(comparisons)))()
            for position, arg in enumerate(comparisons):
                if arg.get("op") not in _OPERATORS:
                    raise SeccompError("syscalls[%d]: unknown op %r" % (index, arg.get("op")))
                array[position] = _ArgCompare(arg.get("index", 0), _OPERATORS[arg["op"]], arg.get("value", 0),
                                              arg.get("valueTwo", 0))
            result = lib.seccomp_rule_add_array(context, action, number, len(comparisons), array)
            if result < 0:
                raise SeccompError("syscalls[%d]: %s: %s" % (index, name, os.strerror(-result)))


def _export(lib, context):
    fd = os.memfd_create("nsfleet-seccomp", os.MFD_CLOEXEC)
    try:
        result = lib.seccomp_export_bpf(context, fd)
        if result < 0:
            raise SeccompError("seccomp_export_bpf: %s" % os.strerror(-result))
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def load(program):
    """Install a compiled program on this thread (and what it execs). Needs no_new_privileges or CAP_SYS_ADMIN."""
    buffer = ctypes.create_string_buffer(program, len(program))
    # struct sock_fprog {unsigned short len; struct sock_filter *filter;}, natively aligned.
    fprog = ctypes.create_string_buffer(struct.pack("@HP", len(program) // 8, ctypes.addressof(buffer)))
    libc.prctl(libc.PR_SET_SECCOMP, libc.SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
