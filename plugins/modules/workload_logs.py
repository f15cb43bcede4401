#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workload_logs
short_description: Read an nsfleet workload's output
version_added: 0.2.0
description:
  - Return what a workload wrote to its standard output and standard error, as C(nsfleet logs) prints it,
    its rotated log files oldest first, then the current one.
  - The log is bounded by the workload's O(nsfleet.pidns.workload#module:log_max_size) and
    O(nsfleet.pidns.workload#module:log_max_files); older output is gone.
  - The log of a workload removed with C(nsfleet rm --keep-logs) can still be read.
author:
  - nsfleet contributors (@nsfleet)
options:
  name:
    description:
      - The workload whose output to read.
    type: str
    required: true
  tail:
    description:
      - Only the last this many lines. All of the kept log when omitted.
    type: int
extends_documentation_fragment:
  - nsfleet.pidns.common
  - nsfleet.pidns.common.info_attributes
seealso:
  - module: nsfleet.pidns.workload
  - module: nsfleet.pidns.workload_exec
"""

EXAMPLES = r"""
- name: Read the last 50 lines of web's output
  nsfleet.pidns.workload_logs:
    name: web
    tail: 50
  register: web_log

- name: Show them
  ansible.builtin.debug:
    var: web_log.log_lines
"""

RETURN = r"""
log:
  description: The output, as text (bytes that are not UTF-8 are replaced).
  returned: always
  type: str
  sample: "Serving HTTP on 0.0.0.0 port 8080\n"
log_lines:
  description: RV(log) split into lines.
  returned: always
  type: list
  elements: str
  sample: ["Serving HTTP on 0.0.0.0 port 8080"]
files:
  description: The log files read, oldest first.
  returned: always
  type: list
  elements: str
  sample: [/var/log/nsfleet/web.log.1, /var/log/nsfleet/web.log]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import (
    ExecutorClient, ExecutorError, NoSuchWorkload)
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import is_valid_name


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            tail=dict(type="int"),
            state_dir=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    name, tail = module.params["name"], module.params["tail"]
    if not is_valid_name(name):
        module.fail_json(msg="name: %r is not a valid workload name" % name)
    if tail is not None and tail < 0:
        module.fail_json(msg="tail: must be 0 or more, got %d" % tail)
    args = ["logs", "--json"] + ([] if tail is None else ["--tail", str(tail)]) + [name]
    try:
        found = ExecutorClient(module, module.params["state_dir"], may_install=False).call(args)
    except NoSuchWorkload as error:
        module.fail_json(msg="name: %s" % error)
    except ExecutorError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, log=found["log"], log_lines=found["log_lines"], files=found["files"])


if __name__ == "__main__":
    main()
