import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_bundle as bundle

EXECUTOR_DIR = os.path.join(os.path.dirname(bundle.__file__), "executor")


def _files_on_disk():
    found = set()
    for parent, subdirs, files in os.walk(EXECUTOR_DIR):
        subdirs[:] = [name for name in subdirs if name != "__pycache__"]
        found.update(os.path.relpath(os.path.join(parent, name), EXECUTOR_DIR) for name in files if name.endswith(".py"))
    return found


def test_every_executor_file_is_bundled():
    sources = bundle.sources_from_directory(EXECUTOR_DIR)
    assert set(sources) == _files_on_disk()
    assert "cli/main.py" in sources and "host/libc.py" in sources


def test_sources_from_the_zip_ansible_ships_equal_the_tree(tmp_path):
    archive = str(tmp_path / "payload.zip")
    prefix = "ansible_collections/nsfleet/pidns/plugins/module_utils/executor/"
    with zipfile.ZipFile(archive, "w") as packed:
        for path in _files_on_disk():
            packed.write(os.path.join(EXECUTOR_DIR, path), prefix + path)
        packed.writestr("ansible_collections/nsfleet/pidns/plugins/module_utils/other.py", "x = 1\n")
    assert bundle.sources_from_archive(archive, prefix) == bundle.sources_from_directory(EXECUTOR_DIR)


def test_every_executor_module_is_reachable_from_the_entry_point():
    """Ansible ships what the client's import of cli.main reaches: every file must be reachable."""
    import ast
    reached, queue = set(), ["cli/main.py"]
    while queue:
        path = queue.pop()
        if path in reached:
            continue
        reached.add(path)
        package = os.path.dirname(path)
        if package:
            queue.append(package + "/__init__.py")
        else:
            continue
        tree = ast.parse(open(os.path.join(EXECUTOR_DIR, path)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split("/")[:len(package.split("/")) - (node.level - 1)] if node.level > 1 else \
                    package.split("/")
                base = [part for part in base if part]
                module_parts = base + (node.module.split(".") if node.module else [])
                for alias in node.names:
                    for candidate in ("/".join(module_parts + [alias.name]) + ".py", "/".join(module_parts) + ".py",
                                      "/".join(module_parts + [alias.name, "__init__.py"]),
                                      "/".join(module_parts + ["__init__.py"])):
                        candidate = candidate.lstrip("/")
                        if os.path.exists(os.path.join(EXECUTOR_DIR, candidate)):
                            queue.append(candidate)
    assert _files_on_disk() - reached == set()


def test_build_is_deterministic_and_content_addressed():
    sources = bundle.sources_from_directory(EXECUTOR_DIR)
    assert bundle.build(sources) == bundle.build(sources)
    assert bundle.digest(bundle.build(sources)) != bundle.digest(bundle.build(sources, "/opt/python3"))


def test_install_writes_only_on_change(tmp_path):
    path = str(tmp_path / "bin" / "nsfleet")
    data = bundle.build(bundle.sources_from_directory(EXECUTOR_DIR), sys.executable)
    assert bundle.install(data, path) is True
    assert bundle.install(data, path) is False
    assert os.stat(path).st_mode & 0o777 == 0o755
    assert bundle.install(data + b"\n", path) is True


def test_bundle_runs_and_unpacks_once(tmp_path):
    path = str(tmp_path / "nsfleet")
    bundle.install(bundle.build(bundle.sources_from_directory(EXECUTOR_DIR), sys.executable), path)
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
        bundle.install(bundle.build(bundle.sources_from_directory(EXECUTOR_DIR), "/usr/bin/python3"), path)
        os.chmod(directory, 0o555)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", path, "--version"],
                                capture_output=True, text=True, cwd="/", check=False)
        assert result.returncode == 0, result.stderr
        assert not [name for name in os.listdir(directory) if name.startswith(".nsfleet-")]
    finally:
        os.chmod(directory, 0o755)
        shutil.rmtree(directory)
