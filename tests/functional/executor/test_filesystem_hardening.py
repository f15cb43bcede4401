"""What a workload's filesystem lets it do, as runc would: /dev, /proc, /sys, device nodes, read-only root."""

import errno
import os
import shutil

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import libc, procfs
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.runtime import filesystem

MINIMAL_DEV = {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "fd", "stdin", "stdout", "stderr",
               "ptmx"}
PROBE = "; ".join([
    "ls /dev | tr '\\n' ' '; echo",
    "(echo x > /proc/sys/kernel/core_pattern) 2>/dev/null && echo core_pattern:writable || echo core_pattern:ro",
    "(echo 1 > /proc/sysrq-trigger) 2>/dev/null && echo sysrq:writable || echo sysrq:ro",
    "(mkdir /sys/nsfleet-probe) 2>/dev/null && echo sys:writable || echo sys:ro",
    "echo timer_list:$(cat /proc/timer_list | wc -c)",
    "echo keys:$(cat /proc/keys | wc -c)",
    "(mknod /tmp/nsfleet-blk b 7 0 && head -c 1 /tmp/nsfleet-blk >/dev/null) 2>/dev/null && echo blk:open || echo blk:denied",
    "rm -f /tmp/nsfleet-blk",
    # The flags of the top /proc mount: the workload's own, never those of the host's /proc it covers.
    "echo proc:$(awk '$5 == \"/proc\" {flags = $6} END {print flags}' /proc/self/mountinfo)",
])


def _probe(nsfleet, *options):
    lines = nsfleet("run", "--rm", *options, "--", "/bin/sh", "-c", PROBE).stdout.splitlines()
    return set(lines[0].split()), dict(line.split(":", 1) for line in lines[1:])


@pytest.mark.parametrize("with_rootfs", [False, True], ids=["host-root", "rootfs"])
def test_defaults_are_runcs(nsfleet, busybox_rootfs, with_rootfs):
    dev, found = _probe(nsfleet, *(("--rootfs", busybox_rootfs) if with_rootfs else ()))
    assert dev == MINIMAL_DEV
    assert {"nosuid", "nodev", "noexec"} <= set(found.pop("proc").split(","))
    assert found == {"core_pattern": "ro", "sysrq": "ro", "sys": "ro", "timer_list": "0", "keys": "0",
                     "blk": "denied"}


def test_host_dev_when_asked(nsfleet):
    dev, found = _probe(nsfleet, "--host-dev")
    assert "loop0" in dev and len(dev) > len(MINIMAL_DEV)
    assert found["core_pattern"] == "ro"  # the rest stays hardened


def test_devices_adds_nodes(nsfleet, busybox_rootfs):
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--device", "/dev/net/tun", "--device", "/dev/fuse",
                  "--", "/bin/ls", "-l", "/dev/net/tun", "/dev/fuse").stdout
    assert out.count("\nc") + out.startswith("c") == 2, out


def test_readonly_rootfs_keeps_writable_mounts(nsfleet, busybox_rootfs):
    script = "touch /probe 2>/dev/null && echo root:rw || echo root:ro; touch /scratch/x && echo scratch:rw"
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--read-only", "--mount", "tmpfs:/scratch", "--",
                  "/bin/sh", "-c", script).stdout.split()
    assert out == ["root:ro", "scratch:rw"]


def test_bind_mount_options_are_honoured(nsfleet, busybox_rootfs, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    script = shared / "tool"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    probe = "/data/tool 2>/dev/null || echo noexec; touch /data/x 2>/dev/null && echo rw || echo ro"
    for mount, expected in (("%s:/data" % shared, ["ran", "rw"]), ("%s:/data:ro,noexec" % shared, ["noexec", "ro"])):
        out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--mount", mount, "--", "/bin/sh", "-c", probe)
        assert out.stdout.split() == expected, mount


def test_a_planted_symlink_never_leads_a_mount_out_of_the_rootfs(nsfleet, busybox_rootfs, tmp_path):
    """The rootfs swaps a mount destination for a symlink to a host path between two starts."""
    rootfs = str(tmp_path / "rootfs")
    shutil.copytree(busybox_rootfs, rootfs, symlinks=True)
    os.makedirs(os.path.join(rootfs, "planted"))
    host_dir = tmp_path / "host-only"
    host_dir.mkdir()
    nsfleet("create", "--spec", "-", stdin='{"name": "planted", "rootfs": "%s", "command": ["/bin/true"], '
            '"mounts": [{"type": "tmpfs", "dest": "/planted/cache/deep"}]}' % rootfs)
    assert nsfleet.json("start", "planted")["status"] in ("running", "exited")
    os.rmdir(os.path.join(rootfs, "planted", "cache", "deep"))
    os.rmdir(os.path.join(rootfs, "planted", "cache"))
    os.rmdir(os.path.join(rootfs, "planted"))
    os.symlink(str(host_dir), os.path.join(rootfs, "planted"))  # absolute: means <rootfs><host_dir> inside
    nsfleet("restart", "planted")
    assert os.listdir(str(host_dir)) == []  # nothing created on the host
    assert os.path.isdir(os.path.join(rootfs, str(host_dir).lstrip("/"), "cache", "deep"))


@pytest.mark.parametrize("args, param", [
    (("--device", "/dev/does-not-exist"), "devices[0]"),
    (("--device", "/etc/passwd"), "devices[0]"),
    (("--device", "/dev/../etc/passwd"), "devices[0]"),
    (("--mount", "/etc:/srv:ro,bogus"), "mounts[0].options"),
    (("--mount", "tmpfs:/mnt:size=1m,frobnicate=2"), "mounts[0].options"),
    (("--ns", "mount=host", "--read-only"), "readonly_rootfs"),
    (("--ns", "mount=host", "--rootfs", "/tmp"), "rootfs"),
])
def test_bad_filesystem_options_are_refused_before_anything_is_made(nsfleet, args, param):
    result = nsfleet("run", "--name", "refused", *args, "--", "/bin/true", check=False)
    assert result.returncode == 2 and param in result.stderr, result.stderr
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "var", "lib", "nsfleet", "refused"))


@pytest.mark.parametrize("kernel_has_mount_setattr", [True, False], ids=["mount_setattr", "one-by-one"])
def test_every_mount_under_the_hosts_sys_ends_read_only_and_nodev(monkeypatch, kernel_has_mount_setattr):
    """Without a rootfs /sys is the host's, with its own mounts below it (cgroups, security...): all of them."""
    if kernel_has_mount_setattr:
        monkeypatch.setattr(filesystem, "_remount_each", lambda *_args: None)  # the one call does it all
    else:
        def before_linux_5_12(*_args, **_kwargs):
            raise OSError(errno.ENOSYS, "mount_setattr")
        monkeypatch.setattr(libc, "mount_setattr", before_linux_5_12)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            libc.unshare(libc.CLONE_NEWNS)
            filesystem.make_propagation_private()
            root = filesystem._Root("/", may_create=False)
            filesystem.protect_mounts(root, host_sys=True, refuse_devices=True)
            found = ["%s %s" % (point, ",".join(options)) for point, options in dict(procfs.mount_points()).items()
                     if point == "/sys" or point.startswith("/sys/")]
            os.write(write_fd, "\n".join(found).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as answer:
        found = answer.read().splitlines()
    os.waitpid(pid, 0)
    assert len(found) > 1, found  # /sys and at least one mount below it
    for line in found:
        assert {"ro", "nodev"} <= set(line.split()[1].split(",")), line
