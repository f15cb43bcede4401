"""Shared and nested PID namespaces, and their PID mappings."""

import os

from nsfleet_cli import NSFLEET, wait_for


def nspid(host_pid):
    with open("/proc/%d/status" % host_pid) as status:
        for line in status:
            if line.startswith("NSpid:"):
                return [int(field) for field in line.split()[1:]]
    return []


def pidns(host_pid):
    return os.readlink("/proc/%d/ns/pid" % host_pid)


def test_two_workloads_share_one_pid_namespace(nsfleet):
    first = nsfleet.detach("first", "/bin/sleep", "1000")
    second = nsfleet.detach("second", "/bin/sleep", "1001", options=("--ns", "pid=workload:first"))
    assert pidns(second["init_host_pid"]) == pidns(first["init_host_pid"])
    assert second["namespaces"]["pid"] == first["namespaces"]["pid"]
    # Different mount namespaces, each with a /proc showing the shared PID namespace.
    assert second["namespaces"]["mnt"] != first["namespaces"]["mnt"]
    seen_by_first = {p["host_pid"]: p["ns_pid"] for p in nsfleet.inspect("first")["processes"]}
    assert second["init_host_pid"] in seen_by_first
    assert seen_by_first[first["init_host_pid"]] == 1
    listed = nsfleet("exec", "second", "--", "/bin/ls", "/proc").stdout.split()
    assert set(str(pid) for pid in seen_by_first.values()) <= set(listed)


def test_sharing_a_workload_that_is_not_running_fails_clearly(nsfleet):
    nsfleet("create", "--spec", "-", stdin='{"name": "idle", "command": ["/bin/true"]}')
    result = nsfleet("run", "--detach", "--name", "joiner", "--ns", "pid=workload:idle", "--", "/bin/true",
                     check=False)
    assert result.returncode == 1 and "not running" in result.stderr


def test_destroying_a_sharer_leaves_the_owner_running(nsfleet):
    nsfleet.detach("owner", "/bin/sleep", "1000")
    nsfleet.detach("sharer", "/bin/sh", "-c", "sleep 1001 & sleep 1002", options=("--ns", "pid=workload:owner"))
    nsfleet("rm", "sharer")
    comms = sorted(p["comm"] for p in nsfleet.inspect("owner")["processes"])
    assert comms == ["nsfleet-init", "sleep"]


def test_nested_namespace_maps_correctly(nsfleet):
    # The outer workload runs nsfleet itself, which makes a PID namespace inside the outer one: a runtime
    # inside a workload needs what a privileged container gets (every capability, no seccomp filter).
    inner_state = os.path.join(nsfleet.state_dir, "inner")
    outer = nsfleet.detach("outer", NSFLEET, "--state-dir", inner_state, "run", "--rm", "--", "/bin/sleep", "1000",
                           options=("--cap-add", "ALL", "--seccomp", "unconfined"))

    def nested_ready():
        processes = nsfleet.inspect("outer")["processes"]
        return processes if any(p["comm"] == "sleep" for p in processes) else None

    processes = wait_for(nested_ready)
    assert processes
    outer_pidns = pidns(outer["init_host_pid"])
    level = len(nspid(outer["init_host_pid"])) - 1
    inner = [p for p in processes if pidns(p["host_pid"]) != outer_pidns]
    assert inner, "expected processes of the nested namespace"
    for process in processes:
        assert process["ns_pid"] == nspid(process["host_pid"])[level]
    sleeper = [p for p in processes if p["comm"] == "sleep"][0]
    assert nspid(sleeper["host_pid"])[-1] == 2  # PID 2 of the inner namespace, under its init
    assert len(nspid(sleeper["host_pid"])) == level + 2


def test_every_namespace_in_force_is_in_the_workload_object(nsfleet):
    workload = nsfleet.detach("isolated", "/bin/sleep", "1000", options=(
        "--ns", "net=private", "--ns", "ipc=private", "--ns", "cgroup=private", "--hostname", "isolated"))
    init = workload["init_host_pid"]
    kinds = ("pid", "mnt", "uts", "ipc", "net", "cgroup", "user")
    in_force = dict((kind, os.readlink("/proc/%d/ns/%s" % (init, kind))) for kind in kinds)
    host = dict((kind, os.readlink("/proc/self/ns/%s" % kind)) for kind in kinds)
    assert workload["namespaces"] == in_force
    assert nsfleet.inspect("isolated")["namespaces"] == in_force
    assert [kind for kind in kinds if in_force[kind] == host[kind]] == ["user"]
