"""Contract: the executor (nsfleet ns, nsfleet inspect) and the agent agree on who owns each PID namespace.

Both read the same host: the real /proc with real workloads, and one state
dir. The executor finds /proc only at /proc (its liveness checks have no
procfs knob), so a fixture tree could test one side only; real namespaces
test both. The agent runs in-process on the same /proc and state dir.
"""

import os
import random
import string

from prometheus_client.parser import text_string_to_metric_families

from nsfleet_agent.exporter import make_exporter
from nsfleet_cli import NSFLEET, wait_for


def inode(link):
    return int(link[link.index("[") + 1:link.index("]")])


def agent_view(state_dir):
    """{pidns: workload label} of nsfleet_pidns_processes, and {workload: up} of nsfleet_workload_up."""
    exporter = make_exporter("/proc", os.path.join(state_dir, "run", "nsfleet"))
    try:
        owners, up = {}, {}
        for family in text_string_to_metric_families(exporter.render().decode()):
            for sample in family.samples:
                if sample.name == "nsfleet_pidns_processes":
                    owners[int(sample.labels["pidns"])] = sample.labels["workload"]
                elif sample.name == "nsfleet_workload_up":
                    up[sample.labels["workload"]] = sample.value == 1
        return owners, up
    finally:
        exporter.scraper.table.close()


def test_executor_and_agent_name_the_same_owner_for_every_namespace(nsfleet):
    prefix = "ct-" + "".join(random.choice(string.ascii_lowercase) for _letter in range(6))
    web, sidecar, solo, stopped = (prefix + "-web", prefix + "-a-sidecar", prefix + "-solo", prefix + "-stopped")
    # The sidecar sorts before web and shares web's PID namespace: web created it, so web owns it.
    nsfleet.detach(web, NSFLEET, "run", "--rm", "--", "/bin/sleep", "600")  # a nested namespace nobody owns
    nsfleet.detach(sidecar, "/bin/sleep", "601", options=("--ns", "pid=workload:" + web))
    nsfleet.detach(solo, "/bin/sleep", "602")
    nsfleet.detach(stopped, "/bin/sleep", "603")
    nsfleet("stop", "--force", stopped)

    inspected = dict((name, nsfleet.inspect(name)) for name in (web, sidecar, solo, stopped))
    web_ns = inode(inspected[web]["namespaces"]["pid"])
    assert inode(inspected[sidecar]["namespaces"]["pid"]) == web_ns
    nested = wait_for(lambda: [entry for entry in nsfleet.json("ns", "--json") if entry["parent"] == web_ns])
    assert nested, "the nested namespace inside %s did not come up" % web

    tree = nsfleet.json("ns", "--json")
    executor_owners = dict((entry["pidns"], entry["workload"] or "") for entry in tree)
    agent_owners, agent_up = agent_view(nsfleet.state_dir)

    # Every namespace either side names is named alike by the other, and only ours are named.
    named_by_executor = dict((ns, name) for ns, name in executor_owners.items() if name)
    named_by_agent = dict((ns, name) for ns, name in agent_owners.items() if name)
    assert named_by_agent == named_by_executor == {web_ns: web, inode(inspected[solo]["namespaces"]["pid"]): solo}
    assert agent_owners[nested[0]["pidns"]] == executor_owners[nested[0]["pidns"]] == ""
    # inspect's status and the agent's up agree, workload by workload.
    assert agent_up == dict((name, workload["status"] == "running") for name, workload in inspected.items())
    assert agent_up == {web: True, sidecar: True, solo: True, stopped: False}
