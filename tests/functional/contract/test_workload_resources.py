"""Contract: what the executor records of a workload's cgroup is what the agent reads and exports.

Needs an executor with limits (``nsfleet run --memory``); skipped before it.
The figures are checked against the cgroup files named by ``nsfleet inspect``.
"""

import os
import random
import string
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from nsfleet_agent.exporter import make_exporter
from nsfleet_cli import NSFLEET, wait_for

# Reads 100 MB into the shell's memory, past its 16 MiB limit: the OOM killer ends it.
OOM = "x=$(head -c 100000000 /dev/zero | tr '\\0' a)"


def has_limits():
    usage = subprocess.run([NSFLEET, "run", "--help"], capture_output=True, text=True, check=False)
    return "--memory" in usage.stdout + usage.stderr


def scrape(state_dir):
    exporter = make_exporter("/proc", os.path.join(state_dir, "run", "nsfleet"))
    try:
        samples = {}
        for family in text_string_to_metric_families(exporter.render().decode()):
            for sample in family.samples:
                samples.setdefault(sample.name, {})[sample.labels.get("workload")] = (sample.labels, sample.value)
        return samples
    finally:
        exporter.scraper.table.close()


def read(directory, name):
    with open(os.path.join(directory, name)) as cgroup_file:
        return cgroup_file.read()


def keyed(text, key):
    return [int(line.split()[1]) for line in text.splitlines() if line.split()[0] == key][0]


def exported(samples, family, name, pidns):
    labels, found = samples[family][name]
    assert labels == {"workload": name, "pidns": pidns}, (family, labels)
    return found


def pidns_of(workload):
    link = workload["namespaces"]["pid"]
    return link[link.index("[") + 1:link.index("]")]


@pytest.mark.skipif(not has_limits(), reason="this executor has no limits yet")
def test_agent_exports_the_recorded_cgroup(nsfleet):
    prefix = "ct-" + "".join(random.choice(string.ascii_lowercase) for _letter in range(6))
    steady, oom = prefix + "-steady", prefix + "-oom"
    nsfleet.detach(steady, "/bin/sleep", "600", options=("--memory", "64m", "--pids-limit", "30"))
    nsfleet.detach(oom, "/bin/sh", "-c", OOM, options=("--memory", "16m"))

    def exited():
        found = nsfleet.inspect(oom)
        return found if found["status"] == "exited" else None

    ended = wait_for(exited, timeout=30)
    assert ended and ended["exit_code"] == 137 and ended["oom_killed"] is True, ended
    running = nsfleet.inspect(steady)
    samples = scrape(nsfleet.state_dir)

    # The running workload: its namespace, its limits, its figures as the cgroup files say.
    pidns, cgroup = pidns_of(running), running["cgroup"]
    assert samples["nsfleet_workload_up"][steady][1] == 1
    assert exported(samples, "nsfleet_workload_memory_limit_bytes", steady, pidns) == 64 << 20
    assert exported(samples, "nsfleet_workload_pids_limit", steady, pidns) == 30
    pids_dir = cgroup["dirs"]["unified" if cgroup["version"] == 2 else "pids"]
    assert exported(samples, "nsfleet_workload_pids", steady, pidns) == int(read(pids_dir, "pids.current"))
    assert exported(samples, "nsfleet_workload_cpu_seconds_total", steady, pidns) > 0
    assert exported(samples, "nsfleet_workload_memory_bytes", steady, pidns) > 0

    # The OOM-killed one: down, no namespace, its kill counted as the cgroup counts it.
    cgroup = ended["cgroup"]
    if cgroup["version"] == 2:
        oom_kills = keyed(read(cgroup["dirs"]["unified"], "memory.events"), "oom_kill")
    else:
        oom_kills = keyed(read(cgroup["dirs"]["memory"], "memory.oom_control"), "oom_kill")
    assert samples["nsfleet_workload_up"][oom][1] == 0
    assert exported(samples, "nsfleet_workload_oom_kills_total", oom, "") == oom_kills >= 1
