# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's PID namespaces as a tree, like ``lsns -t pid``, with nsfleet workload names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ..host import procfs
from ..runtime.namespaces import pidns_ancestry


def _workload_names(store):
    """{pidns inode: [workload names]} for running workloads; the namespace's creator first, then sharers."""
    names = {}
    for name in store.names():
        state = store.read_state(name) or {}
        inode = procfs.parse_namespace_link((state.get("namespaces") or {}).get("pid"))
        if state.get("status") != "running" or inode is None:
            continue
        spec = store.read_spec(name) or {}
        owner = (spec.get("namespaces") or {}).get("pid") == "private"
        names.setdefault(inode, []).append((not owner, name))
    return dict((inode, [name for _sharer, name in sorted(found)]) for inode, found in names.items())


def pid_namespaces(store, proc_root="/proc"):
    """Every PID namespace with a process in it, parents before children.

    Each: pidns, parent (None at the top we can see), level (0 for ours),
    processes, init_host_pid and init_comm (None if its init is not visible),
    workloads (the nsfleet workloads in it, its creator first) and workload
    (the first of them, or None).
    """
    found = {}
    for pid in procfs.list_pids(proc_root):
        inode = procfs.namespace_inode(pid, "pid", proc_root)
        if inode is None:
            continue  # exited, or not ours to read
        entry = found.get(inode)
        if entry is None:
            entry = found[inode] = {"pidns": inode, "parent": None, "level": None, "processes": 0,
                                    "init_host_pid": None, "workload": None, "sample": pid}
        entry["processes"] += 1
        if entry["init_host_pid"] is None:
            # Read NSpid only until the namespace's PID 1 turns up (usually its first member).
            nspid = procfs.read_nspid(pid, proc_root)
            if nspid:
                entry["level"] = len(nspid) - 1
                if nspid[-1] == 1:
                    entry["init_host_pid"] = pid
    names = _workload_names(store)
    for entry in found.values():
        chain = pidns_ancestry("%s/%d/ns/pid" % (proc_root, entry.pop("sample")))
        entry["parent"] = chain[1] if len(chain) > 1 else None
        entry["workloads"] = names.get(entry["pidns"], [])
        entry["workload"] = entry["workloads"][0] if entry["workloads"] else None
        init_stat = procfs.read_stat(entry["init_host_pid"], proc_root) if entry["init_host_pid"] else None
        entry["init_comm"] = init_stat.comm if init_stat is not None else None
    return _tree_order(found)


def _tree_order(found):
    children = {}
    for entry in found.values():
        parent = entry["parent"] if entry["parent"] in found else None
        children.setdefault(parent, []).append(entry)
    ordered = []
    pending = sorted(children.get(None, []), key=lambda item: item["pidns"], reverse=True)
    while pending:
        entry = pending.pop()
        ordered.append(entry)
        pending.extend(sorted(children.get(entry["pidns"], []), key=lambda item: item["pidns"], reverse=True))
    return ordered
