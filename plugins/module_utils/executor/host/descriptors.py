# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File descriptor hygiene for forked children and for the commands they exec.

A child that outlives its parent must not keep the parent's pipes, locks or
logs open: a held pipe end hides EOF from a reader, a held lock fd keeps a
flock taken.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from . import libc

_LAST_FD = 0xFFFFFFFF


def _past_stderr():
    """The open descriptors above stderr (the listing's own among them, closed by the time it is used)."""
    return [int(entry) for entry in os.listdir("/proc/self/fd") if int(entry) > 2]


def close_all_except(keep):
    """Close every fd above stderr that is not in ``keep``."""
    try:
        first = 3
        for fd in sorted(set(keep)):
            if fd >= first:
                if fd > first:
                    libc.close_range(first, fd - 1)
                first = fd + 1
        libc.close_range(first, _LAST_FD)
        return
    except OSError:
        pass  # a kernel before 5.9: one descriptor at a time
    for fd in _past_stderr():
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def close_on_exec_past_stderr():
    """Every fd above stderr becomes close-on-exec: only 0, 1 and 2 reach an exec'd command."""
    try:
        libc.close_range(3, _LAST_FD, libc.CLOSE_RANGE_CLOEXEC)
        return
    except OSError:
        pass  # a kernel before 5.11: one descriptor at a time
    for fd in _past_stderr():
        try:
            os.set_inheritable(fd, False)  # FD_CLOEXEC
        except OSError:
            pass


def inherited():
    """The fds above stderr that an exec would keep: those this process was given by its caller."""
    found = []
    for fd in _past_stderr():
        try:
            if os.get_inheritable(fd):
                found.append(fd)
        except OSError:
            continue
    return found
