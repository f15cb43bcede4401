"""The agent counts and maps the processes of a workload with a private user namespace, like any other."""

import os
import subprocess

from agent_process import Agent

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NSFLEET = os.path.join(TOP, "build", "nsfleet")


def test_a_user_namespaced_workload_is_counted_and_mapped(tmp_path):
    root = str(tmp_path / "host")
    nsfleet = [NSFLEET, "--state-dir", root]
    agent = Agent(os.path.join(root, "run", "nsfleet"))
    try:
        workload = subprocess.run(nsfleet + ["run", "--detach", "--name", "mapped", "--ns", "user=private", "--",
                                             "/bin/sh", "-c", "sleep 600 & wait"], check=True, capture_output=True)
        assert workload.returncode == 0
        samples = agent.scrape()
        processes = [value for labels, value in samples["nsfleet_pidns_processes"] if labels["workload"] == "mapped"]
        assert processes == [3]  # init, sh, sleep
        assert ({"workload": "mapped"}, 1.0) in samples["nsfleet_workload_up"]
        mapping = [labels for labels, _v in samples["nsfleet_pid_mapping"] if labels["workload"] == "mapped"]
        assert sorted(int(labels["ns_pid"]) for labels in mapping) == [1, 2, 3]
    finally:
        subprocess.run(nsfleet + ["rm", "--force", "mapped"], capture_output=True, check=False)
        agent.stop()
