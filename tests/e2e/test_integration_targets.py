"""Each integration target, as a role, over SSH."""

import os

import pytest

from support import TOP

from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_bundle as bundle

EXECUTOR_DIR = os.path.join(TOP, "plugins", "module_utils", "executor")

PLAY = """---
- name: Integration target {target}
  hosts: targets
  gather_facts: false
  roles:
    - {target}
"""


@pytest.mark.parametrize("target", sorted(os.listdir(os.path.join(TOP, "tests", "integration", "targets"))))
def test_target(playbook, tmp_path, target):
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(target=target))
    state_dir = tmp_path / "host"
    result = playbook(str(play), {"nsfleet_state_dir": str(state_dir)})
    assert "failed=0" in result.stdout
    # The module installed the executor, content-addressed, where DESIGN.md says.
    installed = state_dir / "var" / "lib" / "nsfleet" / "bin" / "nsfleet"
    assert os.access(str(installed), os.X_OK)
    # Byte for byte the bundle of the source tree: Ansible shipped every executor file to the target.
    assert installed.read_bytes() == bundle.build(bundle.sources_from_directory(EXECUTOR_DIR), "/usr/bin/python3")
