# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload's view of the filesystem, built inside its private mount namespace.

Order matters: propagation goes private before any mount, so nothing leaks
back to the host; /proc is mounted after the PID namespace exists so it shows
that namespace; pivot_root comes last and detaches the old root.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ..host import libc

# Device nodes a rootfs gets, bound from the host (as runc's defaults).
DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty")


def make_propagation_private():
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)


def _ensure_target(path, like_file):
    if os.path.lexists(path):
        return
    if like_file:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    else:
        os.makedirs(path, exist_ok=True)


def apply_mount(root, mount):
    target = os.path.join(root, mount["dest"].lstrip("/"))
    if mount["type"] == "tmpfs":
        _ensure_target(target, like_file=False)
        libc.mount("tmpfs", target, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, mount["options"] or None)
        flags = libc.MS_NOSUID | libc.MS_NODEV
    else:
        _ensure_target(target, like_file=not os.path.isdir(mount["src"]))
        libc.mount(mount["src"], target, None, libc.MS_BIND | libc.MS_REC)
        flags = libc.MS_BIND
    if mount["readonly"]:
        # A bind mount only becomes read-only through a remount.
        libc.mount(None, target, None, flags | libc.MS_REMOUNT | libc.MS_RDONLY | libc.MS_BIND)


def mount_proc(root):
    target = os.path.join(root, "proc")
    _ensure_target(target, like_file=False)
    libc.mount("proc", target, "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)


def mount_dev(root):
    """A small /dev: tmpfs with the usual nodes bound in from the host, and /dev/shm."""
    dev = os.path.join(root, "dev")
    _ensure_target(dev, like_file=False)
    libc.mount("tmpfs", dev, "tmpfs", libc.MS_NOSUID, "mode=755,size=64k")
    for node in DEVICE_NODES:
        source = os.path.join("/dev", node)
        if os.path.exists(source):
            target = os.path.join(dev, node)
            open(target, "a").close()
            libc.mount(source, target, None, libc.MS_BIND)
    shm = os.path.join(dev, "shm")
    os.mkdir(shm)
    libc.mount("shm", shm, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC, "mode=1777")
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


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
        mount_dev(rootfs)
    root = rootfs or "/"
    for mount in spec["mounts"]:
        apply_mount(root, mount)
    mount_proc(root)
    if rootfs:
        pivot_into(rootfs)
