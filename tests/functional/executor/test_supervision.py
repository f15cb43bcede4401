"""The supervisor: restart policy, logs, status after the fact."""

import json
import os

from nsfleet_cli import wait_for


def test_on_failure_restarts_with_backoff_and_counts(nsfleet):
    nsfleet.detach("flaky", "/bin/sh", "-c", "exit 3", options=("--restart", "on-failure"))
    assert wait_for(lambda: nsfleet.inspect("flaky")["restart_count"] >= 3, timeout=15)
    workload = nsfleet.json("stop", "flaky")
    assert workload["status"] == "stopped"
    count = workload["restart_count"]
    assert nsfleet.inspect("flaky")["restart_count"] == count  # stopped means no more restarts


def test_on_failure_does_not_restart_success(nsfleet):
    nsfleet.detach("fine", "/bin/true", options=("--restart", "on-failure"))
    assert wait_for(lambda: nsfleet.inspect("fine")["status"] == "exited")
    workload = nsfleet.inspect("fine")
    assert (workload["exit_code"], workload["restart_count"]) == (0, 0)


def test_always_restarts_success_too(nsfleet):
    nsfleet.detach("loop", "/bin/true", options=("--restart", "always"))
    assert wait_for(lambda: nsfleet.inspect("loop")["restart_count"] >= 2, timeout=15)


def test_output_goes_to_the_log(nsfleet):
    nsfleet.detach("talker", "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2")
    log = os.path.join(nsfleet.state_dir, "var", "log", "nsfleet", "talker.log")
    assert wait_for(lambda: os.path.exists(log) and "to-stderr" in open(log).read())
    assert open(log).read().split() == ["to-stdout", "to-stderr"]


def test_start_after_exit_runs_again(nsfleet):
    nsfleet.detach("again", "/bin/sh", "-c", "exit 4")
    assert wait_for(lambda: nsfleet.inspect("again")["status"] == "exited")
    workload = nsfleet.json("start", "again")
    assert workload["changed"] is True


def test_create_is_idempotent_and_refuses_a_changed_spec(nsfleet):
    spec = '{"name": "same", "command": ["/bin/sleep", "5"]}'
    assert nsfleet.json("create", "--spec", "-", stdin=spec)["changed"] is True
    assert nsfleet.json("create", "--spec", "-", stdin=spec)["changed"] is False
    other = '{"name": "same", "command": ["/bin/sleep", "6"]}'
    result = nsfleet("create", "--spec", "-", stdin=other, check=False)
    assert result.returncode == 1 and "another spec" in result.stderr
    assert nsfleet.json("create", "--replace", "--spec", "-", stdin=other)["spec"]["command"][1] == "6"


def test_bad_spec_leaves_nothing_behind(nsfleet):
    result = nsfleet("create", "--spec", "-", stdin='{"name": "bad", "command": ["/no/such/program"]}', check=False)
    assert result.returncode == 2 and result.stderr.startswith("nsfleet: command:")
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "var", "lib", "nsfleet", "bad"))
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "run", "nsfleet", "bad"))


def _processes_running(marker):
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def test_a_set_up_that_fails_after_the_command_was_forked_says_why_and_leaves_nothing(nsfleet, busybox_rootfs,
                                                                                      tmp_path):
    """init forks its command before it builds the mounts; a mount that then fails must take the command along."""
    source = tmp_path / "gone-by-the-start"
    source.mkdir()
    nsfleet("create", "--spec", "-", stdin=json.dumps({
        "name": "doomed", "rootfs": busybox_rootfs, "command": ["/bin/sleep", "987654"],
        "mounts": [{"src": str(source), "dest": "/data"}]}))
    source.rmdir()
    result = nsfleet("start", "doomed", check=False)
    assert result.returncode != 0
    assert "set-up" in result.stderr and "gone-by-the-start" in result.stderr, result.stderr
    assert nsfleet.inspect("doomed")["status"] == "exited"
    assert _processes_running("987654") == []


def test_a_descriptor_the_caller_passed_down_does_not_reach_the_supervisor(nsfleet):
    """A caller that waits for EOF on a pipe it gave the CLI (as Ansible does on stdout) is not kept waiting."""
    import select
    import subprocess

    from nsfleet_cli import NSFLEET

    read_fd, write_fd = os.pipe()
    try:
        subprocess.run([NSFLEET, "--state-dir", nsfleet.state_dir, "run", "--detach", "--name", "kept", "--",
                        "/bin/sleep", "100"], pass_fds=(write_fd,), capture_output=True, check=True, timeout=60)
        os.close(write_fd)
        write_fd = None
        assert select.select([read_fd], [], [], 10)[0] and os.read(read_fd, 1) == b""
        supervisor = nsfleet.inspect("kept")["supervisor_host_pid"]
        kept = sorted(int(fd) for fd in os.listdir("/proc/%d/fd" % supervisor))
        assert kept[:3] == [0, 1, 2]
        assert all(os.readlink("/proc/%d/fd/%d" % (supervisor, fd)) == "/dev/null" for fd in (0, 1, 2))
    finally:
        os.close(read_fd)
        if write_fd is not None:
            os.close(write_fd)
