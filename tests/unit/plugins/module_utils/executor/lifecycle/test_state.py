import json
import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.state import (
    STATE_SCHEMA, LockTimeout, StateStore, atomic_write_json)


@pytest.fixture
def store(tmp_path):
    return StateStore(str(tmp_path))


def test_layout_follows_the_design(store, tmp_path):
    assert store.state_path("web") == str(tmp_path / "run/nsfleet/web/state.json")
    assert store.spec_path("web") == str(tmp_path / "var/lib/nsfleet/web/spec.json")
    assert store.lock_path("web") == str(tmp_path / "run/nsfleet/web.lock")
    assert store.log_path("web") == str(tmp_path / "var/log/nsfleet/web.log")


def test_root_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NSFLEET_STATE_DIR", str(tmp_path))
    assert StateStore().run_dir == str(tmp_path / "run/nsfleet")


def test_state_is_versioned_and_merged(store):
    store.write_state("web", {"status": "created"})
    store.update_state("web", status="running", restart_count=2)
    state = store.read_state("web")
    assert state == {"schema": STATE_SCHEMA, "name": "web", "status": "running", "restart_count": 2}


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


def test_lock_serialises_and_times_out(store):
    with store.lock("web"):
        with pytest.raises(LockTimeout):
            with store.lock("web", timeout=0.1):
                pass
    with store.lock("web", timeout=0.1):
        pass
