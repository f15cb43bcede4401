"""The executor client against a fake executor: one start per question, errors mapped, the bundle installed once."""

import os
import sys

import pytest
from fake_executor import FakeExecutor, FakeModule

from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_bundle as bundle
from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import (
    EXECUTOR_RELATIVE_PATH, ExecutorClient, ExecutorError, NoSuchWorkload)
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli import main as executor_cli


def client_for(executor, tmp_path, check_mode=False, may_install=True):
    (tmp_path / "ansible-tmp").mkdir(exist_ok=True)
    module = FakeModule(executor, {}, str(tmp_path / "ansible-tmp"), check_mode=check_mode)
    return ExecutorClient(module, str(tmp_path / "host"), may_install=may_install)


def test_the_fake_speaks_the_executors_exit_codes():
    assert (executor_cli.EXIT_FAILED, executor_cli.EXIT_BAD_INPUT, executor_cli.EXIT_NO_SUCH_WORKLOAD) == (1, 2, 3)


def test_inspect_is_one_start_and_none_when_missing(tmp_path):
    executor = FakeExecutor()
    executor.add("web")
    client = client_for(executor, tmp_path)
    assert client.inspect("web")["status"] == "running"
    assert client.inspect("nope") is None
    assert executor.calls == [["inspect", "web"], ["inspect", "nope"]]


def test_list_is_one_start_with_processes(tmp_path):
    executor = FakeExecutor()
    for name in ("a", "b", "c"):
        executor.add(name)
    workloads = client_for(executor, tmp_path).list()
    assert [workload["name"] for workload in workloads] == ["a", "b", "c"]
    assert all(workload["processes"] for workload in workloads)
    assert executor.calls == [["inspect", "--all"]]


def test_inspect_with_spec_answers_both_in_one_start(tmp_path):
    executor = FakeExecutor()
    answer = client_for(executor, tmp_path).inspect_with_spec("web", {"name": "web", "command": ["/bin/true"]})
    assert answer["workload"] is None and answer["spec"]["command"] == ["/bin/true"] and answer["spec_hash"]
    assert len(executor.calls) == 1


def test_errors_keep_the_message_and_say_whether_the_user_can_fix_them(tmp_path):
    executor = FakeExecutor()
    client = client_for(executor, tmp_path)
    with pytest.raises(ExecutorError) as bad:
        client.inspect_with_spec("web", {"name": "web", "command": ["bad"]})
    assert bad.value.bad_input and str(bad.value) == "command: 'bad' not found"
    executor.add("web")
    executor.fail_verbs.add("stop")
    with pytest.raises(ExecutorError) as failed:
        client.call(["stop", "web"])
    assert not failed.value.bad_input and str(failed.value) == "stop failed on purpose"
    with pytest.raises(NoSuchWorkload):
        client.call(["start", "nope"])


def test_argv_runs_the_installed_bundle_isolated(tmp_path):
    executor = FakeExecutor()
    client = client_for(executor, tmp_path)
    client.call(["inspect", "--all"])
    installed = os.path.join(str(tmp_path / "host"), EXECUTOR_RELATIVE_PATH)
    assert client.path == installed and client.installed
    data = bundle.build(bundle.sources_from_directory(os.path.join(os.path.dirname(bundle.__file__), "executor")),
                        sys.executable)
    assert open(installed, "rb").read() == data


def test_the_bundle_is_written_only_when_its_content_changed(tmp_path):
    client_for(FakeExecutor(), tmp_path).ensure()
    again = client_for(FakeExecutor(), tmp_path)
    again.ensure()
    assert again.installed is False


@pytest.mark.parametrize("check_mode, may_install", [(True, True), (False, False)])
def test_check_mode_and_info_modules_run_a_private_copy(tmp_path, check_mode, may_install):
    executor = FakeExecutor()
    client = client_for(executor, tmp_path, check_mode=check_mode, may_install=may_install)
    client.call(["inspect", "--all"])
    assert client.path == str(tmp_path / "ansible-tmp" / "nsfleet")
    assert not (tmp_path / "host").exists()
