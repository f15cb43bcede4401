"""What the fixture /proc tree holds (tests/fixtures/proc/nested), what NS_GET_PARENT would say of it,
the fixture cgroups (tests/fixtures/cgroup), and state files written for a test."""

import json
import os

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "fixtures")
HOST_NS, CHILD_NS, GRANDCHILD_NS = 4026531836, 4026532201, 4026532305
BOOT_ID = "0f6f3e0a-5b4c-4f7e-9d1e-2a3b4c5d6e7f"
CGROUPS = os.path.join(FIXTURES, "cgroup")
CGROUP_V2_LIMITED = {"version": 2, "path": "/nsfleet/web", "dirs": {"unified": os.path.join(CGROUPS, "v2/nsfleet/web")}}
CGROUP_V2_UNLIMITED = {"version": 2, "path": "/nsfleet/free", "dirs": {"unified": os.path.join(CGROUPS, "v2/nsfleet/free")}}
CGROUP_V1 = {"version": 1, "path": "/nsfleet/db", "dirs": {
    "memory": os.path.join(CGROUPS, "v1/memory/nsfleet/db"), "pids": os.path.join(CGROUPS, "v1/pids/nsfleet/db"),
    "cpu": os.path.join(CGROUPS, "v1/cpu,cpuacct/nsfleet/db"), "cpuacct": os.path.join(CGROUPS, "v1/cpu,cpuacct/nsfleet/db")}}
# What NS_GET_PARENT would answer for the fixture tree.
FIXTURE_PARENTS = {CHILD_NS: HOST_NS, GRANDCHILD_NS: CHILD_NS}


def fixture_parent_of(ns_path):
    target = os.readlink(ns_path)
    return FIXTURE_PARENTS.get(int(target[target.index("[") + 1:-1]))


def write_state(state_dir, name, **fields):
    """A schema 1 state.json of a running workload, with ``fields`` on top."""
    state = {"schema": 1, "name": name, "status": "running", "restart_count": 0}
    state.update(fields)
    os.makedirs(os.path.join(state_dir, name), exist_ok=True)
    with open(os.path.join(state_dir, name, "state.json"), "w") as state_file:
        json.dump(state, state_file)
