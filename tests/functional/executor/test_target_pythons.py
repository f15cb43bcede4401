"""Targets run the executor with their own Python, 3.9 or newer: try every one this machine has."""

import glob
import os
import subprocess
import sys

import pytest
from nsfleet_cli import TOP

BUNDLER = os.path.join(TOP, "plugins", "module_utils", "_executor_bundle.py")


def target_pythons():
    found = ["/usr/bin/python3"] if os.path.exists("/usr/bin/python3") else []
    for candidate in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        version = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 9))"],
                                 capture_output=True, text=True, check=False).stdout.strip()
        if version == "True":
            found.append(candidate)
    return found


@pytest.mark.parametrize("python", target_pythons())
def test_the_bundle_runs_on_each_target_python(tmp_path, python):
    bundle = str(tmp_path / "bin" / "nsfleet")
    subprocess.run([sys.executable, BUNDLER, bundle, python], check=True)
    nsfleet = [bundle, "--state-dir", str(tmp_path / "host")]
    assert subprocess.run(nsfleet + ["run", "--rm", "--", "/bin/sh", "-c", "exit 3"], check=False).returncode == 3
    subprocess.run(nsfleet + ["run", "--detach", "--name", "w", "--hostname", "h", "--", "/bin/sleep", "100"],
                   check=True, capture_output=True)
    try:
        ps = subprocess.run(nsfleet + ["ps", "w"], capture_output=True, text=True, check=True).stdout.split("\n")
        assert [line.split()[1] for line in ps[1:] if line] == ["1", "2"]
    finally:
        subprocess.run(nsfleet + ["rm", "w"], capture_output=True, check=True)
    assert subprocess.run(nsfleet + ["ls", "--json"], capture_output=True, text=True, check=True).stdout.strip() == "[]"
