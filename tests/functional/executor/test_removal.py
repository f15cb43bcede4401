"""rm leaves nothing of a workload behind, and every verb refuses a bad name before it touches the disk."""

import fcntl
import os
import subprocess

import pytest
from nsfleet_cli import NSFLEET, wait_for


def files_under(directory):
    """Every file, but the host's compiled seccomp filters: shared by all workloads, kept until reboot."""
    return sorted(os.path.relpath(os.path.join(parent, name), directory)
                  for parent, _dirs, names in os.walk(directory) for name in names
                  if not parent.endswith("/run/nsfleet/.seccomp"))


def lock_is_held(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_rm_leaves_no_state_spec_lock_or_log(nsfleet):
    nsfleet.detach("web", "/bin/sh", "-c", "echo hello; sleep 1000")
    assert "run/nsfleet/web.lock" in files_under(nsfleet.state_dir)
    nsfleet("rm", "web")
    assert files_under(nsfleet.state_dir) == []


def test_rm_keep_logs_keeps_only_the_log(nsfleet):
    nsfleet.detach("web", "/bin/sh", "-c", "echo hello; sleep 1000")
    log = os.path.join(nsfleet.state_dir, "var/log/nsfleet/web.log")
    assert wait_for(lambda: os.path.exists(log) and open(log).read() == "hello\n")
    nsfleet("rm", "--keep-logs", "web")
    assert files_under(nsfleet.state_dir) == ["var/log/nsfleet/web.log"]
    assert open(log).read() == "hello\n"


def test_rm_removes_what_a_killed_create_left(nsfleet):
    """A create killed before its spec was renamed into place leaves a temp file and no spec."""
    spec_dir = os.path.join(nsfleet.state_dir, "var/lib/nsfleet/web")
    os.makedirs(spec_dir)
    with open(os.path.join(spec_dir, ".spec.json.4242.tmp"), "w") as half_written:
        half_written.write('{"na')
    nsfleet("rm", "web", check=False)
    assert files_under(nsfleet.state_dir) == []
    assert not os.path.exists(spec_dir)


@pytest.mark.parametrize("verb", ["start", "stop", "restart", "inspect", "ps"])
def test_a_missing_workload_is_exit_3_and_leaves_nothing(nsfleet, verb):
    result = nsfleet(verb, "ghost", check=False)
    assert result.returncode == 3 and "does not exist" in result.stderr
    assert files_under(nsfleet.state_dir) == []


@pytest.mark.parametrize("argv", [
    ["start", "../../etc/x"], ["stop", "../../etc/x"], ["restart", "../../etc/x"], ["rm", "../../etc/x"],
    ["inspect", "../../etc/x"], ["ps", "../../etc/x"], ["exec", "../../etc/x", "--", "/bin/true"],
])
def test_a_bad_name_touches_nothing(tmp_path, argv):
    state_dir = tmp_path / "deep" / "host"
    state_dir.mkdir(parents=True)
    result = subprocess.run([NSFLEET, "--state-dir", str(state_dir)] + argv, capture_output=True, text=True, check=False)
    assert result.returncode == 2 and "name:" in result.stderr
    assert files_under(str(tmp_path)) == []


@pytest.mark.parametrize("argv, environment, param", [
    (["--state-dir=", "ls"], {}, "--state-dir"),
    (["ls"], {"NSFLEET_STATE_DIR": ""}, "NSFLEET_STATE_DIR"),
])
def test_an_empty_state_dir_is_not_the_root(argv, environment, param):
    result = subprocess.run([NSFLEET] + argv, capture_output=True, text=True,
                            env=dict(os.environ, **environment), check=False)
    assert result.returncode == 2 and result.stderr.startswith("nsfleet: %s:" % param)


def test_an_operation_waiting_on_rm_gets_a_live_lock(nsfleet):
    """create waits while rm holds the lock; after rm discards the file it must lock the new one."""
    nsfleet.detach("web", "/bin/sh", "-c", "trap '' TERM; sleep 1000", options=("--stop-timeout", "2"))
    lock_path = os.path.join(nsfleet.state_dir, "run/nsfleet/web.lock")
    remover = subprocess.Popen([NSFLEET, "--state-dir", nsfleet.state_dir, "rm", "web"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: lock_is_held(lock_path))
        creator = subprocess.Popen([NSFLEET, "--state-dir", nsfleet.state_dir, "create", "--spec", "-"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        created, errors = creator.communicate('{"name": "web", "command": ["/bin/sleep", "2000"]}', timeout=60)
        assert creator.returncode == 0, errors
    finally:
        remover.wait(timeout=60)
    assert remover.returncode == 0
    assert nsfleet.inspect("web")["spec"]["command"] == ["/bin/sleep", "2000"]
    nsfleet("rm", "web")
    assert files_under(nsfleet.state_dir) == []
