"""The workloads (batch) module against a fake executor: what it sends, what it returns, how it fails."""

import copy

import pytest
from fake_executor import FakeExecutor, FakeModule, ModuleExit

from ansible_collections.nsfleet.pidns.plugins.module_utils._batch_manager import BatchManager
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.schema import module_argument_spec

SLEEP = ["/bin/sleep", "1000"]  # the command FakeExecutor.add gives existing workloads


def item(name, **options):
    """One item of ``workloads`` as Ansible hands it over: every option present, unset ones None."""
    params = dict((key, None) for key in module_argument_spec())
    params.update(name=name, state="started", recreate=False, command=SLEEP)
    params.update(options)
    return params


def run_module(executor, tmp_path, workloads, check_mode=False, diff=False, prune=False, selector=None):
    params = {"workloads": workloads, "prune": prune, "selector": selector or {}, "state_dir": str(tmp_path / "host")}
    (tmp_path / "ansible-tmp").mkdir(exist_ok=True)
    module = FakeModule(executor, params, str(tmp_path / "ansible-tmp"), check_mode=check_mode, diff=diff)
    with pytest.raises(ModuleExit) as exited:
        BatchManager(module).run()
    return exited.value


def test_the_whole_list_is_one_executor_start(tmp_path):
    executor = FakeExecutor()
    result = run_module(executor, tmp_path, [item("a"), item("b", state="stopped", env={"K": "v"})]).result
    assert len(executor.calls) == 1 and executor.calls[0] == ["apply", "--specs", "-"]
    sent = executor.applied[0]["entries"]
    # The spec options the user set, with the entry's own state and recreate; unset options are not sent.
    assert sent == [{"name": "a", "command": SLEEP, "state": "started", "recreate": False},
                    {"name": "b", "command": SLEEP, "env": {"K": "v"}, "state": "stopped", "recreate": False}]
    assert result["changed"] is True
    assert [(entry["name"], entry["action"]) for entry in result["results"]] == [("a", "create"), ("b", "create")]
    assert all(set(entry) == {"name", "action", "changed", "failed", "msg", "workload"} for entry in result["results"])


def test_a_repeat_changes_nothing(tmp_path):
    executor = FakeExecutor()
    run_module(executor, tmp_path, [item("a"), item("b")])
    result = run_module(executor, tmp_path, [item("a"), item("b")]).result
    assert result["changed"] is False
    assert [entry["action"] for entry in result["results"]] == ["none", "none"]


def test_check_mode_asks_for_check_and_changes_nothing(tmp_path):
    executor = FakeExecutor()
    executor.add("old", labels={"team": "x"})
    before = copy.deepcopy(executor.workloads)
    result = run_module(executor, tmp_path, [item("a")], check_mode=True, diff=True, prune=True,
                        selector={"team": "x"}).result
    assert executor.calls[0] == ["apply", "--specs", "-", "--prune", "--check", "--selector", "team=x"]
    assert executor.workloads == before
    assert [(entry["name"], entry["action"]) for entry in result["results"]] == [("a", "create"), ("old", "remove")]
    assert not (tmp_path / "host").exists()  # check mode runs a private copy of the executor


def test_diff_mode_gives_one_diff_per_changed_workload_headed_by_its_name(tmp_path):
    executor = FakeExecutor()
    executor.add("same")
    executor.add("other", command=["/bin/sleep", "5"])
    result = run_module(executor, tmp_path, [item("same"), item("other"), item("new")], diff=True).result
    assert [diff["before_header"] for diff in result["diff"]] == ["other", "new"]
    other, new = result["diff"]
    assert other["before"]["spec"]["command"] == ["/bin/sleep", "5"] and other["after"]["spec"]["command"] == SLEEP
    assert new["before"] == {} and new["after"]["status"] == "running"
    # Each result carries its own diff too, changed or not.
    assert [set(entry["diff"]) for entry in result["results"]] == [{"before", "after"}] * 3
    assert result["results"][0]["diff"]["before"] == result["results"][0]["diff"]["after"]


def test_no_diff_outside_diff_mode(tmp_path):
    result = run_module(FakeExecutor(), tmp_path, [item("a")]).result
    assert "diff" not in result and "diff" not in result["results"][0]


def test_a_label_change_alone_updates_in_place(tmp_path):
    executor = FakeExecutor()
    executor.add("a", labels={"tier": "web"})
    result = run_module(executor, tmp_path, [item("a", labels={"tier": "db"})]).result
    assert result["results"][0]["action"] == "update" and result["changed"] is True
    assert executor.workloads["a"]["status"] == "running"
    assert executor.workloads["a"]["spec"]["labels"] == {"tier": "db"}


def test_the_selector_goes_only_with_prune_and_values_as_labels_store_them(tmp_path):
    executor = FakeExecutor()
    run_module(executor, tmp_path, [item("a")], selector={"team": "x"})
    assert executor.calls[-1] == ["apply", "--specs", "-"]
    run_module(executor, tmp_path, [item("a")], prune=True, selector={"replicas": 2, "canary": True})
    assert executor.calls[-1][3:] == ["--prune", "--selector", "canary=true", "--selector", "replicas=2"]


def test_prune_reports_the_pruned_workloads(tmp_path):
    executor = FakeExecutor()
    executor.add("mine", labels={"team": "x"})
    executor.add("theirs", labels={"team": "y"})
    result = run_module(executor, tmp_path, [item("a")], prune=True, selector={"team": "x"}).result
    assert sorted(executor.workloads) == ["a", "theirs"]
    assert result["results"][-1] == {"name": "mine", "action": "remove", "changed": True, "failed": False,
                                     "msg": "pruned", "workload": None}


def test_a_failing_workload_fails_the_task_by_name_and_the_others_are_done(tmp_path):
    executor = FakeExecutor()
    workloads = [item("ok-%d" % index) for index in range(5)] + [item("bad-1", command=["fail"]),
                                                                 item("bad-2", command=["fail"])]
    exited = run_module(executor, tmp_path, workloads)
    assert exited.failed
    assert "2 of 7 workloads failed" in exited.result["msg"]
    assert "bad-1 (start: failed on purpose)" in exited.result["msg"] and "bad-2" in exited.result["msg"]
    assert exited.result["changed"] is True
    assert sorted(executor.workloads) == ["ok-%d" % index for index in range(5)]
    assert [entry["failed"] for entry in exited.result["results"]] == [False] * 5 + [True, True]


def test_a_name_listed_twice_is_refused_before_the_executor_runs(tmp_path):
    executor = FakeExecutor()
    exited = run_module(executor, tmp_path, [item("a"), item("b"), item("a")])
    assert exited.failed and exited.result["msg"].startswith("workloads[2].name:")
    assert executor.calls == []


def test_bad_input_the_executor_refuses_fails_with_its_message(tmp_path):
    executor = FakeExecutor()
    executor.fail_verbs.add("apply")
    exited = run_module(executor, tmp_path, [item("a")])
    assert exited.failed and "apply failed on purpose" in exited.result["msg"]
    assert exited.result["results"] == []
