#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workload
short_description: Manage PID- and mount-namespaced workloads on a host
version_added: 0.1.0
description:
  - Create, start, stop, restart and remove a workload, a command running in its own PID namespace
    (its init is PID 1 and reaps orphans) and a private mount namespace with its own C(/proc).
  - Optional rootfs (entered with C(pivot_root)), mounts, hostname, user, and shared namespaces.
  - A supervisor outside the namespace keeps the exit code and applies the restart policy; removing a workload
    kills every process in it.
  - A changed spec recreates the workload.
author:
  - nsfleet contributors (@nsfleet)
options:
  name:
    description:
      - Workload name, unique on the host.
      - Lower-case letters, digits, V(_), V(.) and V(-), starting with a letter or digit, at most 63 characters.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the workload exists with this spec, without starting it.
      - V(started) makes sure it exists and runs.
      - V(stopped) makes sure it exists and does not run; stopping sends O(stop_signal), then C(SIGKILL)
        after O(stop_timeout).
      - V(restarted) stops it if it runs, then starts it; always reports a change.
      - V(absent) stops it and removes its state, spec and log.
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  command:
    description:
      - The command and its arguments. The program is looked up in C(PATH) inside O(rootfs) when it has no C(/).
      - Required to create a workload. Without it, an existing workload is only moved to O(state), its spec unchanged.
    type: list
    elements: str
  env:
    description:
      - Environment variables of the command, on top of C(PATH), C(HOME) and C(HOSTNAME).
    type: dict
  cwd:
    description:
      - Working directory of the command, inside O(rootfs) when set.
    type: str
  user:
    description:
      - User to run the command as, V(name), V(uid) or V(uid:gid). Names come from O(rootfs)'s own C(/etc/passwd).
    type: str
  hostname:
    description:
      - Hostname inside the workload. Implies a private UTS namespace unless O(namespaces) says otherwise.
    type: str
  rootfs:
    description:
      - Absolute path of a directory to use as the root filesystem, entered with C(pivot_root).
      - Without it the workload sees the host's filesystem, with its own C(/proc).
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
          - Absolute path inside the workload. It must not leave O(rootfs).
        type: str
        required: true
      type:
        description:
          - V(bind) binds O(mounts[].src); V(tmpfs) mounts a fresh tmpfs.
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
          - Comma-separated mount options. V(ro), V(nosuid), V(nodev) and V(noexec) apply to both types
            (V(rw), V(suid), V(dev), V(exec), V(bind) and V(rbind) change nothing).
          - A tmpfs also takes V(size), V(nr_blocks), V(nr_inodes), V(mode), V(uid), V(gid), V(huge) and V(mpol),
            for example V(size=64m,mode=1777). Anything else is refused.
        type: str
  namespaces:
    description:
      - Namespace type (V(pid), V(mount), V(uts), V(ipc), V(net), V(cgroup)) to V(private), V(host),
        V(workload:<name>) (share another workload's, like C(docker run --pid=container:<name>)) or V(path:<file>)
        (join a namespace file such as C(/proc/<pid>/ns/pid) or a bind-mounted one).
      - V(pid) and V(mount) default to V(private), the others to V(host).
      - V(user=private) gives the workload a user namespace of its own, mapped by O(uid_map) and O(gid_map);
        root inside is an unprivileged uid on the host. It is entered after every other namespace and mount is
        made, so those stay the host's and the workload's root cannot change them (no mounts, no hostname,
        no network set-up, no ports below 1024 in a private V(net)). V(user=workload:<name>) and
        V(user=path:<file>) join an existing one and run as its uid 0.
    type: dict
  uid_map:
    description:
      - With V(user=private) in O(namespaces), the user namespace's uid map; lines must not overlap, inside or
        outside, and uid 0 inside must be mapped. At most 340 lines.
      - Default, when V(user=private) in O(namespaces) and no map is given, one line with C(inside=0), C(outside=100000),
        C(count=65536); root inside is uid 100000 on the host, the same range for every workload, like Docker's C(userns-remap),
        so a rootfs can be C(chown)ed to it once. Give each workload its own range to keep them apart.
      - Files in O(rootfs) must be owned by mapped ids to be writable by the workload; ids outside the map
        show as 65534 inside. Without a rootfs, the workload reads the host's files as that unprivileged uid.
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
          - How many ids the range holds, at least 1. Ids run from 0 to 4294967294.
        type: int
        required: true
  gid_map:
    description:
      - As O(uid_map), for group ids; the same default.
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
          - How many ids the range holds, at least 1. Ids run from 0 to 4294967294.
        type: int
        required: true
  readonly_rootfs:
    description:
      - Make the root filesystem read-only, like C(docker run --read-only). With O(rootfs) that is the rootfs;
        without one, the host's C(/) as the workload sees it. O(mounts) keep their own mode.
    type: bool
    default: false
  devices:
    description:
      - Host devices to add to the workload's minimal C(/dev), by path, for example V(/dev/fuse).
      - By default C(/dev) holds only C(null), C(zero), C(full), C(random), C(urandom), C(tty), C(pts) and C(shm),
        with or without O(rootfs); device nodes work nowhere else (every other mount is C(nodev)).
    type: list
    elements: str
  host_dev:
    description:
      - Give the workload the host's C(/dev) instead of a minimal one, and leave device nodes usable on its other
        mounts. Only for workloads that need the host's devices.
    type: bool
    default: false
  capabilities:
    description:
      - Changes to the capabilities the command gets, as Docker's C(--cap-add) and C(--cap-drop). Without them a
        root command gets Docker's default 14 (C(CapEff 00000000a80425fb)) in its bounding, permitted and
        effective sets; inheritable and ambient are always empty.
      - A non-root O(user) gets no capabilities; the set still bounds what file capabilities could give.
      - Names as in capabilities(7), with or without C(CAP_), in any case; an unknown name is refused.
    type: dict
    suboptions:
      add:
        description:
          - Capabilities to add; V(ALL) adds every capability (minus O(capabilities.drop)).
        type: list
        elements: str
      drop:
        description:
          - Capabilities to drop; V(ALL) leaves only those O(capabilities.add) names.
        type: list
        elements: str
  no_new_privileges:
    description:
      - Set the no_new_privs bit, so setuid programs and file capabilities cannot raise the command's privileges.
      - With V(false), a seccomp filter is loaded before the ids change, so a custom O(seccomp) profile must allow
        C(setuid), C(setgid), C(setgroups), C(capset), C(prctl) and C(execve).
    type: bool
    default: true
  seccomp:
    description:
      - V(default) filters system calls as Docker's default profile does (an allow-list; anything else fails
        with EPERM; namespace-creating C(clone), C(unshare), C(mount) and friends only with C(CAP_SYS_ADMIN);
        C(personality) only with the usual personas; the host's architectures only).
      - V(unconfined) runs without a filter.
      - Otherwise the absolute path of a Docker-format JSON profile, checked when the workload is created and read
        again at every start.
      - The filter is compiled by libseccomp. On a host without it (Debian C(libseccomp2), RHEL C(libseccomp)),
        every value but V(unconfined) is refused with a message saying so; a workload never runs unfiltered by
        surprise.
    type: str
    default: default
  apparmor_profile:
    description:
      - AppArmor profile the command runs under, applied as runc does. Refused where the host does not run
        AppArmor or has no such profile loaded.
    type: str
  selinux_label:
    description:
      - SELinux process label of the command, applied as runc does. Refused where the host does not run SELinux.
    type: str
  init:
    description:
      - Run nsfleet's init as PID 1; it reaps orphans, forwards signals to the command and exits with its exit code.
      - With V(false) the command itself is PID 1, and signals it has no handler for do not reach it.
    type: bool
    default: true
  stop_signal:
    description:
      - Signal that asks the workload to stop, by name or number.
    type: str
    default: SIGTERM
  stop_timeout:
    description:
      - Seconds to wait after O(stop_signal) before C(SIGKILL).
    type: float
    default: 10
  restart_policy:
    description:
      - When the supervisor restarts the command after it exits, with a backoff from 0.1 to 10 seconds.
    type: str
    choices: ['no', on-failure, always]
    default: 'no'
  limits:
    description:
      - Resource limits, applied through the workload's own cgroup (cgroup v2, or the v1 C(memory), C(pids) and
        C(cpu) controllers on v1 and hybrid hosts; the executor detects which at run time).
      - Every process of the workload is in the cgroup from its first instruction, and O(state=absent) kills what is
        left in it and removes it.
      - A workload killed by the OOM killer exits with code V(137) and reports RV(workload.oom_killed=true); its
        O(restart_policy) applies.
      - A change of limits recreates the workload, like any change of the spec.
    type: dict
    suboptions:
      memory:
        description:
          - Memory limit, in bytes or with a unit as in C(docker run --memory), for example V(512m) or V(1g); at
            least V(6m).
        type: str
      memory_swap:
        description:
          - Memory and swap together, as in C(docker run --memory-swap); V(-1) for unlimited swap. Needs
            O(limits.memory).
          - Unlike Docker, left unset it means no swap at all, so an allocation past O(limits.memory) is an OOM kill.
        type: str
      pids:
        description:
          - The most processes and threads the workload may have at once (at least V(1)); its init counts.
        type: int
      cpu:
        description:
          - CPU time as a number of CPUs, as in C(docker run --cpus), for example V(0.5); at most the host's CPU count.
        type: float
      cpu_weight:
        description:
          - Relative CPU share when CPUs are contended, V(1) to V(10000), default V(100) (cgroup v2 C(cpu.weight);
            on v1 it becomes C(cpu.shares), 100 being 1024).
        type: int
  cgroup_parent:
    description:
      - The cgroup under which the workload's own cgroup, C(<cgroup_parent>/<name>), is made, as an absolute path in
        each hierarchy.
      - By default V(/nsfleet) at the root of the hierarchies, beside systemd's slices, as Docker's C(cgroupfs) driver
        puts C(/docker); systemd leaves cgroups it did not create alone. On a cgroup v2 host a parent must hold no
        processes of its own; to stay inside systemd's tree, give a cgroup that systemd delegated (a unit with
        C(Delegate=yes)) and that no process of the unit is in.
      - With O(state_dir) other than V(/), the default is V(/nsfleet-<crc32 of the state dir>), so several state dirs
        on one host never share a cgroup.
    type: str
  log_max_size:
    description:
      - The size past which the workload's log (its stdout and stderr, in C(<state_dir>/var/log/nsfleet/<name>.log))
        is rotated, in bytes or with a V(k), V(m), V(g) or V(t) suffix (binary units), from V(4k) to V(1t).
      - No log file passes it; a workload that writes faster than the disk takes waits for its supervisor.
      - The executor's default is V(10m).
    type: str
  log_max_files:
    description:
      - How many log files are kept, the current one included; V(1) keeps no rotated copy. From 1 to 100.
      - The executor's default is V(3).
    type: int
  labels:
    description:
      - Metadata, name to value, for selecting workloads; M(nsfleet.pidns.workloads) prunes by them.
      - Names are letters, digits, V(_), V(.), V(-) and V(/), at most 63 characters; values are strings of one line.
      - Labels are not part of the spec hash. Changing only them stores the new labels and leaves the workload
        running as it is.
    type: dict
  recreate:
    description:
      - Remove and create the workload even when its spec did not change.
    type: bool
    default: false
extends_documentation_fragment:
  - nsfleet.pidns.common
  - nsfleet.pidns.common.attributes
seealso:
  - module: nsfleet.pidns.workload_info
"""

EXAMPLES = r"""
- name: Run a web server in its own PID and mount namespaces
  nsfleet.pidns.workload:
    name: web
    command: [python3, -m, http.server, "8080"]
    hostname: web
    restart_policy: on-failure

- name: Run a sidecar in the web server's PID namespace
  nsfleet.pidns.workload:
    name: web-sidecar
    command: [sleep, infinity]
    namespaces:
      pid: workload:web

- name: Run busybox from a root filesystem with a read-only data mount
  nsfleet.pidns.workload:
    name: box
    rootfs: /srv/rootfs/busybox
    command: [/bin/sh, -c, "sleep 3600"]
    user: "65534:65534"
    mounts:
      - src: /srv/data
        dest: /data
        readonly: true
      - type: tmpfs
        dest: /tmp
        options: size=16m

- name: Stop it
  nsfleet.pidns.workload:
    name: box
    state: stopped

- name: Remove it and everything running in it
  nsfleet.pidns.workload:
    name: box
    state: absent
"""

RETURN = r"""
actions:
  description: What the module did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create, start]
workload:
  description: The workload after the change; V(null) once removed.
  returned: always
  type: dict
  contains:
    name:
      description: Workload name.
      type: str
      returned: always
      sample: web
    status:
      description: V(created), V(running), V(stopped), V(exited), V(dead) (nothing runs and no exit was recorded)
        , V(orphaned) (init runs without its supervisor) or V(stale) (it was running before the host rebooted;
        O(state=started) starts it again).
      type: str
      returned: always
      sample: running
    exit_code:
      description: Exit code of the last run; 128+N after death by signal N.
      type: int
      returned: always
      sample: 0
    init_host_pid:
      description: Host PID of the workload's init (PID 1 inside), while it runs.
      type: int
      returned: always
      sample: 4242
    started_at:
      description: When the current or last run started, UTC.
      type: str
      returned: always
      sample: "2026-11-23T07:12:48Z"
    spec_hash:
      description: sha256 of the normalised spec; a different one means the workload is recreated.
      type: str
      returned: always
    restart_count:
      description: How many times the supervisor restarted the command.
      type: int
      returned: always
      sample: 0
    namespaces:
      description: Namespace ids of the running workload, by type.
      type: dict
      returned: always
      sample: {pid: "pid:[4026532207]", mnt: "mnt:[4026532206]"}
    user_namespace:
      description: The uid and gid maps in force, while it runs; the host's own user namespace maps
        V(0 0 4294967295).
      type: dict
      returned: always
      sample: {uid_map: [{inside: 0, outside: 100000, count: 65536}], gid_map: [{inside: 0, outside: 100000, count: 65536}]}
    oom_killed:
      description: Whether the OOM killer killed a process of the workload's last run (reset at each start).
      type: bool
      returned: always
      sample: false
    cgroup:
      description:
        - The workload's cgroup, V(null) when none could be made (a host without usable cgroups runs workloads
          without limits all the same).
        - C(version) is V(2) (unified) or V(1) (v1 or hybrid host); C(dirs) maps V(unified), or each v1 controller,
          to the absolute directory.
      type: dict
      returned: always
      sample: {version: 1, path: /nsfleet/web, dirs: {memory: /sys/fs/cgroup/memory/nsfleet/web,
               pids: /sys/fs/cgroup/pids/nsfleet/web}}
    processes:
      description: The PID mapping, every process visible in the workload's PID namespace.
      type: list
      elements: dict
      returned: always
      sample: [{host_pid: 4242, ns_pid: 1, ppid: 0, comm: nsfleet-init, state: S},
               {host_pid: 4243, ns_pid: 2, ppid: 1, comm: python3, state: S}]
    security:
      description: The confinement in force for the workload's command, every default spelled out.
      type: dict
      returned: always
      contains:
        capabilities:
          description: Capability names by set (C(bounding), C(effective), C(permitted), C(inheritable), C(ambient)).
          type: dict
          returned: always
          sample: {bounding: [CAP_CHOWN, CAP_KILL], effective: [CAP_CHOWN, CAP_KILL], permitted: [CAP_CHOWN, CAP_KILL],
                   inheritable: [], ambient: []}
        no_new_privileges:
          description: Whether the no_new_privs bit is set.
          type: bool
          returned: always
          sample: true
        seccomp:
          description: V(default), V(unconfined) or the profile's path.
          type: str
          returned: always
          sample: default
        apparmor_profile:
          description: The AppArmor profile, or V(null).
          type: str
          returned: always
        selinux_label:
          description: The SELinux label, or V(null).
          type: str
          returned: always
        readonly_rootfs:
          description: Whether the root filesystem is read-only.
          type: bool
          returned: always
          sample: false
        dev:
          description: V(minimal) (nsfleet's own C(/dev)) or V(host) (O(host_dev)).
          type: str
          returned: always
          sample: minimal
    spec:
      description: The normalised spec.
      type: dict
      returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsfleet.pidns.plugins.module_utils._workload_manager import WorkloadManager
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.schema import module_argument_spec


def main():
    argument_spec = module_argument_spec()  # the spec options, from the executor's one table of fields
    argument_spec.update(
        state=dict(type="str", default="started", choices=["present", "started", "stopped", "restarted", "absent"]),
        recreate=dict(type="bool", default=False),
        state_dir=dict(type="path", default="/"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
    )
    WorkloadManager(module).run()


if __name__ == "__main__":
    main()
