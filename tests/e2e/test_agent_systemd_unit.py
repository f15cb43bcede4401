"""roles/agent's systemd unit, rendered by the role and checked by systemd-analyze verify.

This machine has no systemd as PID 1, so the role runs the agent as an
nsfleet workload here (test_fleet.py); the unit is only rendered and verified.
"""

import json
import os
import shutil
import subprocess

import pytest
from support import TOP

VENV_BIN = os.path.join(TOP, ".venv", "bin")
COLLECTIONS = os.path.join(TOP, ".build", "collections")

PLAY = """---
- name: Render the agent's systemd unit
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The unit only
      ansible.builtin.include_role:
        name: nsfleet.pidns.agent
        tasks_from: systemd_unit.yml
      vars:
        __nsfleet_agent_manager: none  # the restart handler then leaves systemctl alone
"""


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed (Debian package systemd)")
@pytest.mark.parametrize("secured", [False, True], ids=["plain", "tls-and-basic-auth"])
def test_rendered_unit_verifies(tmp_path, secured):
    install_dir = tmp_path / "opt"
    (install_dir / "venv" / "bin").mkdir(parents=True)
    os.symlink(os.path.join(VENV_BIN, "nsfleet-agent"), str(install_dir / "venv" / "bin" / "nsfleet-agent"))
    for name in ("agent.crt", "agent.key", "web.yml"):
        (tmp_path / name).write_text("")
    extra = {"ansible_python_interpreter": "/usr/bin/python3", "nsfleet_agent_install_dir": str(install_dir),
             "nsfleet_agent_config_dir": str(tmp_path), "nsfleet_agent_systemd_unit_dir": str(tmp_path),
             "nsfleet_agent_listen_host": "::"}
    if secured:
        tls = {"cert_file": str(tmp_path / "agent.crt"), "key_file": str(tmp_path / "agent.key")}
        extra.update({"nsfleet_agent_tls_server_config": tls, "nsfleet_agent_basic_auth_users": {"prometheus": "secret"}})
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1")
    subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", "localhost,", str(play), "-e", json.dumps(extra)],
                   check=True, capture_output=True, env=env, timeout=300)
    unit = tmp_path / "nsfleet-agent.service"
    text = unit.read_text()
    assert "--web.listen-address='[::]:10146'" in text or "--web.listen-address=[::]:10146" in text
    assert ("LoadCredential=key_file:%s" % (tmp_path / "agent.key") in text) == secured
    assert ("--web.config.file=%d/web.yml" in text) == secured
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120,
                            check=False)
    problems = [line for line in (verify.stdout + verify.stderr).splitlines() if "nsfleet-agent.service" in line]
    assert verify.returncode == 0 and not problems, verify.stdout + verify.stderr
