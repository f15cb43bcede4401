# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux security modules: an AppArmor profile or an SELinux label for the workload's command.

Applied where the host runs that LSM, by writing the label the next exec
takes (``/proc/self/attr/.../exec``), as runc does; refused, with the reason,
where the host does not: a label that cannot be applied is never dropped in
silence.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

APPARMOR_PROFILES = "/sys/kernel/security/apparmor/profiles"
APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
SELINUX_ENFORCE = "/sys/fs/selinux/enforce"


def _read(path):
    try:
        with open(path) as opened:
            return opened.read()
    except OSError:
        return None


def apparmor_problem(profile):
    """Why ``profile`` cannot be applied on this host, or None when it can."""
    if (_read(APPARMOR_ENABLED) or "").strip() != "Y" or not os.path.exists(APPARMOR_PROFILES):
        return "this host does not run AppArmor (%s is not Y); leave apparmor_profile unset" % APPARMOR_ENABLED
    if profile == "unconfined":
        return None
    loaded = [line.rsplit(" (", 1)[0] for line in (_read(APPARMOR_PROFILES) or "").splitlines()]
    if profile not in loaded:
        return "AppArmor profile %r is not loaded on this host (load it with apparmor_parser)" % profile
    return None


def selinux_problem(_label):
    if not os.path.exists(SELINUX_ENFORCE):
        return "this host does not run SELinux (no %s); leave selinux_label unset" % SELINUX_ENFORCE
    return None


def _write_exec_attribute(lsm, text):
    """The label the next execve takes; the LSM's own attr directory first (Linux 5.1+), then the shared one."""
    for path in ("/proc/self/attr/%s/exec" % lsm, "/proc/self/attr/exec"):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            os.write(fd, text.encode())
            return
        finally:
            os.close(fd)
    raise OSError(2, "%s: no /proc/self/attr exec attribute" % lsm)


def apply(apparmor_profile, selinux_label):
    """Label the coming exec. Runs in the workload, after its /proc is mounted, before the command's exec."""
    if apparmor_profile:
        _write_exec_attribute("apparmor", "exec " + apparmor_profile)
    if selinux_label:
        _write_exec_attribute("selinux", selinux_label)
