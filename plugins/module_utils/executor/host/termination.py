# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Killing everything a workload runs, and proving nothing is left.

A workload that owns its PID namespace dies with its init: the kernel kills
every process in the namespace, setsid'd daemons and double-forked
grandchildren included. A workload in a shared or host PID namespace has a
subreaper init, so its orphans stay its descendants and are killed by tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from . import procfs, signals
from .identity import ProcessIdentity

KILL_ROUNDS = 50


def descendants(root_pid, proc_root="/proc"):
    """Host PIDs of every live descendant of ``root_pid`` (not root_pid itself)."""
    children = {}
    for pid in procfs.list_pids(proc_root):
        stat = procfs.read_stat(pid, proc_root)
        if stat is not None:
            children.setdefault(stat.ppid, []).append(stat)
    found = []
    pending = [root_pid]
    while pending:
        for stat in children.get(pending.pop(), ()):
            found.append(ProcessIdentity(stat.pid, stat.start_time))
            pending.append(stat.pid)
    return found


def kill_descendants(root_pid):
    """SIGKILL every descendant of ``root_pid``, again for any forked meanwhile; bounded."""
    for _round in range(KILL_ROUNDS):
        victims = [victim for victim in descendants(root_pid) if victim.is_alive()]
        if not victims:
            return
        for victim in victims:
            victim.send_signal(signals.SIGKILL)
        time.sleep(0.01)


def kill_workload(init_identity, owns_pid_namespace):
    """SIGKILL the workload's processes. Returns once init is signalled (or gone)."""
    if not owns_pid_namespace and init_identity.is_alive():
        # Children first, while init still holds them as a subreaper.
        kill_descendants(init_identity.pid)
    init_identity.send_signal(signals.SIGKILL)
