"""The same command inside nsfleet and inside `runc run`: what /proc/self/status says about its confinement.

Deliberate differences, each asserted below:

- runc's default spec (`runc spec`) gives 3 capabilities and no seccomp filter;
  nsfleet's defaults are Docker's (14 capabilities, the default filter). Asked
  for runc's 3 and no filter, nsfleet agrees with runc's default spec.
- runc's default spec asks for its 3 capabilities in the ambient set too;
  nsfleet never raises ambient capabilities (Docker neither), so they do not
  survive an exec of a non-setuid program by a non-root user.
- Given nsfleet's defaults (Docker's capabilities, nsfleet's default profile in
  OCI form), runc agrees with nsfleet on every field.
"""

import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.security import (
    capabilities, seccomp, seccomp_default)

FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
RUNC_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def _status_fields(text):
    fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
    return dict((key, fields[key].strip()) for key in FIELDS)


@pytest.fixture(scope="module")
def runc():
    path = shutil.which("runc")
    if path is None:
        pytest.fail("runc is missing: run 'make system-packages'")
    return path


@pytest.fixture
def runc_bundle(busybox_rootfs, tmp_path, runc):
    """runc's default spec (`runc spec`) on the busybox rootfs; the test adjusts config["process"]."""
    subprocess.run([runc, "spec"], cwd=str(tmp_path), check=True)
    with open(str(tmp_path / "config.json")) as config_file:
        config = json.load(config_file)
    config["root"] = {"path": busybox_rootfs, "readonly": True}
    config["process"]["terminal"] = False
    return str(tmp_path), config


def run_in_runc(runc, bundle, config, args):
    config["process"]["args"] = args
    with open(os.path.join(bundle, "config.json"), "w") as config_file:
        json.dump(config, config_file)
    container = "nsfleet-compare-%d" % os.getpid()
    state_root = os.path.join(bundle, "runc-state")  # never the host's /run/runc
    try:
        return subprocess.run([runc, "--root", state_root, "run", "--bundle", bundle, container],
                              capture_output=True, text=True, timeout=60, check=False)
    finally:
        subprocess.run([runc, "--root", state_root, "delete", "--force", container], capture_output=True, check=False)


def nsfleets_default_profile_as_oci():
    """nsfleet's default profile as runc takes it: includes/excludes resolved for Docker's capabilities here."""
    profile = seccomp_default.profile()
    machine = os.uname().machine
    syscalls = []
    for entry in profile["syscalls"]:
        if seccomp.applies(entry, capabilities.DEFAULT, machine):
            syscalls.append(dict((key, value) for key, value in entry.items() if key not in ("includes", "excludes")))
    native = "SCMP_ARCH_" + machine.upper()
    architectures = [native] + next((entry["subArchitectures"] for entry in profile["archMap"]
                                     if entry["architecture"] == native), [])
    return {"defaultAction": profile["defaultAction"], "defaultErrnoRet": profile["defaultErrnoRet"],
            "architectures": architectures, "syscalls": syscalls}


def test_runcs_default_spec_and_nsfleet_asked_the_same(nsfleet, busybox_rootfs, runc, runc_bundle):
    bundle, config = runc_bundle
    from_runc = run_in_runc(runc, bundle, config, ["/bin/cat", "/proc/self/status"])
    assert from_runc.returncode == 0, from_runc.stderr
    runc_fields = _status_fields(from_runc.stdout)
    asked = ["--cap-drop", "ALL", "--seccomp", "unconfined"]
    for name in RUNC_DEFAULT_CAPS:
        asked += ["--cap-add", name]
    nsfleet_fields = _status_fields(nsfleet("run", "--rm", "--rootfs", busybox_rootfs, *asked, "--",
                                            "/bin/cat", "/proc/self/status").stdout)
    assert nsfleet_fields["CapEff"] == "%016x" % capabilities.mask(RUNC_DEFAULT_CAPS)
    assert nsfleet_fields["CapAmb"] == "0000000000000000"  # deliberate: ambient is never raised
    runc_fields.pop("CapAmb")
    nsfleet_fields.pop("CapAmb")
    assert nsfleet_fields == runc_fields


def test_nsfleets_defaults_and_runc_given_them_agree(nsfleet, busybox_rootfs, runc, runc_bundle):
    bundle, config = runc_bundle
    docker_caps = sorted(capabilities.DEFAULT)
    config["process"]["capabilities"] = {"bounding": docker_caps, "effective": docker_caps,
                                         "permitted": docker_caps}
    config["linux"]["seccomp"] = nsfleets_default_profile_as_oci()
    probe = "cat /proc/self/status; unshare -U true 2>/dev/null && echo unshare:allowed || echo unshare:refused"
    from_runc = run_in_runc(runc, bundle, config, ["/bin/sh", "-c", probe])
    assert from_runc.returncode == 0, from_runc.stderr
    from_nsfleet = nsfleet("run", "--rm", "--rootfs", busybox_rootfs, "--", "/bin/sh", "-c", probe).stdout
    assert _status_fields(from_nsfleet) == _status_fields(from_runc.stdout)
    assert _status_fields(from_nsfleet)["Seccomp"] == "2"
    assert "unshare:refused" in from_runc.stdout and "unshare:refused" in from_nsfleet
