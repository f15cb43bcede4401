"""Functional tests: the real executor bundle, real namespaces, as root."""

import os
import shutil
import subprocess

import pytest
from nsfleet_cli import NSFLEET, Nsfleet


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
