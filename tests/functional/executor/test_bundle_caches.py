"""Unpacked bundle caches of versions no longer installed are pruned, but never one a process still imports from."""

import fcntl
import os
import subprocess

from nsfleet_cli import TOP, wait_for

from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_bundle as bundle

EXECUTOR_DIR = os.path.join(TOP, "plugins", "module_utils", "executor")


def version(marker):
    """A bundle whose sources differ only by a marker module: another digest, another cache."""
    sources = bundle.sources_from_directory(EXECUTOR_DIR)
    sources["_version_marker.py"] = "MARKER = %r\n" % marker
    return bundle.build(sources)


def caches(directory):
    return sorted(entry for entry in os.listdir(directory) if entry.startswith(".nsfleet-"))


def cache_of(data):
    return ".nsfleet-" + [line for line in data.decode().splitlines() if line.startswith("DIGEST = ")][0][10:26]


def test_caches_no_longer_installed_are_pruned_unless_in_use(tmp_path):
    bin_dir = tmp_path / "bin"
    path = str(bin_dir / "nsfleet")
    nsfleet = [path, "--state-dir", str(tmp_path / "host")]
    unused, old, new = version("unused"), version("old"), version("new")
    legacy = bin_dir / ".nsfleet-0123456789abcdef"  # from before caches were marked in use: left alone

    bundle.install(unused, path)
    subprocess.run(nsfleet + ["--version"], check=True, capture_output=True)
    assert caches(str(bin_dir)) == [cache_of(unused)]
    (legacy / "nsfleet_executor").mkdir(parents=True)

    # A new version unpacks and prunes what nobody uses; its supervisor then holds its cache.
    bundle.install(old, path)
    subprocess.run(nsfleet + ["run", "--detach", "--name", "keep", "--", "/bin/sleep", "1000"],
                   check=True, capture_output=True)
    try:
        assert caches(str(bin_dir)) == sorted([cache_of(old), legacy.name])

        # The old supervisor imports lazily from its cache: the next version must not prune it.
        bundle.install(new, path)
        subprocess.run(nsfleet + ["ls"], check=True, capture_output=True)
        assert caches(str(bin_dir)) == sorted([cache_of(old), cache_of(new), legacy.name])
        stopped = subprocess.run(nsfleet + ["stop", "keep"], check=True, capture_output=True, text=True)
        assert '"status": "stopped"' in stopped.stdout  # the old supervisor finished its bookkeeping
    finally:
        subprocess.run(nsfleet + ["rm", "--force", "keep"], check=True, capture_output=True)
    # rm ended the last user of the old cache, and pruned it.
    assert caches(str(bin_dir)) == sorted([cache_of(new), legacy.name])
    assert [entry for entry in os.listdir(str(bin_dir)) if entry.endswith((".tmp", ".pruned"))] == []


def waiting_for_a_lock(pid):
    """Whether ``pid`` is blocked in flock (/proc/locks lists blocked requests with '->')."""
    with open("/proc/locks") as locks:
        return any(line.split()[1] == "->" and line.split()[5] == str(pid) for line in locks if "->" in line)


def test_a_run_that_loses_the_race_with_a_pruner_unpacks_again(tmp_path):
    """The run opened .in-use, then a pruner locked and renamed the cache: the run must not import from it."""
    path = str(tmp_path / "bin" / "nsfleet")
    data = version("only")
    bundle.install(data, path)
    subprocess.run([path, "--version"], check=True, capture_output=True)
    cache = tmp_path / "bin" / cache_of(data)
    pruner_fd = os.open(str(cache / ".in-use"), os.O_RDONLY)
    fcntl.flock(pruner_fd, fcntl.LOCK_EX)
    run = subprocess.Popen([path, "--state-dir", str(tmp_path / "host"), "ls"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: waiting_for_a_lock(run.pid))
        os.rename(str(cache), str(cache) + ".1.pruned")
    finally:
        os.close(pruner_fd)
    _out, errors = run.communicate(timeout=60)
    assert run.returncode == 0, errors
    assert cache.is_dir() and (cache / ".in-use").exists()


def _archive_index(archive_path):
    import marshal
    with open(archive_path, "rb") as archive:
        size = int.from_bytes(archive.read(8), "little")
        return marshal.loads(archive.read(size))


def test_the_package_is_imported_through_one_archive_per_interpreter(tmp_path):
    path = str(tmp_path / "bin" / "nsfleet")
    data = version("archive")
    bundle.install(data, path)
    run = subprocess.run([path, "--state-dir", str(tmp_path / "host"), "run", "--rm", "--", "/bin/true"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    cache = tmp_path / "bin" / cache_of(data)
    tag = subprocess.run([bundle.DEFAULT_INTERPRETER, "-c", "import sys; print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    archives = [entry.name for entry in cache.iterdir() if entry.name.startswith("modules.")]
    assert archives == ["modules.%s.bin" % tag]
    index = _archive_index(str(cache / archives[0]))
    assert index["nsfleet_executor.cli.main"][3] == str(cache / "nsfleet_executor" / "cli" / "main.py")
    assert index["nsfleet_executor.host"][2] is True  # a package
    # Nothing went through the path finder, which would have left bytecode beside the sources.
    assert [str(p) for p in (cache / "nsfleet_executor").rglob("__pycache__")] == []


def test_an_archive_cut_short_falls_back_to_plain_imports(tmp_path):
    path = str(tmp_path / "bin" / "nsfleet")
    data = version("cut-short")
    bundle.install(data, path)
    nsfleet = [path, "--state-dir", str(tmp_path / "host")]
    subprocess.run(nsfleet + ["--version"], check=True, capture_output=True)
    cache = tmp_path / "bin" / cache_of(data)
    archive = [entry for entry in cache.iterdir() if entry.name.startswith("modules.")][0]
    archive.write_bytes(archive.read_bytes()[:100])
    run = subprocess.run(nsfleet + ["run", "--rm", "--", "/bin/sh", "-c", "exit 7"], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 7, run.stderr
