# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Confining a workload's command: the one path every command takes into a workload.

``prepare(spec)`` runs on the host side, before the fork into the workload's
namespaces: it compiles the seccomp filter (libseccomp is never loaded from a
workload's rootfs), and the forked child inherits it. ``confine(spec)`` runs in the process about to exec the
command (started by init, or by ``nsfleet exec``), in this order:

1. every descriptor past stderr becomes close-on-exec: only 0, 1, 2 reach the command;
2. without no_new_privileges, seccomp now, while CAP_SYS_ADMIN allows loading it;
3. the AppArmor profile or SELinux label the exec takes;
4. the bounding set drops to the workload's capabilities (needs CAP_SETPCAP, so before setuid);
5. groups, gid, uid (a non-root uid loses every capability here, as in Docker);
6. permitted and effective become the workload's set (root) or stay empty; inheritable and ambient empty;
7. the working directory, resolved inside the workload's root, never through a magic link;
8. no_new_privileges, then seccomp last: the filter allows execve.

Steps 1-6 (``drop_privileges``) need nothing of the workload's filesystem;
7-8 (``seal``) come once it is finished. init starts its command between the
two, while it still builds the filesystem.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ..host import descriptors, libc
from . import capabilities, paths

_programs = {}  # (seccomp value, capabilities) -> compiled BPF, per process
_not_kept = {}  # the same keys -> the inputs of a program compiled here that no cache holds yet


def capability_set(spec):
    """The names the workload's bounding set holds."""
    return capabilities.effective_set(spec["capabilities"]["add"], spec["capabilities"]["drop"])


def runs_as_root(spec):
    return spec["user"] is None or spec["user"]["uid"] == 0


def _profile_source(value):
    """What a ``seccomp`` value compiles from, as bytes: the default profile's source file, or the profile file.

    The default profile's module is not even imported when its filter is cached.
    """
    path = value
    if value == "default":
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seccomp_default.py")
    with open(path, "rb") as profile_file:
        return profile_file.read()


def _parse_profile(value, source):
    if value == "default":
        from .seccomp_default import profile
        return profile()
    import json
    profile = json.loads(source.decode("utf-8"))
    if not isinstance(profile, dict) or not isinstance(profile.get("syscalls", []), list):
        raise ValueError("not a seccomp profile: a JSON object with a syscalls list is expected")
    return profile


def _key(spec):
    return spec["seccomp"], capability_set(spec)


def prepare(spec, cache_dir=None, isolated=False, keep=True):
    """Compile what ``confine`` will load, or take it from ``cache_dir``; SeccompError says why it cannot.

    ``isolated``: compile in a child process, so a long-lived supervisor never carries libseccomp.
    ``keep``: write a program compiled here to ``cache_dir``. Validation passes False: it writes
    nothing, and the start that follows it in the same process keeps what it compiled.

    It also imports the modules ``confine`` needs for this spec, and only those:
    the child runs ``confine`` after pivot_root, where nothing can be imported.
    """
    if _labelled(spec):
        from . import lsm  # noqa: F401 - for confine
    key = _key(spec)
    if spec["seccomp"] == "unconfined":
        return
    from . import filter_cache, seccomp
    if key not in _programs:
        try:
            source = _profile_source(spec["seccomp"])
            inputs = b"\n".join((source, ",".join(sorted(key[1])).encode(), os.uname().machine.encode(),
                                 os.uname().release.encode(), seccomp.PROGRAM_LAYOUT))
            program = filter_cache.read(cache_dir, inputs) if cache_dir else None
            if program is None:
                compile_now = _compile_in_child if isolated else _compile
                program = compile_now(spec["seccomp"], source, key[1])
                _not_kept[key] = inputs
        except (OSError, ValueError) as error:
            raise seccomp.SeccompError("seccomp profile %s: %s" % (spec["seccomp"], error))
        _programs[key] = program
    if keep and cache_dir and key in _not_kept:
        filter_cache.write(cache_dir, _not_kept.pop(key), _programs[key])


def _labelled(spec):
    return bool(spec.get("apparmor_profile") or spec.get("selinux_label"))  # validation passes a partial spec


def _compile(value, source, allowed):
    from . import seccomp
    return seccomp.compile_profile(_parse_profile(value, source), allowed)


def _compile_in_child(value, source, allowed):
    """``_compile`` in a forked child that sends the program back: the library stays out of this process."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            answer = b"P" + _compile(value, source, allowed)
        except BaseException as error:  # noqa: B902 - nothing may escape a forked child
            answer, code = b"E" + str(error).encode("utf-8", "replace"), 1
        try:
            while answer:
                answer = answer[os.write(write_fd, answer):]
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    try:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    answer = b"".join(chunks)
    if answer[:1] != b"P" or len(answer) == 1:
        from . import seccomp
        raise seccomp.SeccompError(answer[1:].decode("utf-8", "replace") or "the filter compiler died")
    return answer[1:]


def confine(spec):
    """Everything between set-up and the command's exec, in order; the caller execs right after."""
    drop_privileges(spec)
    seal(spec)


def _prepared_program(spec, allowed):
    """The compiled seccomp filter (None: unconfined); RuntimeError if ``prepare`` did not make it.

    ``allowed``: ``capability_set(spec)``, which the caller has already.
    """
    if spec["seccomp"] == "unconfined":
        return None
    program = _programs.get((spec["seccomp"], allowed))
    if program is None:
        raise RuntimeError("seccomp: the filter was not prepared before entering the workload")
    return program


def drop_privileges(spec):
    """Steps 1-6: descriptors, labels, capabilities, ids. Nothing here looks at the workload's filesystem."""
    allowed = capability_set(spec)
    program = _prepared_program(spec, allowed)
    descriptors.close_on_exec_past_stderr()
    if program is not None and not spec["no_new_privileges"]:
        from . import seccomp  # imported by prepare
        seccomp.load(program)  # the profile must allow what follows (setuid, capset, prctl, execve)
    if _labelled(spec):
        from . import lsm  # imported by prepare
        lsm.apply(spec["apparmor_profile"], spec["selinux_label"])
    capabilities.drop_bounding(allowed)
    become_user(spec["user"])
    capabilities.set_process_sets(allowed if runs_as_root(spec) else ())


def seal(spec):
    """Steps 7-8, in the finished filesystem: the working directory, then no_new_privileges and seccomp, last."""
    enter_working_directory(spec["cwd"])
    if spec["no_new_privileges"]:
        libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
        program = _prepared_program(spec, capability_set(spec))
        if program is not None:
            from . import seccomp  # imported by prepare
            seccomp.load(program)


def become_user(user):
    if user is None:
        return
    if os.getgroups():  # none left already in a joined user namespace, which may forbid setgroups
        os.setgroups([])
    os.setgid(user["gid"])
    os.setuid(user["uid"])


def enter_working_directory(cwd):
    """chdir to ``cwd`` resolved inside this process's root: no symlink or /proc/self/fd link leads out."""
    root_fd = paths.open_root("/")
    try:
        target = paths.open_in_root(root_fd, cwd)
    finally:
        os.close(root_fd)
    try:
        os.fchdir(target)
    finally:
        os.close(target)


def make_undumpable():
    """No /proc/PID/mem, exe, fd or environ of this process for anyone without CAP_SYS_PTRACE."""
    libc.prctl(libc.PR_SET_DUMPABLE, 0)


def record(spec):
    """The confinement in force for the workload's command, as ``inspect`` shows it."""
    allowed = sorted(capability_set(spec), key=capabilities.NUMBERS.get)
    process = allowed if runs_as_root(spec) else []
    return {
        "capabilities": {"bounding": allowed, "effective": process, "permitted": process, "inheritable": [],
                         "ambient": []},
        "no_new_privileges": spec["no_new_privileges"],
        "seccomp": spec["seccomp"],
        "apparmor_profile": spec["apparmor_profile"],
        "selinux_label": spec["selinux_label"],
        "readonly_rootfs": spec["readonly_rootfs"],
        "dev": "host" if spec["host_dev"] else "minimal",
    }
