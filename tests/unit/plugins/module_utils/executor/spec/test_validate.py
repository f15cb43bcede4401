import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError, spec_hash, validate


def no_workloads(name):
    return False


def check(raw, exists=no_workloads):
    return validate(dict({"name": "ok", "command": ["/bin/true"]}, **raw), exists)


def fails_on(param, raw, exists=no_workloads):
    with pytest.raises(SpecError) as caught:
        check(raw, exists)
    assert caught.value.param == param, str(caught.value)
    return str(caught.value)


@pytest.fixture
def rootfs(tmp_path):
    for directory in ("bin", "proc", "etc", "data"):
        (tmp_path / directory).mkdir()
    program = tmp_path / "bin" / "app"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    (tmp_path / "bin" / "notexec").write_text("")
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/:/bin/sh\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    return str(tmp_path)


def test_defaults_are_filled_in():
    spec = check({})
    assert spec["namespaces"]["pid"] == "private" and spec["namespaces"]["mount"] == "private"
    assert spec["namespaces"]["uts"] == "host"
    assert (spec["init"], spec["stop_signal"], spec["stop_timeout"], spec["restart_policy"]) == (
        True, "SIGTERM", 10, "no")


def test_hostname_implies_private_uts():
    assert check({"hostname": "box"})["namespaces"]["uts"] == "private"


@pytest.mark.parametrize("name", ["../x", "has space", "a" * 64, "Upper", "", "-lead", None])
def test_bad_names(name):
    fails_on("name", {"name": name})


def test_name_of_63_characters_is_fine():
    assert check({"name": "a" * 63})["name"] == "a" * 63


@pytest.mark.parametrize("command", [[], "echo hi", [""], None, ["/bin/true", 3]])
def test_bad_commands(command):
    fails_on("command", {"command": command})


def test_command_not_found():
    assert "not found" in fails_on("command", {"command": ["no-such-program-here"]})


def test_command_not_executable(tmp_path):
    path = tmp_path / "script"
    path.write_text("")
    path.chmod(0o644)
    assert "not executable" in fails_on("command", {"command": [str(path)]})


def test_command_is_searched_in_rootfs(rootfs):
    assert check({"rootfs": rootfs, "command": ["app"], "env": {"PATH": "/bin"}})["command"] == ["app"]
    assert "not found" in fails_on("command", {"rootfs": rootfs, "command": ["sh"], "env": {"PATH": "/bin"}})
    assert "not executable" in fails_on("command", {"rootfs": rootfs, "command": ["/bin/notexec"]})


@pytest.mark.parametrize("value", ["relative/dir", "/no/such/dir", "/"])
def test_bad_rootfs(value):
    fails_on("rootfs", {"rootfs": value})


def test_rootfs_with_proc_symlink(rootfs):
    os.rmdir(os.path.join(rootfs, "proc"))
    os.symlink("/proc", os.path.join(rootfs, "proc"))
    assert "symlink" in fails_on("rootfs", {"rootfs": rootfs, "command": ["/bin/app"]})


def test_mount_destination_must_be_absolute(rootfs):
    fails_on("mounts[0].dest", {"rootfs": rootfs, "command": ["/bin/app"],
                                "mounts": [{"src": "/tmp", "dest": "data"}]})


def test_mount_destination_may_not_escape(rootfs):
    assert "escapes" in fails_on("mounts[0].dest", {"rootfs": rootfs, "command": ["/bin/app"],
                                                    "mounts": [{"src": "/tmp", "dest": "/../../etc"}]})
    os.symlink("/etc", os.path.join(rootfs, "out"))
    assert "symlink" in fails_on("mounts[0].dest", {"rootfs": rootfs, "command": ["/bin/app"],
                                                    "mounts": [{"src": "/tmp", "dest": "/out/x"}]})


def test_mount_source_must_exist(rootfs):
    fails_on("mounts[0].src", {"rootfs": rootfs, "command": ["/bin/app"],
                               "mounts": [{"src": "/no/such/source", "dest": "/data"}]})


def test_mount_type_and_tmpfs(rootfs):
    fails_on("mounts[0].type", {"mounts": [{"type": "nfs", "dest": "/tmp"}]})
    spec = check({"rootfs": rootfs, "command": ["/bin/app"],
                  "mounts": [{"type": "tmpfs", "dest": "/scratch", "options": ["size=1m", "mode=700"]}]})
    assert spec["mounts"] == [{"src": "tmpfs", "dest": "/scratch", "type": "tmpfs", "readonly": False,
                               "options": "size=1m,mode=700"}]


def test_mount_needs_a_private_mount_namespace():
    fails_on("mounts", {"namespaces": {"mount": "host"}, "mounts": [{"type": "tmpfs", "dest": "/tmp"}]})


@pytest.mark.parametrize("value, normal", [("TERM", "SIGTERM"), ("sigint", "SIGINT"), (9, "SIGKILL"),
                                           ("15", "SIGTERM")])
def test_signals_normalise(value, normal):
    assert check({"stop_signal": value})["stop_signal"] == normal


def test_unknown_signal():
    assert "unknown signal" in fails_on("stop_signal", {"stop_signal": "SIGNOPE"})


@pytest.mark.parametrize("value", [-1, "10", True])
def test_bad_stop_timeout(value):
    fails_on("stop_timeout", {"stop_timeout": value})


def test_unknown_restart_policy():
    fails_on("restart_policy", {"restart_policy": "sometimes"})


@pytest.mark.parametrize("namespaces, param", [
    ({"pid": "shared"}, "namespaces.pid"),
    ({"time": "private"}, "namespaces.time"),
    ({"pid": "workload:ghost"}, "namespaces.pid"),
    ({"pid": "workload:ok"}, "namespaces.pid"),
    ({"net": "path:/no/such/ns"}, "namespaces.net"),
    ({"user": "path:/proc/1/ns/pid"}, "namespaces.user"),
])
def test_bad_namespace_values(namespaces, param):
    fails_on(param, {"namespaces": namespaces})


def test_workload_namespace_that_exists():
    spec = check({"namespaces": {"pid": "workload:db"}}, exists=lambda name: name == "db")
    assert spec["namespaces"]["pid"] == "workload:db"


def test_users(rootfs):
    assert check({"user": "1000:50"})["user"] == {"uid": 1000, "gid": 50}
    assert check({"user": "root"})["user"] == {"uid": 0, "gid": 0}
    assert check({"rootfs": rootfs, "command": ["/bin/app"], "user": "app:staff"})["user"] == {"uid": 1000, "gid": 50}
    assert "unknown user" in fails_on("user", {"user": "no-such-user-xyz"})
    assert "unknown user" in fails_on("user", {"rootfs": rootfs, "command": ["/bin/app"], "user": "daemon"})


def test_cwd_must_exist():
    fails_on("cwd", {"cwd": "/no/such/dir"})
    fails_on("cwd", {"cwd": "relative"})


def test_unknown_parameter():
    fails_on("colour", {"colour": "blue"})


def test_env_values_must_be_scalars():
    fails_on("env.X", {"env": {"X": ["a"]}})
    assert check({"env": {"N": 3}})["env"] == {"N": "3"}


def test_spec_hash_is_stable_and_sensitive():
    assert spec_hash(check({})) == spec_hash(check({}))
    assert spec_hash(check({})) != spec_hash(check({"hostname": "x"}))


def test_validation_creates_nothing(tmp_path):
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(SpecError):
        check({"rootfs": str(tmp_path), "command": ["/bin/missing"]})
    assert sorted(os.listdir(tmp_path)) == before


def test_command_that_is_not_a_program(tmp_path):
    path = tmp_path / "data"
    path.write_text("just text\n")
    path.chmod(0o755)
    assert "not a program" in fails_on("command", {"command": [str(path)]})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e12, -1])
def test_stop_timeout_must_be_finite_and_bounded(value):
    with pytest.raises(SpecError, match="stop_timeout"):
        check({"stop_timeout": value})


def test_stored_spec_carries_its_version():
    assert check({})["spec_version"] == 2


@pytest.mark.parametrize("raw, param", [
    ({"command": ["/bin/echo", "a\0b"]}, "command[1]"),
    ({"env": {"KEY": "va\0lue"}}, "env.KEY"),
    ({"cwd": "/tm\0p"}, "cwd"),
    ({"hostname": "bo\0x"}, "hostname"),
    ({"mounts": [{"type": "tmpfs", "dest": "/mnt\0"}]}, "mounts[0].dest"),
])
def test_nul_bytes_are_refused_where_they_are(raw, param):
    assert "NUL" in fails_on(param, raw)


def test_arguments_past_the_kernels_limits_are_refused():
    fails_on("command", {"command": ["/bin/echo", "x" * 200000]})
    fails_on("env.BIG", {"env": {"BIG": "x" * 200000}})
    fails_on("command", {"command": ["/bin/echo"] + ["x" * 100000] * 40})


@pytest.mark.parametrize("user", ["4294967295", "99999999999", "0:4294967295", "ünïcode", "root\nx", " "])
def test_user_out_of_range_or_not_ascii_is_refused(user):
    fails_on("user", {"user": user})


def test_path_namespace_must_be_a_namespace_of_that_kind():
    fails_on("namespaces.net", {"namespaces": {"net": "path:/etc/passwd"}})
    assert "not a net namespace" in fails_on("namespaces.net", {"namespaces": {"net": "path:/proc/self/ns/uts"}})
    assert check({"namespaces": {"net": "path:/proc/self/ns/net"}})["namespaces"]["net"] == "path:/proc/self/ns/net"


def test_rootfs_through_a_symlink_is_refused(tmp_path, rootfs):
    os.symlink("/", str(tmp_path / "to-root"))
    assert "host's root" in fails_on("rootfs", {"rootfs": str(tmp_path / "to-root")})
    os.symlink(str(rootfs), str(tmp_path / "alias"))
    assert "real path" in fails_on("rootfs", {"rootfs": str(tmp_path / "alias"), "command": ["/bin/app"]})


def test_cwd_is_resolved_inside_the_rootfs(tmp_path, rootfs):
    os.symlink("/etc", os.path.join(str(rootfs), "data", "escape"))  # inside: <rootfs>/etc, a directory
    assert check({"rootfs": str(rootfs), "command": ["/bin/app"], "cwd": "/data/escape"})["cwd"] == "/data/escape"
    os.symlink("/usr/share", os.path.join(str(rootfs), "data", "host"))  # exists on the host, not inside
    fails_on("cwd", {"rootfs": str(rootfs), "command": ["/bin/app"], "cwd": "/data/host"})


def test_log_bounds_normalise_and_their_defaults_leave_the_hash_alone():
    base = {"name": "web", "command": ["/bin/true"]}
    spec = validate(base, lambda name: False)
    assert (spec["log_max_size"], spec["log_max_files"]) == (10 * 1024 * 1024, 3)
    for same in ({"log_max_size": "10m"}, {"log_max_size": "10MiB"}, {"log_max_size": 10485760},
                 {"log_max_files": "3"}):
        assert spec_hash(validate(dict(base, **same), lambda name: False)) == spec_hash(spec)
    other = validate(dict(base, log_max_size="1g", log_max_files=5), lambda name: False)
    assert (other["log_max_size"], other["log_max_files"]) == (1 << 30, 5)
    assert spec_hash(other) != spec_hash(spec)


@pytest.mark.parametrize("field, value", [
    ("log_max_size", "10x"), ("log_max_size", "1k"), ("log_max_size", -5), ("log_max_size", True),
    ("log_max_size", "2t"), ("log_max_size", [1]), ("log_max_files", 0), ("log_max_files", 101),
    ("log_max_files", "two"), ("log_max_files", 1.5), ("log_max_files", False),
])
def test_bad_log_bounds(field, value):
    with pytest.raises(SpecError) as refused:
        validate({"name": "web", "command": ["/bin/true"], field: value}, lambda name: False)
    assert refused.value.param == field


def test_labels_are_text_by_name():
    assert check({})["labels"] == {}
    assert check({"labels": {"tier": "web", "app.kubernetes.io/part-of": "shop", "replicas": 2, "canary": True}})[
        "labels"] == {"tier": "web", "app.kubernetes.io/part-of": "shop", "replicas": "2", "canary": "true"}


@pytest.mark.parametrize("labels, param", [
    ([], "labels"), ({"": "x"}, "labels"), ({"bad key": "x"}, "labels"), ({"-x": "x"}, "labels"),
    ({"k" * 64: "x"}, "labels"), ({"tier": None}, "labels.tier"), ({"tier": ["a"]}, "labels.tier"),
    ({"tier": "two\nlines"}, "labels.tier"), ({"tier": "v" * 257}, "labels.tier")])
def test_bad_labels(labels, param):
    fails_on(param, {"labels": labels})


def test_labels_are_metadata_outside_the_hash():
    """A label change alone never recreates a workload, and specs without labels hash as they always did."""
    plain = check({})
    assert spec_hash(check({"labels": {"tier": "web"}})) == spec_hash(plain)
    assert spec_hash(dict(plain, labels={"tier": "db"})) == spec_hash(plain)


def test_a_normalised_spec_validates_as_itself():
    """What modules send back to create is the spec inspect normalised, user included."""
    spec = check({"user": "1000:50", "labels": {"tier": "web"}, "stop_timeout": 2.0})
    assert validate(spec, no_workloads) == spec
