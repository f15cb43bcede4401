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
    assert "web" in text and text.splitlines()[0].split() == ["PIDNS", "PROCS", "INIT_PID", "WORKLOAD"]
