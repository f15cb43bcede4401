"""Workload names from nsfleet's state dir, with the real executor."""

import os
import subprocess

from agent_process import Agent

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NSFLEET = os.path.join(TOP, "build", "nsfleet")


def test_workload_labels_up_and_restarts(tmp_path):
    root = str(tmp_path / "host")
    nsfleet = [NSFLEET, "--state-dir", root]
    agent = Agent(os.path.join(root, "run", "nsfleet"))
    try:
        subprocess.run(nsfleet + ["run", "--detach", "--name", "web", "--", "/bin/sh", "-c", "sleep 600 & wait"],
                       check=True, capture_output=True)
        subprocess.run(nsfleet + ["run", "--detach", "--name", "web-sidecar", "--ns", "pid=workload:web", "--",
                                  "/bin/sleep", "601"], check=True, capture_output=True)
        samples = agent.scrape()
        processes = [(labels, v) for labels, v in samples["nsfleet_pidns_processes"] if labels["workload"] == "web"]
        assert len(processes) == 1 and processes[0][1] == 5  # init, sh, sleep; the sidecar's init and sleep
        assert ({"workload": "web"}, 1.0) in samples["nsfleet_workload_up"]
        assert ({"workload": "web-sidecar"}, 1.0) in samples["nsfleet_workload_up"]
        assert ({"workload": "web"}, 0.0) in samples["nsfleet_workload_restarts_total"]
        mapping = [labels for labels, _v in samples["nsfleet_pid_mapping"] if labels["workload"] == "web"]
        assert sorted(int(labels["ns_pid"]) for labels in mapping) == [1, 2, 3, 4, 5]
        subprocess.run(nsfleet + ["rm", "web-sidecar", "web"], check=True, capture_output=True)
        samples = agent.scrape()
        assert not [labels for labels, _v in samples["nsfleet_pidns_processes"] if labels["workload"]]
        assert "nsfleet_workload_up" not in samples
    finally:
        subprocess.run(nsfleet + ["rm", "--force", "web-sidecar", "web"], capture_output=True, check=False)
        agent.stop()
