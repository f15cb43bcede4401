"""``nsfleet exec``: into every namespace of a running workload, with a PID inside, bounded, leaking nothing."""

import json
import os
import subprocess
import uuid

import pytest
from nsfleet_cli import NSFLEET, alive, wait_for


def exec_json(nsfleet, name, *command, options=()):
    return nsfleet.json("exec", "--json", *options, name, "--", *command)


def test_exec_sees_the_workloads_hostname_pid_namespace_and_root(nsfleet, busybox_rootfs):
    workload = nsfleet.detach("box", "/bin/sleep", "1000",
                              options=("--rootfs", busybox_rootfs, "--hostname", "boxed", "--ns", "uts=private"))
    result = exec_json(nsfleet, "box", "/bin/sh", "-c",
                       "hostname; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; cat /etc/marker; echo $$")
    hostname, pidns, mntns, marker, shell_pid = result["stdout"].splitlines()
    assert (hostname, marker) == ("boxed", "inside the rootfs")
    assert pidns == workload["namespaces"]["pid"] and mntns == workload["namespaces"]["mnt"]
    # The command's own PID inside, and its host PID, as the result says.
    assert result["rc"] == 0 and int(shell_pid) == result["ns_pid"] > 2
    assert result["host_pid"] != result["ns_pid"]
    for key in ("start", "end", "delta"):
        assert result[key]


def test_exec_into_a_workload_that_shares_anothers_pid_namespace(nsfleet):
    owner = nsfleet.detach("owner", "/bin/sleep", "1000")
    nsfleet.detach("sharer", "/bin/sleep", "1001", options=("--ns", "pid=workload:owner"))
    result = exec_json(nsfleet, "sharer", "/bin/sh", "-c", "readlink /proc/self/ns/pid; ls /proc")
    lines = result["stdout"].split()
    assert lines[0] == owner["namespaces"]["pid"]
    assert "1" in lines[1:]  # the owner's init, seen from the sharer's exec


def test_the_exit_code_stdin_env_user_and_cwd(nsfleet):
    nsfleet.detach("opts", "/bin/sleep", "1000", options=("--env", "FROM_SPEC=spec"))
    assert nsfleet("exec", "opts", "--", "/bin/sh", "-c", "exit 7", check=False).returncode == 7
    echoed = nsfleet("exec", "opts", "--", "/bin/cat", stdin="fed through\n")
    assert echoed.stdout == "fed through\n"
    result = exec_json(nsfleet, "opts", "/bin/sh", "-c", "id -u; pwd; echo $FROM_SPEC $ADDED",
                       options=("--user", "65534", "--cwd", "/tmp", "--env", "ADDED=exec"))
    assert result["stdout"].splitlines() == ["65534", "/tmp", "spec exec"]


def test_a_timeout_kills_the_whole_tree_even_when_it_ignores_sigterm(nsfleet):
    nsfleet.detach("slow", "/bin/sleep", "1000")
    marker = "10%d" % (os.getpid() % 1000)
    result = exec_json(nsfleet, "slow", "/bin/sh", "-c",
                       "trap '' TERM; sleep 2%s & setsid sleep 3%s & sleep 4%s" % (marker, marker, marker),
                       options=("--timeout", "1"))
    assert result["timed_out"] and result["rc"] == 137
    # Only init and the workload's own command are left: the three sleeps died with the shell.
    assert wait_for(lambda: len(nsfleet.inspect("slow")["processes"]) == 2, timeout=5), nsfleet.inspect("slow")
    assert nsfleet("exec", "slow", "--timeout", "0.5", "--", "/bin/sleep", "10", check=False).returncode == 137


def test_only_stdio_reaches_the_command_not_a_callers_host_directory(nsfleet, busybox_rootfs, tmp_path):
    """As runc's fd-leak test: the caller holds a host directory open; inside, it is not there."""
    nsfleet.detach("jail", "/bin/sleep", "1000", options=("--rootfs", busybox_rootfs))
    secret = tmp_path / "host-secret"
    secret.mkdir()
    (secret / "key").write_text("host only\n")
    host_dir = os.open(str(secret), os.O_RDONLY | os.O_DIRECTORY)
    try:
        probe = ("ls /proc/$$/fd; cat /proc/$$/fd/%d/key 2>/dev/null || echo unreachable; "
                 "cat /proc/$$/cwd/../host-secret/key 2>/dev/null || echo no-way-up") % host_dir
        result = subprocess.run([NSFLEET, "--state-dir", nsfleet.state_dir, "exec", "jail", "--",
                                 "/bin/sh", "-c", probe], pass_fds=(host_dir,), capture_output=True, text=True,
                                timeout=60, check=False)
    finally:
        os.close(host_dir)
    lines = result.stdout.split()
    assert result.returncode == 0, result.stderr
    assert lines[-2:] == ["unreachable", "no-way-up"]
    assert sorted(lines[:-2]) == ["0", "1", "2"], result.stdout


def test_the_cwd_is_resolved_inside_the_root(nsfleet, busybox_rootfs):
    nsfleet.detach("cwd", "/bin/sleep", "1000", options=("--rootfs", busybox_rootfs))
    escape = exec_json(nsfleet, "cwd", "/bin/pwd", options=("--cwd", "/../../../../tmp"))
    assert escape["stdout"] == "/tmp\n"
    refused = nsfleet("exec", "--cwd", "/no/such", "cwd", "--", "/bin/true", check=False)
    assert refused.returncode == 1 and "cwd /no/such" in refused.stderr


def test_creates_and_removes_look_inside_the_workload(nsfleet, busybox_rootfs):
    nsfleet.detach("guard", "/bin/sleep", "1000", options=("--rootfs", busybox_rootfs))
    skipped = exec_json(nsfleet, "guard", "/bin/false", options=("--creates", "/etc/marker"))
    assert skipped["skipped"] and skipped["rc"] == 0
    ran = exec_json(nsfleet, "guard", "/bin/true", options=("--removes", "/etc/marker"))
    assert not ran.get("skipped") and ran["rc"] == 0
    # The state dir exists on the host, not in the rootfs.
    assert exec_json(nsfleet, "guard", "/bin/true", options=("--removes", nsfleet.state_dir))["skipped"]


def test_a_workload_that_is_not_running_is_refused_clearly(nsfleet):
    nsfleet("create", "--spec", "-", stdin=json.dumps({"name": "idle", "command": ["/bin/sleep", "1"]}))
    result = nsfleet("exec", "idle", "--", "/bin/true", check=False)
    assert result.returncode == 1 and "workload 'idle' is not running (status: created)" in result.stderr
    assert nsfleet("exec", "ghost", "--", "/bin/true", check=False).returncode == 3
    bad = nsfleet("exec", "idle", "--timeout", "nan", "--", "/bin/true", check=False)
    assert bad.returncode == 2 and "timeout" in bad.stderr


def test_a_command_that_cannot_exec_exits_127_and_says_why(nsfleet):
    nsfleet.detach("noexec", "/bin/sleep", "1000")
    result = nsfleet("exec", "noexec", "--", "/no/such/program", check=False)
    assert result.returncode == 127 and "/no/such/program" in result.stderr


def test_a_terminal_on_stdin_reaches_the_command(nsfleet):
    nsfleet.detach("tty", "/bin/sleep", "1000")
    line = "%s --state-dir %s exec tty -- /bin/sh -c 'test -t 0 && test -t 1 && echo has-a-tty'" % (
        NSFLEET, nsfleet.state_dir)
    result = subprocess.run(["script", "-qec", line, "/dev/null"], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL, check=False)
    assert "has-a-tty" in result.stdout, result


@pytest.fixture
def pids_cgroup():
    parent = "/sys/fs/cgroup/pids"
    if not os.access(parent, os.W_OK) or not os.path.exists(os.path.join(parent, "cgroup.procs")):
        pytest.skip("no writable cgroup v1 pids hierarchy")
    path = os.path.join(parent, "nsfleet-exec-test-%s" % uuid.uuid4().hex[:8])
    os.mkdir(path)
    yield path
    wait_for(lambda: not open(os.path.join(path, "cgroup.procs")).read().strip(), timeout=10)
    os.rmdir(path)


def test_exec_enters_the_cgroup_the_state_records(nsfleet, pids_cgroup):
    nsfleet.detach("grouped", "/bin/sleep", "1000")
    state_path = os.path.join(nsfleet.state_dir, "run", "nsfleet", "grouped", "state.json")
    state = nsfleet.state("grouped")
    state["cgroup"] = {"version": 1, "path": pids_cgroup, "dirs": {"pids": pids_cgroup}}
    with open(state_path, "w") as state_file:
        json.dump(state, state_file)
    result = exec_json(nsfleet, "grouped", "/bin/cat", "/proc/self/cgroup")
    relative = pids_cgroup[len("/sys/fs/cgroup/pids"):]
    assert any(line.endswith(":pids:" + relative) for line in result["stdout"].splitlines()), result["stdout"]
    assert not alive(result["host_pid"])
