#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workloads
short_description: Converge a host to a list of namespaced workloads in one step
version_added: 0.2.0
description:
  - Bring every workload of O(workloads) to its O(workloads[].state), as M(nsfleet.pidns.workload) would one by one,
    in a single start of the executor on the host.
  - Workloads that do not depend on each other start concurrently; a workload that joins another's namespaces
    (V(workload:<name>)) starts after it.
  - With O(prune), workloads that are not in the list are removed; O(selector) limits that to workloads with
    matching O(workloads[].labels), so playbooks that own different sets leave each other's alone.
  - A workload that fails is reported for itself and left as it was (or removed, when this run created it); the
    others are still converged. The task then fails, naming every workload that failed.
author:
  - nsfleet contributors (@nsfleet)
options:
  workloads:
    description:
      - The desired workloads of the host. Each item takes the options of M(nsfleet.pidns.workload).
      - A name may appear once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Workload name, unique on the host. See M(nsfleet.pidns.workload).
        type: str
        required: true
      state:
        description:
          - V(present), V(started), V(stopped), V(restarted) or V(absent), as for M(nsfleet.pidns.workload).
        type: str
        choices: [present, started, stopped, restarted, absent]
        default: started
      command:
        description:
          - The command and its arguments. Required to create a workload; without it, an existing workload is only
            moved to its O(workloads[].state).
        type: list
        elements: str
      env:
        description:
          - Environment variables of the command.
        type: dict
      cwd:
        description:
          - Working directory of the command, inside O(workloads[].rootfs) when set.
        type: str
      user:
        description:
          - User to run the command as, V(name), V(uid) or V(uid:gid).
        type: str
      hostname:
        description:
          - Hostname inside the workload; implies a private UTS namespace.
        type: str
      rootfs:
        description:
          - Absolute path of a directory to use as the root filesystem.
        type: path
      mounts:
        description:
          - Extra mounts, made inside the workload's mount namespace.
        type: list
        elements: dict
        suboptions:
          src:
            description:
              - Host path to bind. Required for V(bind).
            type: path
          dest:
            description:
              - Absolute path inside the workload.
            type: str
            required: true
          type:
            description:
              - V(bind) or V(tmpfs).
            type: str
            choices: [bind, tmpfs]
            default: bind
          readonly:
            description:
              - Mount read-only.
            type: bool
            default: false
          options:
            description:
              - Comma-separated mount options, as for M(nsfleet.pidns.workload).
            type: str
      namespaces:
        description:
          - Namespace type to V(private), V(host), V(workload:<name>) or V(path:<file>).
          - A workload named here that is in the list is converged first.
        type: dict
      uid_map:
        description:
          - With V(user=private) in O(workloads[].namespaces), the user namespace's uid map, as for
            M(nsfleet.pidns.workload).
        type: list
        elements: dict
        suboptions:
          inside:
            description:
              - First id of the range inside the user namespace.
            type: int
            required: true
          outside:
            description:
              - First id of the range on the host.
            type: int
            required: true
          count:
            description:
              - How many ids the range holds, at least 1.
            type: int
            required: true
      gid_map:
        description:
          - As O(workloads[].uid_map), for group ids.
        type: list
        elements: dict
        suboptions:
          inside:
            description:
              - First id of the range inside the user namespace.
            type: int
            required: true
          outside:
            description:
              - First id of the range on the host.
            type: int
            required: true
          count:
            description:
              - How many ids the range holds, at least 1.
            type: int
            required: true
      readonly_rootfs:
        description:
          - Make the root filesystem read-only.
        type: bool
        default: false
      devices:
        description:
          - Host devices to add to the workload's minimal C(/dev).
        type: list
        elements: str
      host_dev:
        description:
          - Give the workload the host's C(/dev) instead of a minimal one.
        type: bool
        default: false
      capabilities:
        description:
          - Capabilities to add to or drop from Docker's default 14, as for M(nsfleet.pidns.workload); names with or
            without C(CAP_), or V(ALL). A non-root O(workloads[].user) gets none.
        type: dict
        suboptions:
          add:
            description:
              - Capabilities to add; V(ALL) adds every capability.
            type: list
            elements: str
          drop:
            description:
              - Capabilities to drop; V(ALL) drops every one not in O(workloads[].capabilities.add).
            type: list
            elements: str
      no_new_privileges:
        description:
          - Set C(no_new_privs), so no setuid program or file capability raises the command's privileges.
        type: bool
        default: true
      seccomp:
        description:
          - V(default) (Docker's default profile), V(unconfined), or the path of a Docker-format JSON profile on the host.
        type: str
        default: default
      apparmor_profile:
        description:
          - AppArmor profile to run the command under; refused on a host without AppArmor.
        type: str
      selinux_label:
        description:
          - SELinux label to run the command under; refused on a host without SELinux.
        type: str
      init:
        description:
          - Run nsfleet's init as PID 1.
        type: bool
        default: true
      stop_signal:
        description:
          - Signal that asks the workload to stop.
        type: str
        default: SIGTERM
      stop_timeout:
        description:
          - Seconds to wait after O(workloads[].stop_signal) before C(SIGKILL).
        type: float
        default: 10
      restart_policy:
        description:
          - When the supervisor restarts the command after it exits.
        type: str
        choices: ['no', on-failure, always]
        default: 'no'
      limits:
        description:
          - Resource limits through the workload's own cgroup, as for M(nsfleet.pidns.workload).
        type: dict
        suboptions:
          memory:
            description:
              - Memory limit, in bytes or with a unit (V(512m), V(1g)).
            type: str
          memory_swap:
            description:
              - Memory and swap together; V(-1) for unlimited swap. Unset means no swap.
            type: str
          pids:
            description:
              - The most processes and threads at once.
            type: int
          cpu:
            description:
              - CPU time as a number of CPUs (V(0.5)).
            type: float
          cpu_weight:
            description:
              - Relative CPU share, V(1) to V(10000).
            type: int
      cgroup_parent:
        description:
          - The cgroup under which the workload's own cgroup is made (default V(/nsfleet)).
        type: str
      log_max_size:
        description:
          - The size past which the workload's log is rotated (V(10m) by default).
        type: str
      log_max_files:
        description:
          - How many log files are kept, the current one included (V(3) by default).
        type: int
      labels:
        description:
          - Metadata, name to value, that O(selector) matches.
          - Not part of the spec hash; changing only the labels stores them and leaves the workload running.
        type: dict
      recreate:
        description:
          - Remove and create the workload even when its spec did not change.
        type: bool
        default: false
  prune:
    description:
      - Remove the workloads on the host that are not in O(workloads) (and match O(selector)).
      - Only workloads in nsfleet's state (under O(state_dir)) are touched; nothing else on the host is.
      - A workload that a staying workload joins (V(workload:<name>)) is not removed; it is reported as failed.
    type: bool
    default: false
  selector:
    description:
      - Label name to value. With O(prune), only workloads whose labels include all of these are removed.
      - Empty, O(prune) removes every nsfleet workload not in the list. Ignored without O(prune).
    type: dict
    default: {}
extends_documentation_fragment:
  - nsfleet.pidns.common
  - nsfleet.pidns.common.attributes
seealso:
  - module: nsfleet.pidns.workload
  - module: nsfleet.pidns.workload_info
"""

EXAMPLES = r"""
- name: Run the web tier, and remove web tier workloads no longer listed
  nsfleet.pidns.workloads:
    workloads:
      - name: web-1
        command: [python3, -m, http.server, "8081"]
        labels: {tier: web}
      - name: web-2
        command: [python3, -m, http.server, "8082"]
        labels: {tier: web}
      - name: web-2-sidecar
        command: [sleep, infinity]
        namespaces: {pid: "workload:web-2"}
        labels: {tier: web}
    prune: true
    selector: {tier: web}

- name: Report the drift without changing anything
  nsfleet.pidns.workloads:
    workloads: "{{ host_workloads }}"
  check_mode: true
  diff: true
  register: drift

- name: Show what would change
  ansible.builtin.debug:
    msg: "{{ drift.results | rejectattr('action', 'eq', 'none') | map(attribute='name') | list }}"
"""

RETURN = r"""
results:
  description:
    - One entry per workload, in the order of O(workloads), then the pruned ones.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Workload name.
      type: str
      returned: always
      sample: web-1
    action:
      description:
        - What was done (or would be, in check mode). V(create), V(recreate) (the spec changed, or O(workloads[].recreate)),
          V(update) (only the labels changed; nothing restarted), V(start), V(stop), V(restart), V(remove) or V(none).
      type: str
      returned: always
      sample: create
    changed:
      description: Whether this workload changed.
      type: bool
      returned: always
    failed:
      description: Whether this workload failed; RV(results[].msg) says why.
      type: bool
      returned: always
    msg:
      description: Why it failed, V(pruned) for a pruned workload, else empty.
      type: str
      returned: always
    workload:
      description:
        - The workload afterwards, as M(nsfleet.pidns.workload) returns it but without C(processes)
          (M(nsfleet.pidns.workload_info) has the PID mappings); V(null) once removed.
      type: dict
      returned: always
    diff:
      description: This workload's status and spec before and after.
      type: dict
      returned: in diff mode
      sample: {before: {status: running, spec: {}}, after: {status: running, spec: {}}}
diff:
  description: Before and after (status and spec) of each changed workload, headed by its name, as Ansible shows them.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsfleet.pidns.plugins.module_utils._batch_manager import BatchManager
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.schema import module_argument_spec


def main():
    workload_options = module_argument_spec()  # each item: the spec options, from the executor's one table
    workload_options.update(
        state=dict(type="str", default="started", choices=["present", "started", "stopped", "restarted", "absent"]),
        recreate=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            workloads=dict(type="list", elements="dict", required=True, options=workload_options),
            prune=dict(type="bool", default=False),
            selector=dict(type="dict", default={}),
            state_dir=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    BatchManager(module).run()


if __name__ == "__main__":
    main()
