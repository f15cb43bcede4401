#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workload_exec
short_description: Run a command inside a running nsfleet workload
version_added: 0.2.0
description:
  - Run a command inside a running workload, as C(nsfleet exec) does on the host, and return what
    M(ansible.builtin.command) returns.
  - The command enters the workload's cgroup when it has one, joins every namespace of the workload (IPC, UTS,
    network, cgroup and mount, then its user namespace when it has its own, last, as the workload's own command
    did) and its root. It joins the PID namespace and is forked there, so it has a PID inside. It gets the
    workload's user, environment and confinement, like the workload's own command.
  - Only its standard input, output and error reach the command; no other descriptor of the host does.
  - A workload that is not running is refused. A non-zero return code fails the task, unless the play says
    otherwise (for example with C(failed_when)).
author:
  - nsfleet contributors (@nsfleet)
options:
  name:
    description:
      - The workload to run the command in.
    type: str
    required: true
  command:
    description:
      - The program and its arguments. No shell runs unless you ask for one, for example V([/bin/sh, -c, "..."]).
      - A program without a C(/) is looked up in the C(PATH) of the workload's environment, inside the workload.
    type: list
    elements: str
    required: true
  user:
    description:
      - Run as this user instead of the workload's own O(nsfleet.pidns.workload#module:user).
      - A name, a uid, or C(uid:gid); names are looked up in the workload's rootfs.
    type: str
  env:
    description:
      - Variables added to the workload's environment for this command.
    type: dict
    default: {}
  cwd:
    description:
      - The working directory, an absolute path inside the workload (default the workload's own).
      - Resolved inside the workload's root; a symlink or C(..) cannot lead out of it.
    type: str
  stdin:
    description:
      - Text fed to the command's standard input. Without it, the command reads C(/dev/null).
    type: str
  stdin_add_newline:
    description:
      - Whether to end O(stdin) with a newline.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the command may run. Then everything it started is killed with SIGKILL, even what ignores
        SIGTERM, and the task fails with RV(timed_out=true).
      - No limit when omitted.
    type: float
  creates:
    description:
      - A path inside the workload; when it exists, the command does not run and the task is not changed.
    type: str
  removes:
    description:
      - A path inside the workload; unless it exists, the command does not run and the task is not changed.
    type: str
extends_documentation_fragment:
  - nsfleet.pidns.common
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: partial
    details: Runs nothing; checks that the workload runs and evaluates O(creates) and O(removes) inside it.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation
      indicates no change.
    support: partial
    details: Only with O(creates) or O(removes); otherwise every run is a change, as with M(ansible.builtin.command).
seealso:
  - module: nsfleet.pidns.workload
  - module: ansible.builtin.command
"""

EXAMPLES = r"""
- name: Show the hostname the web workload sees
  nsfleet.pidns.workload_exec:
    name: web
    command: [hostname]
  register: seen

- name: Load a schema once, as an unprivileged user, with a bound
  nsfleet.pidns.workload_exec:
    name: db
    command: [/usr/local/bin/migrate, --apply]
    user: app
    env:
      MIGRATIONS: /srv/migrations
    creates: /srv/data/.migrated
    timeout: 120

- name: Feed a script to a shell inside the workload
  nsfleet.pidns.workload_exec:
    name: box
    command: [/bin/sh]
    stdin: "ps; ls /proc"
"""

RETURN = r"""
rc:
  description: The command's exit code; 128+N when a signal N ended it (137 after O(timeout)).
  returned: when the command ran
  type: int
  sample: 0
stdout:
  description: What the command wrote to its standard output.
  returned: always
  type: str
  sample: web
stderr:
  description: What the command wrote to its standard error, and why it could not be executed if it could not.
  returned: always
  type: str
  sample: ""
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
  sample: [web]
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
  sample: []
cmd:
  description: The command as it was run.
  returned: always
  type: list
  elements: str
  sample: [hostname]
start:
  description: When the command started, in the host's local time.
  returned: when the command ran
  type: str
  sample: "2026-12-07 22:01:22.136036"
end:
  description: When the command ended.
  returned: when the command ran
  type: str
  sample: "2026-12-07 22:01:22.140887"
delta:
  description: How long it ran.
  returned: when the command ran
  type: str
  sample: "0:00:00.004851"
host_pid:
  description: The command's PID on the host.
  returned: when the command ran
  type: int
  sample: 26598
ns_pid:
  description: The command's PID inside the workload's PID namespace.
  returned: when the command ran
  type: int
  sample: 10
timed_out:
  description: Whether O(timeout) ended the command.
  returned: always
  type: bool
  sample: false
msg:
  description: Why the command failed, or why it did not run (O(creates) or O(removes)).
  returned: always
  type: str
  sample: "did not run: /srv/data/.migrated exists inside the workload: skipped"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsfleet.pidns.plugins.module_utils import _workload_exec
from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorClient


def main():
    module = AnsibleModule(argument_spec=_workload_exec.ARGUMENT_SPEC, supports_check_mode=True)
    _workload_exec.run(module, ExecutorClient(module, module.params["state_dir"]))


if __name__ == "__main__":
    main()
