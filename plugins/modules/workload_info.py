#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workload_info
short_description: Report nsfleet workloads and their PID mappings
version_added: 0.1.0
description:
  - Return one workload or every workload on the host, as the same object M(nsfleet.pidns.workload) returns,
    with the PID mapping (host PID, PID inside the namespace, parent, command) of each running one.
author:
  - nsfleet contributors (@nsfleet)
options:
  name:
    description:
      - The workload to report. All of them when omitted.
      - Naming a workload that does not exist returns an empty list, not an error.
    type: str
extends_documentation_fragment:
  - nsfleet.pidns.common
  - nsfleet.pidns.common.info_attributes
seealso:
  - module: nsfleet.pidns.workload
"""

EXAMPLES = r"""
- name: Read every workload on the host
  nsfleet.pidns.workload_info:
  register: found

- name: Show each workload's PID mapping
  ansible.builtin.debug:
    msg: "{{ item.name }} {{ item.status }}: {{ item.processes | map(attribute='host_pid') | list }}"
  loop: "{{ found.workloads }}"

- name: Fail a runbook step unless web runs
  nsfleet.pidns.workload_info:
    name: web
  register: web
  failed_when: web.workloads | length == 0 or web.workloads[0].status != 'running'
"""

RETURN = r"""
workloads:
  description: The workloads found, each as M(nsfleet.pidns.workload) returns it in RV(nsfleet.pidns.workload#module:workload).
  returned: always
  type: list
  elements: dict
  sample:
    - name: web
      status: running
      exit_code: null
      init_host_pid: 4242
      restart_count: 0
      oom_killed: false
      cgroup: {version: 2, path: /nsfleet/web, dirs: {unified: /sys/fs/cgroup/nsfleet/web}}
      processes:
        - {host_pid: 4242, ns_pid: 1, ppid: 0, comm: nsfleet-init, state: S}
        - {host_pid: 4243, ns_pid: 2, ppid: 1, comm: python3, state: S}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorClient, ExecutorError
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import is_valid_name


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str"),
            state_dir=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    name = module.params["name"]
    if name is not None and not is_valid_name(name):
        module.fail_json(msg="name: %r is not a valid workload name" % name)
    client = ExecutorClient(module, module.params["state_dir"], may_install=False)
    try:
        if name is None:
            workloads = client.list()
        else:
            found = client.inspect(name)
            workloads = [] if found is None else [found]
    except ExecutorError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, workloads=workloads)


if __name__ == "__main__":
    main()
