import os
import shutil
import subprocess
import sys
import tempfile

from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_bundle as bundle

EXECUTOR_DIR = os.path.join(os.path.dirname(bundle.__file__), "executor")


def test_every_executor_file_is_bundled():
    on_disk = sorted(name for name in os.listdir(EXECUTOR_DIR) if name.endswith(".py"))
    assert sorted(bundle.EXECUTOR_MODULES) == on_disk


def test_client_ships_every_executor_module():
    from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_client as client
    for filename in bundle.EXECUTOR_MODULES:
        assert client._read_source(filename) == open(os.path.join(EXECUTOR_DIR, filename)).read()


def test_build_is_deterministic_and_content_addressed():
    read = bundle.read_from_directory(EXECUTOR_DIR)
    assert bundle.build(read) == bundle.build(read)
    assert bundle.digest(bundle.build(read)) != bundle.digest(bundle.build(read, "/opt/python3"))


def test_install_writes_only_on_change(tmp_path):
    path = str(tmp_path / "bin" / "nsfleet")
    data = bundle.build(bundle.read_from_directory(EXECUTOR_DIR), sys.executable)
    assert bundle.install(data, path) is True
    assert bundle.install(data, path) is False
    assert os.stat(path).st_mode & 0o777 == 0o755
    assert bundle.install(data + b"\n", path) is True


def test_bundle_runs_and_unpacks_once(tmp_path):
    path = str(tmp_path / "nsfleet")
    bundle.install(bundle.build(bundle.read_from_directory(EXECUTOR_DIR), sys.executable), path)
    for _run in range(2):
        result = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
        assert result.stdout.startswith("nsfleet ")
    caches = [name for name in os.listdir(tmp_path) if name.startswith(".nsfleet-")]
    assert len(caches) == 1


def test_bundle_runs_where_it_cannot_unpack():
    # root ignores directory permissions, so run it as nobody from a read-only directory
    directory = tempfile.mkdtemp()
    try:
        path = os.path.join(directory, "nsfleet")
        bundle.install(bundle.build(bundle.read_from_directory(EXECUTOR_DIR), "/usr/bin/python3"), path)
        os.chmod(directory, 0o555)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", path, "--version"],
                                capture_output=True, text=True, cwd="/", check=False)
        assert result.returncode == 0, result.stderr
        assert not [name for name in os.listdir(directory) if name.startswith(".nsfleet-")]
    finally:
        os.chmod(directory, 0o755)
        shutil.rmtree(directory)
