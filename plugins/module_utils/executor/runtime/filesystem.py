# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload's view of the filesystem, built inside its private mount namespace.

Order matters: propagation goes private before any mount, so nothing leaks
back to the host; /proc is mounted after the PID namespace exists so it shows
that namespace; pivot_root comes last and detaches the old root.

What a workload sees is what runc gives a container, with or without a
rootfs: a minimal /dev, /proc with the kernel's sensitive files masked and
its tunables read-only, /sys read-only. Every destination inside the root is
resolved inside it at every start (``security.paths``): a rootfs cannot lead
a mount out to the host through a symlink it planted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ..host import libc, procfs
from ..security import paths
from ..spec.schema import MOUNT_FLAG_OPTIONS as MOUNT_FLAG_NAMES, MOUNT_NEUTRAL_OPTIONS

# Device nodes every workload gets, bound from the host (as runc's defaults).
DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty")
# As runc's default spec: hidden (a file becomes /dev/null, a directory an
# empty read-only tmpfs), and read-only.
MASKED_PATHS = ("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap")
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
# Per-mount flags a mount's ``options`` may set; the rest of a tmpfs's options go to the kernel.
MOUNT_FLAG_OPTIONS = dict((name, getattr(libc, "MS_RDONLY" if name == "ro" else "MS_" + name.upper()))
                          for name in MOUNT_FLAG_NAMES)
# What a remount keeps of a mount's flags, by their mountinfo names.
_KEPT_FLAGS = {"ro": libc.MS_RDONLY, "nosuid": libc.MS_NOSUID, "nodev": libc.MS_NODEV, "noexec": libc.MS_NOEXEC}


def make_propagation_private():
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)


def split_mount_options(options):
    """'ro,noexec,size=1m' -> (MS_RDONLY | MS_NOEXEC, 'size=1m')."""
    flags, data = 0, []
    for option in (options or "").split(","):
        if option in MOUNT_FLAG_OPTIONS:
            flags |= MOUNT_FLAG_OPTIONS[option]
        elif option and option not in MOUNT_NEUTRAL_OPTIONS:
            data.append(option)
    return flags, ",".join(data) or None


class _Root:
    """The root the workload will see, open: every path below is resolved inside it."""

    def __init__(self, path, may_create):
        self.path = path
        self.fd = paths.open_root(path)
        self.may_create = may_create  # only inside a rootfs: the host's tree is never added to

    def open(self, path, create=None):
        return paths.open_in_root(self.fd, path, create if self.may_create else None)

    def mount_on(self, path, source, fstype, flags, data=None, create="dir"):
        target = self.open(path, create)
        try:
            libc.mount(source, paths.fd_path(target), fstype, flags, data)
        finally:
            os.close(target)

    def remount(self, path, flags):
        """Set a mount's per-mount flags (read-only and friends) on what ``path`` now names."""
        self.mount_on(path, None, None, libc.MS_REMOUNT | libc.MS_BIND | flags, create=None)

    def close(self):
        os.close(self.fd)


class _HostDevices:
    """Descriptors of host device nodes, opened before /dev is covered."""

    def __init__(self, names):
        self.fds = {}
        for name in names:
            try:
                self.fds[name] = os.open(os.path.join("/dev", name), os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a host without it: the workload goes without too

    def close(self):
        for fd in self.fds.values():
            os.close(fd)


def apply_mount(root, mount):
    flags, data = split_mount_options(mount["options"])
    if mount["readonly"]:
        flags |= libc.MS_RDONLY
    if mount["type"] == "tmpfs":
        root.mount_on(mount["dest"], "tmpfs", "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | flags, data)
        return
    root.mount_on(mount["dest"], mount["src"], None, libc.MS_BIND | libc.MS_REC,
                  create="dir" if os.path.isdir(mount["src"]) else "file")
    if flags:
        # A bind mount takes its flags only through a remount.
        root.remount(mount["dest"], flags)


def mount_dev(root, host_devices, extra_devices):
    """A minimal /dev: tmpfs with the usual nodes bound in from the host, pts, shm, and what ``devices`` adds."""
    root.mount_on("/dev", "tmpfs", "tmpfs", libc.MS_NOSUID | libc.MS_NOEXEC, "mode=755,size=64k")
    dev_fd = root.open("/dev")
    try:
        for name, source_fd in sorted(host_devices.fds.items()):
            _bind_node(dev_fd, name, source_fd)
        for path in extra_devices:
            _bind_extra_device(dev_fd, path)
        os.mkdir("pts", 0o755, dir_fd=dev_fd)
        os.mkdir("shm", 0o1777, dir_fd=dev_fd)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                             ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):
            os.symlink(target, name, dir_fd=dev_fd)
    finally:
        os.close(dev_fd)
    root.mount_on("/dev/pts", "devpts", "devpts", libc.MS_NOSUID | libc.MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=0620", create=None)
    root.mount_on("/dev/shm", "shm", "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC, "mode=1777,size=64m",
                  create=None)


def _bind_node(dev_fd, name, source_fd):
    target_fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644,
                        dir_fd=dev_fd)
    os.close(target_fd)
    target_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dev_fd)
    try:
        libc.mount(paths.fd_path(source_fd), paths.fd_path(target_fd), None, libc.MS_BIND)
    finally:
        os.close(target_fd)


def _bind_extra_device(dev_fd, host_path):
    """A device from ``devices``: the same path under the workload's /dev."""
    relative = os.path.relpath(host_path, "/dev")
    directory_fd = paths.open_in_root(dev_fd, os.path.dirname(relative) or ".", create="dir")
    source_fd = os.open(host_path, os.O_PATH | os.O_CLOEXEC)
    try:
        _bind_node(directory_fd, os.path.basename(relative), source_fd)
    finally:
        os.close(source_fd)
        os.close(directory_fd)


def bind_host_dev(root):
    """``host_dev``: the host's /dev as it is, for the workloads that need it."""
    root.mount_on("/dev", "/dev", None, libc.MS_BIND | libc.MS_REC)


def mount_proc(root):
    root.mount_on("/proc", "proc", "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)


def mount_fresh_sys(root):
    """In a rootfs, a sysfs of its own, read-only. (Without one, ``protect_mounts`` makes the host's read-only.)"""
    root.mount_on("/sys", "sysfs", "sysfs", libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)


def _under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def _remount_each(root, added_flags_of):
    """Add ``added_flags_of(path inside the root)`` to every mount inside the root, keeping the flags each has.

    One read of the mount table and at most one remount per mount, however many rules add flags to it.
    A remount reaches only the top mount of a path, so the flags kept are the top one's: a mount
    covered by another (the host's /proc under the workload's) must not lend the top one its flags.
    """
    top_options = dict(procfs.mount_points())  # in mount order: each path's last entry is its top mount
    for mount_point, options in top_options.items():
        if not _under(mount_point, root.path):
            continue
        inside = "/" + os.path.relpath(mount_point, root.path).lstrip(".")
        added_flags = added_flags_of(inside)
        kept = 0
        for option in options:
            kept |= _KEPT_FLAGS.get(option, 0)
        if kept & added_flags == added_flags:
            continue
        try:
            root.remount(inside, kept | added_flags)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue  # covered by another mount, or a mount the kernel keeps as it is


def protect_mounts(root, host_sys, refuse_devices):
    """The last pass over the mounts: ``host_sys`` read-only, and ``refuse_devices``: nodev but in /dev.

    Without a rootfs /sys is the host's, with every mount below it: all become
    read-only here. Device nodes work only in the workload's own /dev: a root
    command keeps CAP_MKNOD, as in Docker, and where Docker's device cgroup
    stops a node it made from being opened, nodev does here.
    """
    def added_flags_of(inside):
        flags = 0
        if host_sys and _under(inside, "/sys"):
            flags |= libc.MS_RDONLY
        if refuse_devices and not _under(inside, "/dev"):
            flags |= libc.MS_NODEV
        return flags

    if host_sys:
        # The host's /sys holds a dozen mounts (cgroups, security, debug...): one call, where the kernel can.
        _set_on_tree(root, "/sys", libc.MOUNT_ATTR_RDONLY | (libc.MOUNT_ATTR_NODEV if refuse_devices else 0))
    if host_sys or refuse_devices:
        _remount_each(root, added_flags_of)  # what is still missing: all of it before Linux 5.12


def _set_on_tree(root, path, attributes):
    """mount_setattr on ``path`` and every mount below it; nothing where the kernel cannot (the pass does it)."""
    try:
        target = root.open(path)
    except OSError:
        return
    try:
        libc.mount_setattr(target, attributes)
    except OSError:
        pass  # before Linux 5.12, or a mount below that refuses: _remount_each goes one by one
    finally:
        os.close(target)


def mask_and_protect(root, null_fd):
    for path in MASKED_PATHS:
        try:
            target = root.open(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            if stat.S_ISDIR(os.fstat(target).st_mode):
                libc.mount("tmpfs", paths.fd_path(target), "tmpfs", libc.MS_RDONLY, "size=0")
            else:
                libc.mount(paths.fd_path(null_fd), paths.fd_path(target), None, libc.MS_BIND)
        finally:
            os.close(target)
    for path in READONLY_PATHS:
        try:
            root.mount_on(path, path, None, libc.MS_BIND | libc.MS_REC, create=None)
        except FileNotFoundError:
            continue
        root.remount(path, libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)


def pivot_into(rootfs):
    """Make ``rootfs`` the root and detach the old one, so no host path stays reachable."""
    os.chdir(rootfs)
    # pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." drops it.
    libc.pivot_root(".", ".")
    libc.umount2(".", libc.MNT_DETACH)
    os.chdir("/")


def build(spec):
    """Everything the mount namespace needs, in order. Runs as the namespace's first process."""
    make_propagation_private()
    rootfs = spec["rootfs"]
    if rootfs:
        # pivot_root needs the new root to be a mount point.
        libc.mount(rootfs, rootfs, None, libc.MS_BIND | libc.MS_REC)
    host_devices = _HostDevices(DEVICE_NODES)
    root = _Root(rootfs or "/", may_create=bool(rootfs))
    try:
        if spec["host_dev"]:
            if rootfs:
                bind_host_dev(root)
        else:
            mount_dev(root, host_devices, spec["devices"])
        for mount in spec["mounts"]:
            apply_mount(root, mount)
        mount_proc(root)
        if rootfs:
            mount_fresh_sys(root)
        if "null" in host_devices.fds:
            mask_and_protect(root, host_devices.fds["null"])
        protect_mounts(root, host_sys=not rootfs, refuse_devices=not spec["host_dev"])
        if spec["readonly_rootfs"]:
            root.remount("/", libc.MS_RDONLY)
    finally:
        root.close()
        host_devices.close()
    if rootfs:
        pivot_into(rootfs)
