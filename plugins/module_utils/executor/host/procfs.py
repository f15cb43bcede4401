# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading /proc: process stat, NSpid, namespace ids and the PID mapping.

Every function takes ``proc_root`` so tests can point it at a fixture tree.
A process may vanish between any two reads: callers get ``None`` (or skip
it) rather than an exception.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

NAMESPACE_TYPES = ("pid", "mnt", "uts", "ipc", "net", "user", "cgroup")


class ProcStat:
    __slots__ = ("pid", "comm", "state", "ppid", "start_time")

    def __init__(self, pid, comm, state, ppid, start_time):
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.start_time = start_time


def parse_stat(pid, text):
    """Parse /proc/PID/stat. comm may hold spaces and ')' so split at the last ')'."""
    head, _paren, tail = text.rpartition(")")
    comm = head.partition("(")[2]
    fields = tail.split()
    # fields[0] is field 3 (state); start time is field 22.
    return ProcStat(pid, comm, fields[0], int(fields[1]), int(fields[19]))


def read_stat(pid, proc_root="/proc"):
    try:
        with open("%s/%d/stat" % (proc_root, pid)) as stat_file:
            return parse_stat(pid, stat_file.read())
    except (OSError, IndexError, ValueError):
        return None


def parse_nspid(status_text):
    """The NSpid line of /proc/PID/status: the PID in each namespace, outermost first."""
    for line in status_text.splitlines():
        if line.startswith("NSpid:"):
            return [int(field) for field in line.split()[1:]]
    return []


def read_nspid(pid, proc_root="/proc"):
    try:
        with open("%s/%d/status" % (proc_root, pid)) as status_file:
            return parse_nspid(status_file.read())
    except (OSError, ValueError):
        return []


def parse_namespace_link(link):
    """'pid:[4026532207]' -> 4026532207; None for anything else (an empty or missing link)."""
    if not link or "[" not in link:
        return None
    return int(link[link.index("[") + 1:link.index("]")])


def namespace_inode(pid, nstype="pid", proc_root="/proc"):
    """The inode of a process's namespace: what lsns and the agent call its id."""
    try:
        return parse_namespace_link(os.readlink("%s/%d/ns/%s" % (proc_root, pid, nstype)))
    except OSError:
        return None


def namespace_ids(pid, proc_root="/proc"):
    """{type: "pid:[4026532207]", ...} for every namespace type the kernel shows."""
    ids = {}
    for nstype in NAMESPACE_TYPES:
        try:
            ids[nstype] = os.readlink("%s/%d/ns/%s" % (proc_root, pid, nstype))
        except OSError:
            continue
    return ids


def id_maps(pid, proc_root="/proc"):
    """{"uid_map": [...], "gid_map": [...]} of a process's user namespace, as {inside, outside, count} lines.

    Empty if the process is gone. The host's own namespace shows 0 0 4294967295.
    """
    maps = {}
    for name in ("uid_map", "gid_map"):
        try:
            with open("%s/%d/%s" % (proc_root, pid, name)) as map_file:
                maps[name] = [dict(zip(("inside", "outside", "count"), (int(number) for number in line.split())))
                              for line in map_file if line.strip()]
        except (OSError, ValueError):
            return {}
    return maps


def list_pids(proc_root="/proc"):
    try:
        names = os.listdir(proc_root)
    except OSError:
        return []
    return [int(name) for name in names if name.isdigit()]


def pid_mapping(pidns_inode, is_inside, proc_root="/proc"):
    """Processes visible in the PID namespace ``pidns_inode``, with their PID there.

    ``is_inside(inode, pid)`` says whether ``pid``'s namespace ``inode`` is
    ``pidns_inode`` or one of its descendants; ``level`` of the namespace is found from a member's NSpid.
    Returns a list of dicts sorted by ns_pid: host_pid, ns_pid, ppid (as seen
    inside, 0 for the namespace's init), comm, state.
    """
    members = []
    level = None
    for pid in list_pids(proc_root):
        inode = namespace_inode(pid, "pid", proc_root)
        if inode is None or not is_inside(inode, pid):
            continue
        stat = read_stat(pid, proc_root)
        nspid = read_nspid(pid, proc_root)
        if stat is None or not nspid:
            continue
        if inode == pidns_inode:
            level = len(nspid) - 1
        members.append((stat, nspid))
    if level is None:
        return []
    host_to_ns = dict((stat.pid, nspid[level]) for stat, nspid in members if len(nspid) > level)
    processes = []
    for stat, nspid in members:
        if len(nspid) <= level:
            continue
        processes.append({
            "host_pid": stat.pid,
            "ns_pid": nspid[level],
            "ppid": host_to_ns.get(stat.ppid, 0),
            "comm": stat.comm,
            "state": stat.state,
        })
    processes.sort(key=lambda process: process["ns_pid"])
    return processes


def _unescape_mount_path(text):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    if "\\" not in text:
        return text
    out, index = [], 0
    while index < len(text):
        if text[index] == "\\" and text[index + 1:index + 4].isdigit():
            out.append(chr(int(text[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def mount_points(pid="self", proc_root="/proc"):
    """[(mount point, per-mount options)] of a process's mount namespace, outermost first."""
    found = []
    with open("%s/%s/mountinfo" % (proc_root, pid)) as mountinfo:
        for line in mountinfo:
            fields = line.split(" ")
            found.append((_unescape_mount_path(fields[4]), fields[5].split(",")))
    return found
