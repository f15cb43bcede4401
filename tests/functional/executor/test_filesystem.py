"""rootfs with pivot_root, mounts, user, hostname, env and cwd."""

import os


def test_rootfs_is_the_only_filesystem_left(nsfleet, busybox_rootfs):
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--",
                  "/bin/sh", "-c", "cat /etc/marker; ls /; cat /proc/1/comm; awk '$5 == \"/\"' /proc/self/mountinfo | wc -l"
                  ).stdout
    lines = out.split()
    assert lines[0:3] == ["inside", "the", "rootfs"]
    assert "nsfleet-init" in lines
    assert "usr" not in lines and "root" not in lines  # the host's root is gone
    assert lines[-1] == "1"  # only the rootfs is mounted at /


def test_rootfs_gets_a_small_dev(nsfleet, busybox_rootfs):
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--",
                  "/bin/sh", "-c", "echo hi > /dev/null && ls /dev").stdout.split()
    assert {"null", "zero", "urandom", "shm", "fd"} <= set(out)


def test_bind_mounts_readonly_and_readwrite_and_tmpfs(nsfleet, busybox_rootfs, tmp_path):
    readonly = tmp_path / "ro"
    writable = tmp_path / "rw"
    readonly.mkdir()
    writable.mkdir()
    (readonly / "hello").write_text("read me\n")
    script = ("cat /ro/hello; echo x > /ro/new 2>/dev/null && echo WROTE-RO; echo y > /rw/new; "
              "echo z > /scratch/file && grep ' /scratch ' /proc/self/mountinfo | grep -c tmpfs")
    result = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--mount", "%s:/ro:ro" % readonly,
                     "--mount", "%s:/rw" % writable, "--mount", "tmpfs:/scratch:size=1m", "--",
                     "/bin/sh", "-c", script)
    assert result.stdout.split() == ["read", "me", "1"]
    assert (writable / "new").read_text() == "y\n"
    assert not (readonly / "new").exists()
    assert not os.path.exists(os.path.join(busybox_rootfs, "scratch", "file"))


def test_mounts_without_rootfs_stay_private(nsfleet, tmp_path):
    target = tmp_path / "covered"
    target.mkdir()
    (target / "host-file").write_text("")
    out = nsfleet("run", "--rm", "--mount", "tmpfs:%s" % target, "--", "/bin/ls", "-A", str(target)).stdout
    assert out == ""
    assert os.listdir(str(target)) == ["host-file"]


def test_user_hostname_env_and_cwd(nsfleet, busybox_rootfs):
    out = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--user", "guest", "--hostname", "box",
                  "--env", "GREETING=hi", "--cwd", "/tmp", "--",
                  "/bin/sh", "-c", "id -u; id -g; hostname; echo $GREETING; pwd").stdout.split()
    assert out == ["405", "100", "box", "hi", "/tmp"]
    assert os.uname().nodename != "box"


def test_numeric_user_without_rootfs(nsfleet):
    assert nsfleet("run", "--rm", "--user", "65534:65534", "--", "/usr/bin/id", "-u").stdout.strip() == "65534"
