"""What confines a workload's command: capabilities, no_new_privileges, seccomp, LSMs, and the CVE classes runc met."""

import json
import os
import subprocess

import pytest
from nsfleet_cli import NSFLEET

STATUS_KEYS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
DOCKER_DEFAULT_CAPS = "00000000a80425fb"


def proc_status(nsfleet, *options):
    out = nsfleet("run", "--rm", *options, "--", "/bin/cat", "/proc/self/status").stdout
    fields = dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)
    return dict((key, fields[key].strip()) for key in STATUS_KEYS)


@pytest.mark.parametrize("with_rootfs", [False, True], ids=["host-root", "rootfs"])
def test_a_root_command_gets_dockers_defaults(nsfleet, busybox_rootfs, with_rootfs):
    status = proc_status(nsfleet, *(("--rootfs", busybox_rootfs) if with_rootfs else ()))
    assert status == {"CapInh": "0000000000000000", "CapPrm": DOCKER_DEFAULT_CAPS, "CapEff": DOCKER_DEFAULT_CAPS,
                      "CapBnd": DOCKER_DEFAULT_CAPS, "CapAmb": "0000000000000000", "NoNewPrivs": "1",
                      "Seccomp": "2"}


def test_a_non_root_user_gets_no_capabilities(nsfleet, busybox_rootfs):
    status = proc_status(nsfleet, "--rootfs", busybox_rootfs, "--user", "guest")
    assert (status["CapEff"], status["CapPrm"], status["CapInh"], status["CapAmb"]) == ("0000000000000000",) * 4
    assert status["CapBnd"] == DOCKER_DEFAULT_CAPS


def test_capabilities_add_and_drop(nsfleet):
    status = proc_status(nsfleet, "--cap-drop", "ALL", "--cap-add", "net_admin", "--cap-add", "CAP_KILL")
    assert status["CapEff"] == status["CapBnd"] == "%016x" % ((1 << 12) | (1 << 5))
    status = proc_status(nsfleet, "--cap-drop", "chown", "--cap-drop", "CAP_MKNOD")
    assert int(status["CapEff"], 16) == int(DOCKER_DEFAULT_CAPS, 16) & ~1 & ~(1 << 27)


def test_new_privileges_and_unconfined_when_asked(nsfleet):
    status = proc_status(nsfleet, "--allow-new-privileges", "--seccomp", "unconfined")
    assert (status["NoNewPrivs"], status["Seccomp"]) == ("0", "0")
    status = proc_status(nsfleet, "--allow-new-privileges")
    assert (status["NoNewPrivs"], status["Seccomp"]) == ("0", "2")  # the filter still loads, before the ids change


def test_default_filter_refuses_namespaces_without_sys_admin(nsfleet, busybox_rootfs):
    # Creating a user namespace needs no capability: only the filter stops it.
    script = "unshare -U true 2>&1 && echo allowed"
    refused = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--", "/bin/sh", "-c", script, check=False)
    assert refused.returncode == 1 and "Operation not permitted" in refused.stdout
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--seccomp", "unconfined", "--", "/bin/sh", "-c",
                  script).stdout
    assert "allowed" in out


def test_default_filter_lets_threads_and_children_run(nsfleet):
    code = "import subprocess, threading; t = threading.Thread(target=print, args=('thread',)); t.start(); t.join();" \
           " print(subprocess.run(['/bin/true']).returncode)"
    assert nsfleet("run", "--rm", "--", "python3", "-c", code).stdout.split() == ["thread", "0"]


def test_a_docker_format_profile_file(nsfleet, busybox_rootfs, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--seccomp", str(profile), "--", "/bin/sh", "-c",
                  "mkdir /tmp/x 2>&1; grep Seccomp: /proc/self/status").stdout
    assert "Permission denied" in out and "Seccomp:\t2" in out


@pytest.mark.parametrize("option", [("--apparmor-profile", "docker-default"), ("--selinux-label", "system_u:system_r:container_t:s0")],
                         ids=["apparmor", "selinux"])
def test_a_label_the_host_cannot_apply_is_refused(nsfleet, option):
    result = nsfleet("run", "--rm", *option, "--", "true", check=False)
    assert result.returncode == 2
    assert option[0].lstrip("-").replace("-", "_") in result.stderr and "does not run" in result.stderr


def test_inspect_shows_the_confinement(nsfleet):
    nsfleet.detach("sec-inspect", "sleep", "60", options=("--user", "65534:65534", "--cap-add", "SYS_PTRACE"))
    security = nsfleet.inspect("sec-inspect")["security"]
    assert security["no_new_privileges"] is True and security["seccomp"] == "default"
    assert "CAP_SYS_PTRACE" in security["capabilities"]["bounding"] and len(security["capabilities"]["bounding"]) == 15
    assert security["capabilities"]["effective"] == [] and security["capabilities"]["ambient"] == []
    assert security["dev"] == "minimal" and security["apparmor_profile"] is None


# runc's fd-leak test: whatever the caller holds open, the command sees 0, 1, 2 and the listing's own descriptor.
@pytest.mark.parametrize("options", [(), ("--no-init",), ("--rootfs",)], ids=["init", "no-init", "rootfs"])
def test_only_stdio_reaches_the_command(nsfleet, busybox_rootfs, tmp_path, options):
    if options == ("--rootfs",):
        options = ("--rootfs", busybox_rootfs)
    host_dir = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    leaked_file = os.open(NSFLEET, os.O_RDONLY)
    try:
        result = subprocess.run([NSFLEET, "--state-dir", nsfleet.state_dir, "run", "--rm"] + list(options)
                                + ["--", "/bin/ls", "/proc/self/fd"], capture_output=True, text=True, timeout=60,
                                pass_fds=(host_dir, leaked_file), check=True)
    finally:
        os.close(host_dir)
        os.close(leaked_file)
    assert result.stdout.split() == ["0", "1", "2", "3"]


@pytest.mark.parametrize("with_rootfs", [False, True], ids=["host-root", "rootfs"])
def test_init_and_its_python_are_out_of_reach(nsfleet, busybox_rootfs, with_rootfs):
    """CVE-2019-5736: /proc/1/exe is the host's Python running init; nothing of it opens from inside."""
    probes = ["echo x >> /proc/1/exe", "head -c 1 /proc/1/exe", "readlink /proc/1/fd/0", "ls /proc/1/cwd/", "ls /proc/1/root/",
              "head -c 1 /proc/1/mem", "cat /proc/1/environ"]
    script = "; ".join("(%s) >/dev/null 2>&1 && echo open || echo denied" % probe for probe in probes)
    options = ("--rootfs", busybox_rootfs) if with_rootfs else ()
    out = nsfleet("run", "--rm", *options, "--", "/bin/sh", "-c", script).stdout.split()
    assert out == ["denied"] * len(probes)


def test_self_exe_is_the_workloads_own_program(nsfleet, busybox_rootfs):
    """CVE-2019-5736 through /proc/self/exe: it names the rootfs's busybox, busy while it runs."""
    script = "(echo x >> /proc/self/exe) 2>/dev/null && echo open || echo denied; readlink /proc/self/exe"
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--", "/bin/sh", "-c", script).stdout.split()
    assert out == ["denied", "/bin/busybox"]


def test_cwd_never_leads_through_a_leaked_descriptor(nsfleet, busybox_rootfs, tmp_path):
    """CVE-2024-21626: cwd /proc/self/fd/N would be a host directory the runtime held open."""
    host_dir = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for options in ((), ("--rootfs", busybox_rootfs)):
            result = subprocess.run([NSFLEET, "--state-dir", nsfleet.state_dir, "run", "--rm", "--cwd",
                                     "/proc/self/fd/%d" % host_dir] + list(options) + ["--", "/bin/pwd"],
                                    capture_output=True, text=True, timeout=60, pass_fds=(host_dir,), check=False)
            assert result.returncode != 0 and str(tmp_path) not in result.stdout, (options, result)
    finally:
        os.close(host_dir)


def test_cwd_swapped_for_a_symlink_stays_in_the_rootfs(nsfleet, busybox_rootfs):
    workdir = os.path.join(busybox_rootfs, "workdir-swap")
    os.mkdir(workdir)
    try:
        nsfleet.json("create", "--spec", "-", stdin=json.dumps({
            "name": "sec-cwd", "rootfs": busybox_rootfs, "cwd": "/workdir-swap",
            "command": ["/bin/sh", "-c", "cat etc/marker 2>/dev/null || pwd"]}))
        os.rmdir(workdir)
        os.symlink("../../../../../..", workdir)  # out to the host's / if followed on the host
        nsfleet("start", "sec-cwd")
        log = os.path.join(nsfleet.state_dir, "var", "log", "nsfleet", "sec-cwd.log")
        nsfleet("stop", "sec-cwd")
        with open(log) as output:
            assert output.read().strip() == "inside the rootfs"
    finally:
        if os.path.islink(workdir):
            os.unlink(workdir)


def test_exec_gets_the_same_confinement(nsfleet, busybox_rootfs):
    nsfleet.detach("sec-exec", "/bin/sleep", "60", options=("--rootfs", busybox_rootfs, "--cap-drop", "CAP_KILL"))
    status = nsfleet("exec", "sec-exec", "--", "/bin/cat", "/proc/self/status").stdout
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert int(fields["CapEff"], 16) == int(DOCKER_DEFAULT_CAPS, 16) & ~(1 << 5)
    assert (fields["NoNewPrivs"].strip(), fields["Seccomp"].strip()) == ("1", "2")
    assert nsfleet("exec", "sec-exec", "--", "/bin/cat", "/proc/1/exe", check=False).returncode != 0


def test_a_profile_gone_by_the_start_fails_the_start_not_the_filter(nsfleet, tmp_path):
    profile = tmp_path / "gone.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}))
    nsfleet.json("create", "--spec", "-", stdin=json.dumps({"name": "sec-gone", "command": ["/bin/sleep", "60"],
                                                            "seccomp": str(profile)}))
    profile.unlink()
    result = nsfleet("start", "sec-gone", check=False)
    assert result.returncode == 1 and "seccomp profile %s" % profile in result.stderr, result.stderr
    assert nsfleet.inspect("sec-gone")["status"] == "exited"


def test_a_first_compile_leaves_the_pid_mapping_alone(nsfleet):
    """With no filter cached yet, the compiler child runs outside the workload: its command is still PID 2."""
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "run", "nsfleet", ".seccomp"))
    workload = nsfleet.detach("sec-first", "/bin/sleep", "60", options=("--cap-add", "NET_ADMIN"))
    assert [(process["ns_pid"], process["ppid"]) for process in nsfleet.inspect("sec-first")["processes"]] == \
        [(1, 0), (2, 1)], workload
    assert os.listdir(os.path.join(nsfleet.state_dir, "run", "nsfleet", ".seccomp"))
