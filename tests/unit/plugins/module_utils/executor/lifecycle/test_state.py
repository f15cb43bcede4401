import json
import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import boot
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.state import (
    STATE_SCHEMA, LockTimeout, StateStore, atomic_write_json, resolve_root)
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError


@pytest.fixture
def store(tmp_path):
    return StateStore(str(tmp_path))


@pytest.fixture
def reboot(monkeypatch):
    """Boot "boot-1" now; calling the fixture's value moves to another boot, as after a reboot."""
    monkeypatch.setattr(boot, "_cached", ["boot-1"])

    def to(boot_id):
        monkeypatch.setattr(boot, "_cached", [boot_id])
    return to


def test_layout_follows_the_design(store, tmp_path):
    assert store.state_path("web") == str(tmp_path / "run/nsfleet/web/state.json")
    assert store.spec_path("web") == str(tmp_path / "var/lib/nsfleet/web/spec.json")
    assert store.lock_path("web") == str(tmp_path / "run/nsfleet/web.lock")
    assert store.log_path("web") == str(tmp_path / "var/log/nsfleet/web.log")


def test_root_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NSFLEET_STATE_DIR", str(tmp_path))
    assert StateStore().run_dir == str(tmp_path / "run/nsfleet")


def test_state_is_versioned_and_merged(store, reboot):
    store.write_state("web", {"status": "created"})
    store.update_state("web", status="running", restart_count=2)
    state = store.read_state("web")
    assert state == {"schema": STATE_SCHEMA, "name": "web", "status": "running", "restart_count": 2, "boot_id": "boot-1"}


RUNNING = {"status": "running", "restart_count": 3, "exit_code": None, "supervisor": {"pid": 10, "start_time": 5},
           "init": {"pid": 11, "start_time": 6}, "namespaces": {"pid": "pid:[4026532207]"}}


def test_state_from_an_earlier_boot_has_no_processes_and_is_never_running(store, reboot):
    store.write_state("web", RUNNING)
    reboot("boot-2")
    state = store.read_state("web")
    assert state["status"] == "stale"
    assert not set(state) & {"supervisor", "init", "namespaces"}
    assert state["restart_count"] == 3 and state["boot_id"] == "boot-1"
    # A write in this boot starts from that: the old PIDs never come back, the new boot id is recorded.
    store.update_state("web", restart_count=0)
    assert "init" not in json.load(open(store.state_path("web")))
    assert store.read_state("web")["boot_id"] == "boot-2"


@pytest.mark.parametrize("recorded", ["stopped", "exited", "created"])
def test_an_ended_state_from_an_earlier_boot_still_says_how_it_ended(store, reboot, recorded):
    store.write_state("web", dict(RUNNING, status=recorded, exit_code=0))
    reboot("boot-2")
    assert store.read_state("web")["status"] == recorded


def test_state_without_a_boot_id_is_trusted(store, reboot):
    """Release 0.1 recorded no boot id: its running workloads keep running across the upgrade."""
    os.makedirs(os.path.dirname(store.state_path("web")))
    atomic_write_json(store.state_path("web"), dict(RUNNING, schema=1, name="web"))
    reboot("boot-2")
    assert store.read_state("web")["init"] == RUNNING["init"]


@pytest.mark.parametrize("desired, status", [("started", "stale"), ("stopped", "stopped")])
def test_after_a_reboot_emptied_run_the_desired_state_tells(store, reboot, tmp_path, desired, status):
    store.write_spec("web", {"name": "web"})
    store.write_state("web", RUNNING)
    store.write_desired("web", desired)
    assert store.read_desired("web") == {"state": desired, "boot_id": "boot-1"}
    reboot("boot-2")
    os.unlink(store.state_path("web"))
    assert store.read_state("web")["status"] == status


def test_no_state_in_this_boot_is_no_state(store, reboot):
    store.write_spec("web", {"name": "web"})
    store.write_desired("web", "started")
    assert store.read_state("web") is None


def test_the_desired_state_is_written_only_when_it_changes(store, reboot):
    store.write_spec("web", {"name": "web"})
    store.write_desired("web", "started")
    written = os.stat(store.desired_path("web")).st_ino
    store.write_desired("web", "started")
    assert os.stat(store.desired_path("web")).st_ino == written
    store.write_desired("web", "stopped")
    assert store.read_desired("web")["state"] == "stopped"


def test_the_boot_id_comes_from_the_kernel_unless_a_test_says_otherwise(monkeypatch):
    monkeypatch.setattr(boot, "_cached", [])
    monkeypatch.delenv(boot.BOOT_ID_ENV, raising=False)
    assert boot.current_boot_id() == open(boot.BOOT_ID_PATH).read().strip()
    monkeypatch.setattr(boot, "_cached", [])
    monkeypatch.setenv(boot.BOOT_ID_ENV, "simulated")
    assert boot.current_boot_id() == "simulated"
    assert boot.is_earlier_boot("other") and not boot.is_earlier_boot("simulated") and not boot.is_earlier_boot(None)


def test_atomic_write_leaves_no_temp_file(tmp_path):
    path = str(tmp_path / "doc.json")
    atomic_write_json(path, {"a": 1})
    atomic_write_json(path, {"a": 2})
    assert json.load(open(path)) == {"a": 2}
    assert os.listdir(tmp_path) == ["doc.json"]


def test_failed_write_keeps_the_old_document(tmp_path):
    path = str(tmp_path / "doc.json")
    atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.load(open(path)) == {"a": 1}
    assert os.listdir(tmp_path) == ["doc.json"]


def test_names_lists_workloads_with_a_spec(store):
    store.write_spec("b", {"name": "b"})
    store.write_spec("a", {"name": "a"})
    store.write_state("orphan-state-only", {})
    assert store.names() == ["a", "b"]
    assert store.exists("a") and not store.exists("orphan-state-only")


def test_remove_forgets_everything(store):
    store.write_spec("web", {"name": "web"})
    store.write_state("web", {"status": "stopped"})
    os.close(store.open_log("web"))
    store.remove("web")
    assert not store.exists("web") and store.read_state("web") is None
    assert not os.path.exists(store.log_path("web"))
    store.remove("web")  # removing twice is fine


def test_remove_can_keep_the_log(store):
    store.write_spec("web", {"name": "web"})
    os.close(store.open_log("web"))
    store.remove("web", keep_logs=True)
    assert not store.exists("web") and os.path.exists(store.log_path("web"))


@pytest.mark.parametrize("name", ["../../etc/x", "/etc/x", "..", "", "Web", "a/b", "x" * 64])
def test_no_path_is_built_from_a_bad_name(store, tmp_path, name):
    for make_path in (store.state_path, store.spec_path, store.log_path, store.lock_path, store.lock, store.remove):
        with pytest.raises(SpecError) as refused:
            make_path(name)
        assert refused.value.param == "name"
    assert list(tmp_path.iterdir()) == []


def test_names_skips_entries_that_are_not_workload_names(store):
    store.write_spec("web", {"name": "web"})
    os.makedirs(os.path.join(store.lib_dir, "Not-A-Name"))
    open(os.path.join(store.lib_dir, "Not-A-Name", "spec.json"), "w").write("{}")
    assert store.names() == ["web"]


def test_empty_state_dir_never_means_root(monkeypatch):
    with pytest.raises(SpecError) as empty_option:
        StateStore("")
    assert empty_option.value.param == "--state-dir"
    monkeypatch.setenv("NSFLEET_STATE_DIR", "")
    with pytest.raises(SpecError) as empty_environment:
        StateStore()
    assert empty_environment.value.param == "NSFLEET_STATE_DIR"
    assert resolve_root("/srv/x", {"NSFLEET_STATE_DIR": ""}) == "/srv/x"
    assert resolve_root(None, {}) == "/"


def test_a_discarded_lock_leaves_no_file(store):
    with store.lock("web") as lock:
        lock.discard()
    assert not os.path.exists(store.lock_path("web"))
    with store.lock("web", timeout=0.1):  # a new file, a new lock
        assert os.path.exists(store.lock_path("web"))


def _fds_open_on(path):
    found = 0
    for entry in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink("/proc/self/fd/" + entry) == path
        except OSError:
            pass
    return found


def test_a_waiter_on_a_discarded_lock_file_takes_the_new_file(store):
    """A waiter that opened the file before rm discarded it must not end up holding an unlinked file."""
    import fcntl
    import threading
    import time

    holder = store.lock("web").__enter__()
    acquired = []
    waiter = threading.Thread(target=lambda: acquired.append(store.lock("web", timeout=30).__enter__()))
    waiter.start()
    deadline = time.monotonic() + 10
    while _fds_open_on(store.lock_path("web")) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # until the waiter has the old file open
    assert _fds_open_on(store.lock_path("web")) == 2
    holder.discard()
    holder.__exit__(None, None, None)
    waiter.join(30)
    (lock,) = acquired
    try:
        assert os.fstat(lock.fd).st_ino == os.stat(store.lock_path("web")).st_ino
        probe = os.open(store.lock_path("web"), os.O_RDWR)
        with pytest.raises(BlockingIOError):  # the file the path names is the one locked
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(probe)
    finally:
        lock.__exit__(None, None, None)


def test_lock_serialises_and_times_out(store):
    with store.lock("web"):
        with pytest.raises(LockTimeout):
            with store.lock("web", timeout=0.1):
                pass
    with store.lock("web", timeout=0.1):
        pass
