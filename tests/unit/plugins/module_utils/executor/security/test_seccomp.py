"""Seccomp: the default profile's semantics, the filter cache, and a host without libseccomp."""

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.security import (
    capabilities, confine, filter_cache, seccomp, seccomp_default)
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError, validate


def _names(entries):
    return set(name for entry in entries for name in entry["names"])


def test_without_sys_admin_no_namespace_or_mount_call_is_allowed():
    allowed = [entry for entry in seccomp_default.profile()["syscalls"]
               if entry["action"] == "SCMP_ACT_ALLOW" and seccomp.applies(entry, capabilities.DEFAULT, "x86_64")
               and not entry.get("args")]
    assert not _names(allowed) & {"unshare", "setns", "mount", "umount2", "clone", "clone3", "bpf", "kcmp",
                                  "kexec_load", "reboot", "init_module", "open_by_handle_at", "personality"}
    assert {"execve", "openat2", "setuid", "capset", "prctl", "chroot"} <= _names(allowed)  # chroot: CAP_SYS_CHROOT


def test_sys_admin_opens_what_it_guards():
    allowed = [entry for entry in seccomp_default.profile()["syscalls"]
               if entry["action"] == "SCMP_ACT_ALLOW" and seccomp.applies(entry, {"CAP_SYS_ADMIN"}, "x86_64")]
    assert {"unshare", "setns", "mount", "clone"} <= _names(allowed)


def test_clone_without_sys_admin_is_filtered_by_its_flags():
    clones = [entry for entry in seccomp_default.profile()["syscalls"] if entry["names"] == ["clone"]
              and seccomp.applies(entry, capabilities.DEFAULT, "x86_64")]
    assert clones == [dict(clones[0], args=[{"index": 0, "value": 0x7E020000, "op": "SCMP_CMP_MASKED_EQ"}])]


def test_the_default_profile_compiles_for_this_machine():
    program = seccomp.compile_profile(seccomp_default.profile(), capabilities.DEFAULT)
    assert program and len(program) % 8 == 0


def test_the_cache_answers_only_for_the_same_inputs(tmp_path):
    filter_cache.write(str(tmp_path), b"inputs", b"\x06\x00\x00\x00\x00\x00\xff\x7f")
    assert filter_cache.read(str(tmp_path), b"inputs") == b"\x06\x00\x00\x00\x00\x00\xff\x7f"
    assert filter_cache.read(str(tmp_path), b"other!") is None


def test_a_host_without_libseccomp_refuses_all_but_unconfined(monkeypatch):
    monkeypatch.setattr(seccomp, "LIBRARY", "libseccomp-missing.so.0")
    monkeypatch.setattr(seccomp, "_library", None)
    monkeypatch.setattr(confine, "_programs", {})
    with pytest.raises(SpecError, match="^seccomp: this host has no libseccomp-missing.so.0.*seccomp: unconfined"):
        validate({"name": "nolib", "command": ["/bin/true"]}, lambda name: False)
    spec = validate({"name": "nolib", "command": ["/bin/true"], "seccomp": "unconfined"}, lambda name: False)
    assert spec["seccomp"] == "unconfined"
    with pytest.raises(seccomp.SeccompError, match="this host has no"):
        confine.prepare(dict(spec, seccomp="default"))
