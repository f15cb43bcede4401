"""The shipped systemd unit: it verifies, and its privileges are enough to see every namespace.

systemd cannot run on this machine, so the unit's privilege model is applied
with setpriv: an unprivileged user holding only the unit's ambient capabilities.
"""

import os
import subprocess

import pytest

from agent_process import AGENT, TOP, Agent

UNIT = os.path.join(TOP, "agent", "packaging", "nsfleet-agent.service")


def unit_setting(key):
    for line in open(UNIT):
        if line.startswith(key + "="):
            return line.split("=", 1)[1].strip()
    raise KeyError(key)


def test_unit_verifies(tmp_path):
    rendered = tmp_path / "nsfleet-agent.service"
    rendered.write_text(open(UNIT).read().replace("/opt/nsfleet-agent/bin/nsfleet-agent", AGENT))
    result = subprocess.run(["systemd-analyze", "verify", str(rendered)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert unit_setting("NoNewPrivileges") == "yes" and unit_setting("ProtectSystem") == "strict"


CAP_NET_ADMIN = 1 << 12


def effective_capabilities(pid):
    with open("/proc/%d/status" % pid) as status:
        return int([line for line in status if line.startswith("CapEff:")][0].split()[1], 16)


def scrape_as(tmp_path, capabilities):
    setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if capabilities:
        setpriv += ["--inh-caps=" + capabilities, "--ambient-caps=" + capabilities]
    agent = Agent(str(tmp_path / "state"), launcher=setpriv)
    try:
        samples = agent.scrape()
        # Process events needed CAP_NET_ADMIN to subscribe, and the agent no longer holds it.
        assert not effective_capabilities(agent.process.pid) & CAP_NET_ADMIN
        return samples
    finally:
        agent.stop()


@pytest.mark.parametrize("with_unit_capabilities", [True, False])
def test_unit_capabilities_are_what_reading_namespaces_needs(tmp_path, nested, with_unit_capabilities):
    capabilities = ",".join("+" + cap.lower()[len("cap_"):] for cap in unit_setting("AmbientCapabilities").split())
    samples = scrape_as(tmp_path, capabilities if with_unit_capabilities else "")
    counted = [v for labels, v in samples["nsfleet_pidns_processes"] if labels["pidns"] == nested.inner]
    mapped = [labels for labels, _v in samples.get("nsfleet_pid_mapping", []) if labels["pidns"] == nested.inner]
    if with_unit_capabilities:
        assert counted == [4] and len(mapped) == 4
        assert samples["nsfleet_proc_connector_up"] == [({}, 1.0)]
    else:
        # Without them the root-owned processes cannot be read: the agent says so instead of failing.
        assert counted == [] and mapped == []
        assert samples["nsfleet_proc_connector_up"] == [({}, 0.0)]
        assert [v for labels, v in samples["nsfleet_scrape_errors_total"] if labels["reason"] == "permission"][0] > 4
