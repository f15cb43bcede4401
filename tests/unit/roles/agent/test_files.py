"""The agent role's helper scripts: the source tar and the password hasher."""

import json
import os
import subprocess
import sys
import tarfile

import bcrypt
from support import TOP

FILES = os.path.join(TOP, "roles", "agent", "files")


def run(script, *argv, stdin=""):
    return subprocess.run([sys.executable, os.path.join(FILES, script)] + list(argv), input=stdin,
                          capture_output=True, text=True, check=True).stdout


def test_source_tar_is_the_same_bytes_every_time_and_leaves_out_build_leftovers(tmp_path):
    source = tmp_path / "agent"
    (source / "src" / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "src" / "pkg.egg-info").mkdir()
    (source / "pyproject.toml").write_text("[project]\n")
    (source / "src" / "pkg" / "__init__.py").write_text("")
    (source / "src" / "pkg" / "__pycache__" / "x.pyc").write_text("")
    (source / "src" / "pkg.egg-info" / "PKG-INFO").write_text("")
    run("pack_source.py", str(source), str(tmp_path / "one.tar"))
    os.utime(str(source / "pyproject.toml"), (1, 1))
    run("pack_source.py", str(source), str(tmp_path / "two.tar"))
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()
    with tarfile.open(str(tmp_path / "one.tar")) as archive:
        assert archive.getnames() == ["pyproject.toml", "src/pkg/__init__.py"]


def test_hasher_keeps_a_matching_hash_and_rehashes_a_changed_password(tmp_path):
    config = tmp_path / "web.yml"
    first = json.loads(run("hash_passwords.py", str(config), stdin=json.dumps({"prometheus": "one", "grafana": "two"})))
    assert bcrypt.checkpw(b"one", first["prometheus"].encode()) and bcrypt.checkpw(b"two", first["grafana"].encode())
    config.write_text("basic_auth_users:\n  prometheus: '%s'\n  grafana: '%s'\n" % (first["prometheus"], first["grafana"]))
    second = json.loads(run("hash_passwords.py", str(config), stdin=json.dumps({"prometheus": "one", "grafana": "new"})))
    assert second["prometheus"] == first["prometheus"]
    assert second["grafana"] != first["grafana"] and bcrypt.checkpw(b"new", second["grafana"].encode())
