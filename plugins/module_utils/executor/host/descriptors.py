# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File descriptor hygiene for forked children.

A child that outlives its parent must not keep the parent's pipes, locks or
logs open: a held pipe end hides EOF from a reader, a held lock fd keeps a
flock taken.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from . import libc

_LAST_FD = 0xFFFFFFFF


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
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
