"""Per-workload CPU, memory and PIDs: the agent's figures equal the cgroup files, on real cgroups.

This host mounts cgroup v1 controllers beside an empty v2 hierarchy
(/sys/fs/cgroup/unified). The test makes its own cgroups, runs a process in a
new PID namespace inside them, and writes the workload's state.json by hand,
as the executor would.
"""

import json
import os
import random
import signal
import string
import subprocess
import time

import pytest
from agent_process import Agent, pidns_of

CGROUP_ROOT = "/sys/fs/cgroup"
# Spins a while in the new namespace, then sleeps: its CPU figure no longer moves once it sleeps.
WORKLOAD = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 600"


def read(path):
    with open(path) as cgroup_file:
        return cgroup_file.read()


def keyed(text, key):
    return [int(line.split()[1]) for line in text.splitlines() if line.split()[0] == key][0]


class Cgroups:
    """Directories under /sys/fs/cgroup/<controller>/nsfleet-test-<random>, removed at the end."""

    def __init__(self):
        self.name = "nsfleet-test-" + "".join(random.choice(string.ascii_lowercase) for _letter in range(8))
        self.made = []

    def make(self, controller):
        if not os.path.isdir(os.path.join(CGROUP_ROOT, controller)):
            pytest.skip("no %s cgroup hierarchy on this host" % controller)
        directory = os.path.join(CGROUP_ROOT, controller, self.name)
        os.mkdir(directory)
        self.made.append(directory)
        return directory

    def remove(self):
        for directory in reversed(self.made):
            deadline = time.monotonic() + 10
            while os.path.isdir(directory):
                try:
                    os.rmdir(directory)
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)  # the last task leaves the cgroup shortly after it is reaped


def start_in(directories, script):
    """``unshare --pid --fork sh -c script``, entered in ``directories`` before it runs; (process, init PID)."""
    def enter():
        for directory in directories:
            with open(os.path.join(directory, "cgroup.procs"), "w") as procs:
                procs.write(str(os.getpid()))

    process = subprocess.Popen(["unshare", "--pid", "--fork", "sh", "-c", script], preexec_fn=enter,
                               start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = read("/proc/%d/task/%d/children" % (process.pid, process.pid)).split()
        if children:
            return process, int(children[0])
        time.sleep(0.02)
    raise RuntimeError("unshare did not start its child")


def wait_sleeping(init_pid):
    deadline = time.monotonic() + 60
    while read("/proc/%d/comm" % init_pid).strip() != "sleep":
        if time.monotonic() > deadline:
            raise RuntimeError("the busy loop did not end within 60s")
        time.sleep(0.05)


def write_state(state_dir, name, init_pid, cgroup):
    start_time = int(read("/proc/%d/stat" % init_pid).rpartition(")")[2].split()[19])
    state = {"schema": 1, "name": name, "status": "running", "restart_count": 0,
             "boot_id": read("/proc/sys/kernel/random/boot_id").strip(),
             "init": {"pid": init_pid, "start_time": start_time},
             "namespaces": {"pid": os.readlink("/proc/%d/ns/pid" % init_pid)}, "cgroup": cgroup}
    os.makedirs(os.path.join(state_dir, name))
    with open(os.path.join(state_dir, name, "state.json"), "w") as state_file:
        json.dump(state, state_file)


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def figure(samples, family, workload):
    found = [(labels["pidns"], value) for labels, value in samples.get(family, []) if labels["workload"] == workload]
    assert len(found) == 1, (family, workload, found)
    return found[0]


def test_agent_figures_equal_the_cgroup_files(tmp_path):
    state_dir = str(tmp_path / "run" / "nsfleet")
    os.makedirs(state_dir)
    cgroups = Cgroups()
    processes = []
    agent = None
    try:
        memory, pids, cpuacct = cgroups.make("memory"), cgroups.make("pids"), cgroups.make("cpuacct")
        unified = cgroups.make("unified")
        with open(os.path.join(memory, "memory.limit_in_bytes"), "w") as limit:
            limit.write(str(256 << 20))
        with open(os.path.join(pids, "pids.max"), "w") as limit:
            limit.write("50")
        v1_process, v1_init = start_in([memory, pids, cpuacct], WORKLOAD)
        processes.append(v1_process)
        v2_process, v2_init = start_in([unified], WORKLOAD)
        processes.append(v2_process)
        write_state(state_dir, cgroups.name + "-v1", v1_init, {
            "version": 1, "path": "/" + cgroups.name, "dirs": {"memory": memory, "pids": pids, "cpuacct": cpuacct}})
        write_state(state_dir, cgroups.name + "-v2", v2_init, {
            "version": 2, "path": "/" + cgroups.name, "dirs": {"unified": unified}})
        wait_sleeping(v1_init)
        wait_sleeping(v2_init)

        agent = Agent(state_dir)
        memory_before = int(read(os.path.join(memory, "memory.usage_in_bytes")))
        body = agent.get()[1]
        memory_after = int(read(os.path.join(memory, "memory.usage_in_bytes")))
        samples = agent.scrape()

        v1, v1_ns = cgroups.name + "-v1", pidns_of(v1_init)
        assert ({"workload": v1}, 1.0) in samples["nsfleet_workload_up"]
        assert figure(samples, "nsfleet_workload_cpu_seconds_total", v1) == (
            v1_ns, int(read(os.path.join(cpuacct, "cpuacct.usage"))) / 1e9)
        pidns, used = figure(samples, "nsfleet_workload_memory_bytes", v1)
        assert pidns == v1_ns and min(memory_before, memory_after) <= used <= max(memory_before, memory_after)
        assert figure(samples, "nsfleet_workload_memory_limit_bytes", v1) == (v1_ns, 256 << 20)
        assert figure(samples, "nsfleet_workload_pids", v1) == (v1_ns, int(read(os.path.join(pids, "pids.current"))))
        assert figure(samples, "nsfleet_workload_pids_limit", v1) == (v1_ns, 50)
        assert figure(samples, "nsfleet_workload_oom_kills_total", v1) == (
            v1_ns, keyed(read(os.path.join(memory, "memory.oom_control")), "oom_kill"))

        # v2 with no controllers delegated: CPU from cpu.stat, memory summed from /proc, no PIDs series.
        v2, v2_ns = cgroups.name + "-v2", pidns_of(v2_init)
        assert figure(samples, "nsfleet_workload_cpu_seconds_total", v2) == (
            v2_ns, keyed(read(os.path.join(unified, "cpu.stat")), "usage_usec") / 1e6)
        pidns, rss = figure(samples, "nsfleet_workload_memory_bytes", v2)
        assert pidns == v2_ns and rss > 0
        assert not [labels for labels, _v in samples.get("nsfleet_workload_pids", []) if labels["workload"] == v2]

        result = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True,
                                timeout=60, check=False)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    finally:
        if agent is not None:
            agent.stop()
        for process in processes:
            stop(process)
        cgroups.remove()
