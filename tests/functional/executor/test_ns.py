"""nsfleet ns: the host's PID namespace tree, checked against lsns."""

import json
import os
import subprocess

from nsfleet_cli import NSFLEET, wait_for


def pidns_of(pid):
    link = os.readlink("/proc/%d/ns/pid" % pid)
    return int(link[link.index("[") + 1:-1])


def test_namespace_tree_with_workload_names(nsfleet):
    # A runtime inside a workload needs what a privileged container gets.
    web = nsfleet.detach("web", NSFLEET, "--state-dir", os.path.join(nsfleet.state_dir, "inner"), "run", "--rm", "--",
                         "/bin/sleep", "600", options=("--cap-add", "ALL", "--seccomp", "unconfined"))
    nsfleet.detach("sidecar", "/bin/sleep", "601", options=("--ns", "pid=workload:web"))
    web_ns = pidns_of(web["init_host_pid"])

    def nested_namespace():
        tree = nsfleet.json("ns", "--json")
        return tree if [entry for entry in tree if entry["parent"] == web_ns] else None

    tree = wait_for(nested_namespace)
    assert tree
    by_ns = dict((entry["pidns"], entry) for entry in tree)
    nested = [entry for entry in tree if entry["parent"] == web_ns][0]
    host_ns = by_ns[web_ns]["parent"]
    assert by_ns[host_ns]["level"] == 0 and by_ns[host_ns]["parent"] is None
    assert (by_ns[web_ns]["level"], by_ns[web_ns]["workload"], by_ns[web_ns]["init_host_pid"]) == (
        1, "web", web["init_host_pid"])  # the owner names it, not the sidecar sharing it
    assert (nested["level"], nested["workload"]) == (2, None)
    assert [entry["pidns"] for entry in tree].index(web_ns) < [entry["pidns"] for entry in tree].index(
        nested["pidns"])  # parents first
    listed = json.loads(subprocess.run(["lsns", "-t", "pid", "-J", "-o", "NS,NPROCS"], capture_output=True,
                                       text=True, check=True).stdout)["namespaces"]
    nprocs = dict((int(entry["ns"]), int(entry["nprocs"])) for entry in listed)
    assert by_ns[web_ns]["processes"] == nprocs[web_ns] == 4  # init, nested nsfleet, sidecar's init and sleep
    assert nested["processes"] == nprocs[nested["pidns"]] == 2
    text = nsfleet("ns").stdout
    assert "web,sidecar" in text and text.splitlines()[0].split() == ["PIDNS", "PROCS", "INIT_PID", "COMM", "WORKLOAD"]
    # Every workload in a namespace, its creator first; the init's comm as the host sees it.
    assert by_ns[web_ns]["workloads"] == ["web", "sidecar"] and nested["workloads"] == []
    assert by_ns[web_ns]["init_comm"] == "nsfleet-init" and nested["init_comm"] == "nsfleet-init"
    assert by_ns[host_ns]["init_comm"] in ("systemd", "init", "tini", "docker-init", "dumb-init", "sh", "bash") or \
        by_ns[host_ns]["init_comm"] is None or by_ns[host_ns]["init_host_pid"] == 1


def test_every_quiet_namespace_and_its_count_equal_lsns(nsfleet):
    """Other processes come and go on a shared machine: every namespace whose count did not change while
    lsns ran (nsfleet read before and after) must agree with it, and so must the set of namespaces."""
    nsfleet.detach("counted", "/bin/sh", "-c", "sleep 600 & sleep 601 & exec sleep 602")
    assert wait_for(lambda: len(nsfleet.inspect("counted")["processes"]) == 4)
    counted_ns = pidns_of(nsfleet.inspect("counted")["init_host_pid"])

    def counts():
        return dict((entry["pidns"], entry["processes"]) for entry in nsfleet.json("ns", "--json"))

    for _attempt in range(10):
        before = counts()
        lsns = subprocess.run(["lsns", "-t", "pid", "-J", "-o", "NS,NPROCS"], capture_output=True, text=True,
                              check=False)
        after = counts()
        if lsns.returncode == 0:  # lsns fails when a process it listed exits before it reads it
            break
    theirs = dict((int(entry["ns"]), int(entry["nprocs"])) for entry in json.loads(lsns.stdout)["namespaces"])
    quiet = set(namespace for namespace in before if after.get(namespace) == before[namespace])
    assert counted_ns in quiet and theirs[counted_ns] == before[counted_ns] == 4
    assert len(quiet) > len(before) / 2, "the host is too busy to compare"
    assert dict((ns, theirs.get(ns)) for ns in quiet) == dict((ns, before[ns]) for ns in quiet)
    assert set(theirs) <= set(before) | set(after)
