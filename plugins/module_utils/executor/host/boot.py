# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which boot this is: the kernel's boot id, recorded with every state so a reboot is noticed.

A PID and its start time only mean something within one boot: after a
reboot, a recorded PID may belong to any process. ``NSFLEET_BOOT_ID``
replaces the kernel's id, so tests can simulate a reboot; nothing outside
this file reads it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"
BOOT_ID_ENV = "NSFLEET_BOOT_ID"

_cached = []


def current_boot_id():
    """The boot id (a UUID), read once per process; None where the kernel does not tell."""
    if not _cached:
        _cached.append(os.environ.get(BOOT_ID_ENV) or _read_kernel_boot_id())
    return _cached[0]


def _read_kernel_boot_id():
    try:
        with open(BOOT_ID_PATH) as boot_id_file:
            return boot_id_file.read().strip() or None
    except OSError:
        return None


def is_earlier_boot(recorded_boot_id):
    """Whether a record was written in another boot; records without a boot id (release 0.1) are trusted."""
    current = current_boot_id()
    return bool(recorded_boot_id) and current is not None and recorded_boot_id != current
