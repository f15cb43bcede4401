"""An upgrade never restarts a running workload whose task did not change.

Workloads are created and started by each earlier release's own executor
(kept in tests/fixtures/releases/<version>/nsfleet), then driven with this
release's: the same task changes nothing and keeps the same init process.
"""

import glob
import json
import os
import subprocess

import pytest
from nsfleet_cli import Nsfleet, alive, wait_for

RELEASES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "fixtures", "releases")
OLD_EXECUTORS = sorted(glob.glob(os.path.join(RELEASES, "*", "nsfleet")))


def _tasks(release_dir):
    tasks = {}
    for path in sorted(glob.glob(os.path.join(release_dir, "tasks", "*.json"))):
        with open(path) as task_file:
            task = json.load(task_file)
        tasks[task["name"]] = task
    return tasks


def _old(executor, state_dir, *args, stdin=None):
    result = subprocess.run(["/usr/bin/python3", "-IS", executor, "--state-dir", state_dir] + list(args),
                            input=stdin, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("executor", OLD_EXECUTORS, ids=lambda path: os.path.basename(os.path.dirname(path)))
def test_running_workloads_survive_an_upgrade(executor, tmp_path):
    state_dir = str(tmp_path / "host")
    tasks = _tasks(os.path.dirname(executor))
    # "plain" first: "sidecar" joins its PID namespace.
    order = sorted(tasks, key=lambda name: name != "plain")
    before = {}
    for name in order:
        _old(executor, state_dir, "create", "--spec", "-", stdin=json.dumps(tasks[name]))
        before[name] = _old(executor, state_dir, "start", name)
        assert before[name]["status"] == "running"
    nsfleet = Nsfleet(state_dir)
    try:
        for name in order:
            created = nsfleet.json("create", "--spec", "-", stdin=json.dumps(tasks[name]))
            assert created["changed"] is False, name
            started = nsfleet.json("start", name)
            assert started["changed"] is False, name
            assert started["init_host_pid"] == before[name]["init_host_pid"], name
            assert alive(started["init_host_pid"])
            validated = nsfleet.json("validate", "--spec", "-", stdin=json.dumps(tasks[name]))
            assert validated["spec_hash"] == started["spec_hash"], name
    finally:
        inits = [workload["init_host_pid"] for workload in before.values()]
        nsfleet("rm", "--force", *order, check=False)
    # The new release stops what the old one started.
    assert wait_for(lambda: not any(alive(pid) for pid in inits), timeout=15)
    assert nsfleet.json("ls", "--json") == []
