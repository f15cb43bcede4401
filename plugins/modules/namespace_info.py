#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_info
short_description: Report the host's PID namespaces as a tree, like lsns -t pid
version_added: 0.2.0
description:
  - Return every PID namespace of the host that has a process in it, parents before their children, as
    C(nsfleet ns --json) prints them. Namespaces nsfleet did not make are included.
  - For each, its inode, its parent, how deep it is nested, how many processes it holds (as C(lsns -t pid)
    counts them), its init's host PID and command name, and the nsfleet workloads that run in it.
  - Reads C(/proc) and nsfleet's state; changes nothing, and runs on any host, with nsfleet workloads or not.
author:
  - nsfleet contributors (@nsfleet)
options: {}
extends_documentation_fragment:
  - nsfleet.pidns.common
  - nsfleet.pidns.common.info_attributes
seealso:
  - module: nsfleet.pidns.workload_info
"""

EXAMPLES = r"""
- name: Read the host's PID namespace tree
  nsfleet.pidns.namespace_info:
  register: tree

- name: Show the namespaces no nsfleet workload owns
  ansible.builtin.debug:
    msg: "{{ item.pidns }}: {{ item.processes }} processes, init {{ item.init_comm }}"
  loop: "{{ tree.namespaces | selectattr('workloads', 'equalto', []) | list }}"
"""

RETURN = r"""
namespaces:
  description: The PID namespaces, parents before their children.
  returned: always
  type: list
  elements: dict
  contains:
    pidns:
      description: The namespace's inode, as C(lsns) and the agent's C(pidns) label show it.
      type: int
      sample: 4026532207
    parent:
      description: The parent namespace's inode; null for the outermost one visible.
      type: int
      sample: 4026531836
    level:
      description: How deep it is nested, 0 for the host's own.
      type: int
      sample: 1
    processes:
      description: How many processes it holds.
      type: int
      sample: 2
    init_host_pid:
      description: The host PID of its PID 1; null when that is not visible.
      type: int
      sample: 4242
    init_comm:
      description: The command name of its PID 1.
      type: str
      sample: nsfleet-init
    workloads:
      description: The running nsfleet workloads in it, the one that made it first.
      type: list
      elements: str
      sample: [web, web-sidecar]
    workload:
      description: The first of RV(namespaces[].workloads), or null.
      type: str
      sample: web
  sample:
    - {pidns: 4026531836, parent: null, level: 0, processes: 187, init_host_pid: 1, init_comm: systemd,
       workloads: [], workload: null}
    - {pidns: 4026532207, parent: 4026531836, level: 1, processes: 2, init_host_pid: 4242,
       init_comm: nsfleet-init, workloads: [web], workload: web}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorClient, ExecutorError


def main():
    module = AnsibleModule(argument_spec=dict(state_dir=dict(type="path", default="/")), supports_check_mode=True)
    try:
        namespaces = ExecutorClient(module, module.params["state_dir"], may_install=False).call(["ns", "--json"])
    except ExecutorError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, namespaces=namespaces)


if __name__ == "__main__":
    main()
