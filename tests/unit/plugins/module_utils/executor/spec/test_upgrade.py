"""Specs and state stored by every earlier release compare equal under this one.

Each release leaves a folder in tests/fixtures/releases/: the specs its
module sent (tasks/), and the spec.json and state.json it wrote (state/).
The same task must hash the same, or an upgrade would recreate (kill and
restart) every running workload of a fleet.
"""

import glob
import json
import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle import observe
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.state import StateStore
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec import schema
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import spec_hash, validate

RELEASES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "fixtures", "releases")
TASKS = sorted(glob.glob(os.path.join(RELEASES, "*", "tasks", "*.json")))


def _release_and_name(task_path):
    release_dir = os.path.dirname(os.path.dirname(task_path))
    return release_dir, os.path.basename(task_path)[:-len(".json")]


def _load(task_path):
    release_dir, name = _release_and_name(task_path)
    with open(task_path) as task_file:
        task = json.load(task_file)
    return task, StateStore(os.path.join(release_dir, "state")), name


def test_every_release_left_fixtures():
    assert TASKS, "no release fixtures found in %s" % RELEASES


@pytest.mark.parametrize("task_path", TASKS, ids=lambda path: "%s/%s" % (
    os.path.basename(_release_and_name(path)[0]), _release_and_name(path)[1]))
def test_stored_spec_hashes_as_the_same_task_does_today(task_path):
    task, store, name = _load(task_path)
    stored = store.read_spec(name)
    wanted = validate(task, store.exists)
    assert spec_hash(stored) == spec_hash(wanted)
    assert stored["spec_version"] == wanted["spec_version"] == schema.SPEC_VERSION


@pytest.mark.parametrize("task_path", TASKS, ids=lambda path: _release_and_name(path)[1])
def test_stored_state_is_read_as_a_workload(task_path):
    _task, store, name = _load(task_path)
    workload = observe.workload_object(observe.observe(store, name), with_processes=False)
    # Its processes are long gone: never reported as running.
    assert workload["name"] == name and workload["status"] not in ("running", "orphaned")
    assert workload["spec_hash"] == spec_hash(store.read_spec(name))


def test_a_new_field_with_a_default_changes_no_hash(monkeypatch):
    before = dict((path, spec_hash(_load(path)[1].read_spec(_load(path)[2]))) for path in TASKS)
    monkeypatch.setattr(schema, "FIELDS", schema.FIELDS + (schema.Field("future_option", "bool", default=False),))
    after = dict((path, spec_hash(_load(path)[1].read_spec(_load(path)[2]))) for path in TASKS)
    assert before == after


def test_equal_specs_hash_equally():
    base = {"name": "web", "command": ["/bin/true"]}
    assert spec_hash(validate(dict(base, stop_timeout=10), bool)) == spec_hash(validate(dict(base, stop_timeout=10.0), bool))
    assert spec_hash(validate(dict(base, namespaces={"uts": "host"}), bool)) == spec_hash(validate(base, bool))
    assert spec_hash(validate(dict(base, stop_timeout=11), bool)) != spec_hash(validate(base, bool))
