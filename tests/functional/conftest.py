"""Functional tests: the real executor bundle, real namespaces, as root."""

import json
import os
import shutil
import subprocess
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NSFLEET = os.path.join(TOP, "build", "nsfleet")


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll ``predicate`` until it returns something truthy; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def alive(pid, start_time=None):
    """A live, non-zombie process with this PID (and start time, when given)."""
    try:
        with open("/proc/%d/stat" % pid) as stat_file:
            fields = stat_file.read().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X") and (start_time is None or int(fields[19]) == start_time)


def start_time_of(pid):
    with open("/proc/%d/stat" % pid) as stat_file:
        return int(stat_file.read().rpartition(")")[2].split()[19])


class Nsfleet:
    """The nsfleet CLI against a private state dir: one "host" per test."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def __call__(self, *args, check=True, stdin=None, timeout=60):
        result = subprocess.run([NSFLEET, "--state-dir", self.state_dir] + list(args), input=stdin,
                                capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError("nsfleet %s exited %d: %s" % (" ".join(args), result.returncode, result.stderr))
        return result

    def json(self, *args, **kwargs):
        return json.loads(self(*args, **kwargs).stdout)

    def detach(self, name, *command, options=()):
        return self.json("run", "--detach", "--name", name, *options, "--", *command)

    def inspect(self, name):
        return self.json("inspect", name)

    def state(self, name):
        with open(os.path.join(self.state_dir, "run", "nsfleet", name, "state.json")) as state_file:
            return json.load(state_file)


@pytest.fixture(scope="session", autouse=True)
def require_root_and_bundle():
    if os.geteuid() != 0:
        pytest.fail("the functional tests need root: they create namespaces")
    if not os.path.exists(NSFLEET):
        pytest.fail("build/nsfleet is missing: run 'make bundle'")


@pytest.fixture
def nsfleet(tmp_path):
    runner = Nsfleet(str(tmp_path / "host"))
    yield runner
    names = [workload["name"] for workload in runner.json("ls", "--json", check=False)] if os.path.isdir(
        runner.state_dir) else []
    if names:
        runner("rm", "--force", *names, check=False)


@pytest.fixture(scope="session")
def busybox_rootfs(tmp_path_factory):
    """A minimal rootfs: static busybox and its applets, an /etc/passwd."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        pytest.fail("busybox-static is missing: run 'make system-packages'")
    root = tmp_path_factory.mktemp("rootfs")
    (root / "bin").mkdir()
    shutil.copy(busybox, str(root / "bin" / "busybox"))
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", str(root / "bin" / applet))
    for directory in ("proc", "etc", "tmp", "data"):
        (root / directory).mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nguest:x:405:100:guest:/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nusers:x:100:\n")
    (root / "etc" / "marker").write_text("inside the rootfs\n")
    os.chmod(str(root), 0o755)  # mktemp makes it 0700, which only root could traverse
    os.chmod(str(root / "tmp"), 0o1777)
    return str(root)
