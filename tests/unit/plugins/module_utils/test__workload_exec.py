"""workload_exec against a fake executor: one executor start, command-like results, failures as command fails."""

import pytest
from fake_executor import FakeExecutor, FakeModule, ModuleExit

from ansible_collections.nsfleet.pidns.plugins.module_utils import _workload_exec
from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorClient

DEFAULTS = dict((option, spec.get("default")) for option, spec in _workload_exec.ARGUMENT_SPEC.items())


def run_module(executor, tmp_path, check_mode=False, **params):
    module_params = dict(DEFAULTS, name="web", state_dir=str(tmp_path / "host"))
    module_params.update(params)
    (tmp_path / "ansible-tmp").mkdir(exist_ok=True)
    module = FakeModule(executor, module_params, str(tmp_path / "ansible-tmp"), check_mode=check_mode)
    with pytest.raises(ModuleExit) as exited:
        _workload_exec.run(module, ExecutorClient(module, module_params["state_dir"]))
    return exited.value


def running():
    executor = FakeExecutor()
    executor.add("web")
    return executor


def test_a_run_is_one_executor_start_and_returns_what_command_returns(tmp_path):
    executor = running()
    exited = run_module(executor, tmp_path, command=["cat"], stdin="hello", env={"B": "2", "A": "1"},
                        user="app", cwd="/srv", timeout=5.0)
    assert not exited.failed and exited.result["changed"]
    assert exited.result["stdout"] == "hello" and exited.result["stdout_lines"] == ["hello"]
    assert exited.result["stderr_lines"] == [] and exited.result["rc"] == 0
    assert (exited.result["host_pid"], exited.result["ns_pid"]) == (4300, 7)
    assert executor.calls == [["exec", "--json", "--user", "app", "--cwd", "/srv", "--timeout", "5.0",
                               "--env", "A=1", "--env", "B=2", "web", "--", "cat"]]


def test_no_stdin_means_dev_null_and_the_newline_is_optional(tmp_path):
    executor = running()
    run_module(executor, tmp_path, command=["true"])
    assert "--no-stdin" in executor.calls[-1] and executor.exec_calls[-1]["stdin"] is None
    run_module(executor, tmp_path, command=["cat"], stdin="x", stdin_add_newline=False)
    assert executor.exec_calls[-1]["stdin"] == "x"


def test_a_non_zero_rc_fails_with_the_result(tmp_path):
    executor = running()
    executor.exec_rc = 3
    exited = run_module(executor, tmp_path, command=["false"])
    assert exited.failed and exited.result["rc"] == 3 and exited.result["msg"] == "non-zero return code"
    assert exited.result["changed"]


def test_a_timeout_fails_and_says_so(tmp_path):
    executor = running()
    executor.exec_rc = 137
    exited = run_module(executor, tmp_path, command=["sleep", "100"], timeout=1.0)
    assert exited.failed and exited.result["timed_out"] and "timed out after 1.0 seconds" in exited.result["msg"]


def test_creates_skips_unchanged(tmp_path):
    executor = running()
    executor.existing_paths.add("/done")
    exited = run_module(executor, tmp_path, command=["setup"], creates="/done")
    assert not exited.failed and not exited.result["changed"] and exited.result["msg"].startswith("did not run")
    assert "skipped" not in exited.result  # Ansible would not evaluate changed_when and failed_when


def test_check_mode_runs_nothing_and_predicts_a_change(tmp_path):
    executor = running()
    exited = run_module(executor, tmp_path, check_mode=True, command=["setup"])
    assert exited.result["changed"] and "--check" in executor.calls[-1] and "rc" not in exited.result
    executor.existing_paths.add("/done")
    assert not run_module(executor, tmp_path, check_mode=True, command=["setup"], creates="/done").result["changed"]


def test_a_workload_that_is_not_running_or_missing_fails_clearly(tmp_path):
    executor = FakeExecutor()
    executor.add("web", status="stopped")
    exited = run_module(executor, tmp_path, command=["true"])
    assert exited.failed and "is not running (status: stopped)" in exited.result["msg"]
    missing = run_module(executor, tmp_path, name="ghost", command=["true"])
    assert missing.failed and missing.result["msg"].startswith("name: ")


def test_an_empty_command_fails_before_the_executor_starts(tmp_path):
    executor = running()
    exited = run_module(executor, tmp_path, command=[])
    assert exited.failed and exited.result["msg"].startswith("command:") and executor.calls == []
