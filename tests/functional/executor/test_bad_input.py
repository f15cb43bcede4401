"""Bad specs are refused before anything is made: exit code 2, the parameter named, no file left of the workload."""

import json
import os
import shutil

import pytest

NAME = "bad-input"


@pytest.fixture(scope="module")
def escape_rootfs(busybox_rootfs, tmp_path_factory):
    """A rootfs of its own with links that lead out: absolute, relative with .., and a loop."""
    root = str(tmp_path_factory.mktemp("escape") / "rootfs")
    shutil.copytree(busybox_rootfs, root, symlinks=True)
    os.symlink("/", os.path.join(root, "to-host"))
    os.symlink("../../../../../../../../etc", os.path.join(root, "up-and-out"))
    os.symlink("loop", os.path.join(root, "loop"))
    return root


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    base = tmp_path_factory.mktemp("profiles")
    files = {
        "not-json": "defaultAction: SCMP_ACT_ERRNO\n",
        "a-list": "[1, 2]",
        "bad-action": json.dumps({"defaultAction": "SCMP_ACT_FLY", "syscalls": []}),
        "notify": json.dumps({"defaultAction": "SCMP_ACT_ALLOW",
                              "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
        "bad-op": json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NEAR"}]}]}),
    }
    for name, text in files.items():
        (base / name).write_text(text)
    return str(base)


# id, what the spec sets (ROOTFS and PROFILES stand for the fixtures' paths), the parameter the error names.
CASES = [
    ("unknown-key", {"colour": "blue"}, "colour"),
    ("bad-name", {"name": "Bad Name"}, "name"),
    ("unknown-capability", {"capabilities": {"add": ["CAP_FLY"]}}, "capabilities.add[0]"),
    ("unknown-capability-to-drop", {"capabilities": {"drop": ["chown", "teleport"]}}, "capabilities.drop[1]"),
    ("capabilities-not-a-mapping", {"capabilities": "ALL"}, "capabilities"),
    ("capabilities-unknown-key", {"capabilities": {"keep": ["CHOWN"]}}, "capabilities.keep"),
    ("no-new-privileges-not-bool", {"no_new_privileges": "yes"}, "no_new_privileges"),
    ("seccomp-profile-missing", {"seccomp": "/no/such/profile.json"}, "seccomp"),
    ("seccomp-profile-relative", {"seccomp": "profile.json"}, "seccomp"),
    ("seccomp-profile-not-json", {"seccomp": "PROFILES/not-json"}, "seccomp"),
    ("seccomp-profile-not-an-object", {"seccomp": "PROFILES/a-list"}, "seccomp"),
    ("seccomp-unknown-action", {"seccomp": "PROFILES/bad-action"}, "seccomp"),
    ("seccomp-notify-action", {"seccomp": "PROFILES/notify"}, "seccomp"),
    ("seccomp-unknown-operator", {"seccomp": "PROFILES/bad-op"}, "seccomp"),
    ("apparmor-without-apparmor", {"apparmor_profile": "docker-default"}, "apparmor_profile"),
    ("selinux-without-selinux", {"selinux_label": "system_u:system_r:container_t:s0"}, "selinux_label"),
    ("device-missing", {"devices": ["/dev/no-such-device"]}, "devices[0]"),
    ("device-not-a-device", {"devices": ["/dev/shm"]}, "devices[0]"),
    ("device-outside-dev", {"devices": ["/dev/../etc/passwd"]}, "devices[0]"),
    ("mount-dest-dotdot", {"rootfs": "ROOTFS", "mounts": [{"type": "tmpfs", "dest": "/tmp/../../etc"}]},
     "mounts[0].dest"),
    ("mount-dest-absolute-link", {"rootfs": "ROOTFS", "mounts": [{"type": "tmpfs", "dest": "/to-host/etc"}]},
     "mounts[0].dest"),
    ("mount-dest-relative-link", {"rootfs": "ROOTFS", "mounts": [{"type": "tmpfs", "dest": "/up-and-out/x"}]},
     "mounts[0].dest"),
    ("mount-src-missing", {"mounts": [{"src": "/no/such/dir", "dest": "/mnt"}]}, "mounts[0].src"),
    ("mount-unknown-option", {"mounts": [{"src": "/tmp", "dest": "/mnt", "options": "nosuchopt"}]},
     "mounts[0].options"),
    ("tmpfs-size-the-kernel-refuses", {"mounts": [{"type": "tmpfs", "dest": "/mnt", "options": "size=lots"}]},
     "mounts[0].options"),
    ("tmpfs-mode-the-kernel-refuses", {"mounts": [{"type": "tmpfs", "dest": "/mnt", "options": "mode=99999"}]},
     "mounts[0].options"),
    ("cwd-through-absolute-link", {"rootfs": "ROOTFS", "cwd": "/to-host/root"}, "cwd"),
    ("cwd-through-link-loop", {"rootfs": "ROOTFS", "cwd": "/loop"}, "cwd"),
    ("cwd-through-proc-fd", {"rootfs": "ROOTFS", "cwd": "/proc/self/fd/3"}, "cwd"),
    ("rootfs-is-host-root", {"rootfs": "/tmp/../"}, "rootfs"),
    ("rootfs-relative", {"rootfs": "relative/root"}, "rootfs"),
    ("rootfs-with-host-mount-namespace", {"rootfs": "ROOTFS", "namespaces": {"mount": "host"}}, "rootfs"),
    ("readonly-rootfs-with-host-mount-namespace", {"readonly_rootfs": True, "namespaces": {"mount": "host"}},
     "readonly_rootfs"),
    ("namespace-file-of-another-kind", {"namespaces": {"net": "path:/proc/self/ns/pid"}}, "namespaces.net"),
    ("namespace-path-not-a-namespace", {"namespaces": {"pid": "path:/etc/passwd"}}, "namespaces.pid"),
    ("nul-byte-in-argument", {"command": ["/bin/echo", "a\u0000b"]}, "command[1]"),
    ("argument-past-kernel-limit", {"command": ["/bin/echo", "x" * 140000]}, "command"),
    ("uid-out-of-range", {"user": "4294967296"}, "user"),
    ("command-not-a-program", {"command": ["/etc/passwd"]}, "command"),
    ("stop-timeout-huge", {"stop_timeout": 1e12}, "stop_timeout"),
    ("stop-signal-unknown", {"stop_signal": "SIGFLY"}, "stop_signal"),
    ("restart-policy-unknown", {"restart_policy": "sometimes"}, "restart_policy"),
]


def _fill(value, rootfs, profiles):
    if isinstance(value, str):
        return value.replace("ROOTFS", rootfs).replace("PROFILES", profiles)
    if isinstance(value, dict):
        return dict((key, _fill(item, rootfs, profiles)) for key, item in value.items())
    if isinstance(value, list):
        return [_fill(item, rootfs, profiles) for item in value]
    return value


def _files_of(state_dir, name):
    found = []
    for directory, subdirectories, files in os.walk(state_dir):
        found += [os.path.join(directory, entry) for entry in subdirectories + files if name in entry]
    return found


def test_there_are_at_least_25_distinct_cases():
    assert len(set(case[0] for case in CASES)) == len(CASES) >= 25


@pytest.mark.parametrize("changes,param", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_spec_is_refused_before_anything_is_made(nsfleet, escape_rootfs, profiles, changes, param):
    spec = {"name": NAME, "command": ["/bin/true"]}
    spec.update(_fill(changes, escape_rootfs, profiles))
    result = nsfleet("create", "--spec", "-", stdin=json.dumps(spec), check=False)
    assert result.returncode == 2, result
    assert result.stderr.startswith("nsfleet: %s: " % param), result.stderr
    assert "Traceback" not in result.stderr
    assert _files_of(nsfleet.state_dir, NAME) == []


def test_stop_timeout_nan_is_refused(nsfleet):
    """JSON has no NaN, but Python's parser takes one: a NaN once made stop spin holding the lock."""
    result = nsfleet("create", "--spec", "-", stdin='{"name": "%s", "command": ["/bin/true"], "stop_timeout": NaN}'
                     % NAME, check=False)
    assert result.returncode == 2 and result.stderr.startswith("nsfleet: stop_timeout: ")


@pytest.mark.parametrize("flags,param", [
    (("--cap-add", "fly"), "capabilities.add[0]"),
    (("--cap-drop", "fly"), "capabilities.drop[0]"),
    (("--seccomp", "/no/such/profile.json"), "seccomp"),
    (("--device", "/dev/no-such-device"), "devices[0]"),
    (("--stop-timeout", "nan"), "stop_timeout"),
], ids=["cap-add", "cap-drop", "seccomp", "device", "stop-timeout"])
def test_run_flags_are_refused_alike(nsfleet, flags, param):
    result = nsfleet("run", "--rm", *flags, "--", "/bin/true", check=False)
    assert result.returncode == 2 and result.stderr.startswith("nsfleet: %s: " % param), result.stderr
