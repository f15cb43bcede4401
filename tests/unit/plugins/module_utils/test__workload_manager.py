"""The workload module's state machine against a fake executor: every state x what exists, check and diff mode."""

import copy

import pytest
from fake_executor import MUTATING_VERBS, FakeExecutor, FakeModule, ModuleExit

from ansible_collections.nsfleet.pidns.plugins.module_utils._workload_manager import WorkloadManager

DEFAULTS = {"state": "started", "command": None, "env": None, "cwd": None, "user": None, "hostname": None,
            "rootfs": None, "mounts": None, "namespaces": None, "init": None, "stop_signal": None,
            "stop_timeout": None, "restart_policy": None, "recreate": False}
SAME = ["/bin/sleep", "1000"]  # the command FakeExecutor.add gives existing workloads
OTHER = ["/bin/sleep", "2000"]


def run_module(executor, tmp_path, check_mode=False, diff=False, **params):
    module_params = dict(DEFAULTS, name="web", state_dir=str(tmp_path / "host"), **params)
    module = FakeModule(executor, module_params, str(tmp_path / "ansible-tmp"), check_mode=check_mode, diff=diff)
    (tmp_path / "ansible-tmp").mkdir(exist_ok=True)
    with pytest.raises(ModuleExit) as exited:
        WorkloadManager(module).run()
    return exited.value


def host(existing):
    executor = FakeExecutor()
    if existing is not None:
        executor.add("web", status=existing)
    return executor


# (state, existing status or None, command given, recreate) -> actions, final status (None: absent)
CASES = [
    ("absent", None, SAME, False, [], None),
    ("absent", "running", SAME, False, ["remove"], None),
    ("absent", "stopped", None, False, ["remove"], None),
    ("present", None, SAME, False, ["create"], "created"),
    ("present", "running", SAME, False, [], "running"),
    ("present", "stopped", SAME, False, [], "stopped"),
    ("present", "running", OTHER, False, ["remove", "create", "start"], "running"),
    ("present", "stopped", OTHER, False, ["remove", "create"], "created"),
    ("present", "orphaned", OTHER, False, ["remove", "create", "start"], "running"),
    ("present", "running", SAME, True, ["remove", "create", "start"], "running"),
    ("present", "running", None, False, [], "running"),
    ("started", None, SAME, False, ["create", "start"], "running"),
    ("started", "running", SAME, False, [], "running"),
    ("started", "stopped", SAME, False, ["start"], "running"),
    ("started", "exited", SAME, False, ["start"], "running"),
    ("started", "created", SAME, False, ["start"], "running"),
    ("started", "running", OTHER, False, ["remove", "create", "start"], "running"),
    ("started", "running", SAME, True, ["remove", "create", "start"], "running"),
    ("started", "stopped", None, False, ["start"], "running"),
    ("started", "running", None, False, [], "running"),
    ("stopped", None, SAME, False, ["create"], "created"),
    ("stopped", "running", SAME, False, ["stop"], "stopped"),
    ("stopped", "stopped", SAME, False, [], "stopped"),
    ("stopped", "orphaned", SAME, False, ["stop"], "stopped"),
    ("stopped", "running", OTHER, False, ["remove", "create"], "created"),
    ("stopped", "running", None, False, ["stop"], "stopped"),
    ("restarted", None, SAME, False, ["create", "start"], "running"),
    ("restarted", "running", SAME, False, ["restart"], "running"),
    ("restarted", "stopped", SAME, False, ["restart"], "running"),
    ("restarted", "running", OTHER, False, ["remove", "create", "start"], "running"),
]


@pytest.mark.parametrize("state, existing, command, recreate, actions, final", CASES)
def test_state_machine(tmp_path, state, existing, command, recreate, actions, final):
    executor = host(existing)
    result = run_module(executor, tmp_path, state=state, command=command, recreate=recreate).result
    assert result["actions"] == actions
    assert result["changed"] is bool(actions)
    if final is None:
        assert "web" not in executor.workloads and result["workload"] is None
    else:
        assert executor.workloads["web"]["status"] == final
        assert result["workload"]["status"] == final and "changed" not in result["workload"]
    if command is not None and final is not None:
        assert executor.workloads["web"]["spec"]["command"] == command
    # Reading is one executor start; each action is one more.
    assert len(executor.calls) == 1 + len(actions)


@pytest.mark.parametrize("state, existing, command, recreate, actions, final", CASES)
def test_check_mode_predicts_and_changes_nothing(tmp_path, state, existing, command, recreate, actions, final):
    executor = host(existing)
    before = copy.deepcopy(executor.workloads)
    result = run_module(executor, tmp_path, check_mode=True, diff=True, state=state, command=command,
                        recreate=recreate).result
    assert result["actions"] == actions and result["changed"] is bool(actions)
    assert executor.workloads == before
    assert len(executor.calls) == 1 and executor.calls[0][0] == "inspect"
    predicted = result["workload"]
    if final is None:
        assert predicted is None and result["diff"]["after"] == {}
    else:
        # Check mode knows the status it would reach, except that a created one is not yet started.
        assert predicted["status"] == final
        assert result["diff"]["after"]["status"] == final
    assert result["diff"]["before"] == ({} if existing is None else
                                        {"status": existing, "spec": before["web"]["spec"]})
    # Check mode never installs the executor on the host: it runs a private copy.
    assert not (tmp_path / "host").exists()


@pytest.mark.parametrize("state", ["present", "started", "stopped", "absent"])
def test_no_change_path_starts_the_executor_once(tmp_path, state):
    executor = host("stopped" if state in ("present", "stopped") else "running" if state == "started" else None)
    result = run_module(executor, tmp_path, state=state, command=SAME).result
    assert result["changed"] is False
    assert len(executor.calls) == 1
    expected = ["inspect", "web"] if state == "absent" else ["inspect", "web", "--spec", "-"]
    assert executor.calls[0] == expected


def test_diff_shows_status_and_spec_before_and_after(tmp_path):
    executor = host("running")
    old_spec = copy.deepcopy(executor.workloads["web"]["spec"])
    result = run_module(executor, tmp_path, diff=True, state="stopped", command=OTHER).result
    assert result["diff"]["before"] == {"status": "running", "spec": old_spec}
    assert result["diff"]["after"]["status"] == "created"
    assert result["diff"]["after"]["spec"]["command"] == OTHER


def test_a_failed_start_of_a_new_workload_leaves_nothing(tmp_path):
    executor = host(None)
    executor.fail_verbs.add("start")
    exited = run_module(executor, tmp_path, state="started", command=SAME)
    assert exited.failed and "start failed on purpose" in exited.result["msg"]
    assert exited.result["actions"] == ["create", "start"]
    assert executor.workloads == {}
    assert executor.calls[-1] == ["rm", "--force", "web"]


def test_a_failed_recreate_start_leaves_nothing_half_made(tmp_path):
    executor = host("running")
    executor.fail_verbs.add("start")
    exited = run_module(executor, tmp_path, state="started", command=OTHER)
    assert exited.failed and executor.workloads == {}


def test_a_failed_restart_keeps_the_existing_workload(tmp_path):
    executor = host("running")
    executor.fail_verbs.add("restart")
    exited = run_module(executor, tmp_path, state="restarted", command=SAME)
    assert exited.failed and "web" in executor.workloads
    assert not any(call[0] == "rm" for call in executor.calls)


def test_bad_spec_fails_before_anything_is_made(tmp_path):
    executor = host(None)
    exited = run_module(executor, tmp_path, state="started", command=["bad"])
    assert exited.failed and exited.result["msg"].startswith("command:")
    assert executor.workloads == {} and not any(call[0] in MUTATING_VERBS for call in executor.calls)


def test_creating_without_a_command_names_the_parameter(tmp_path):
    executor = host(None)
    exited = run_module(executor, tmp_path, state="started")
    assert exited.failed and exited.result["msg"].startswith("command: required")
    assert len(executor.calls) == 1 and executor.workloads == {}


def test_the_executor_is_installed_once_and_reused(tmp_path):
    executor = host(None)
    run_module(executor, tmp_path, state="started", command=SAME)
    installed = tmp_path / "host" / "var" / "lib" / "nsfleet" / "bin" / "nsfleet"
    assert installed.is_file()
    first_mtime = installed.stat().st_mtime_ns
    run_module(executor, tmp_path, state="started", command=SAME)
    assert installed.stat().st_mtime_ns == first_mtime
    assert all(call for call in executor.calls)


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_label_change_alone_updates_in_place(tmp_path, check_mode):
    executor = FakeExecutor()
    executor.add("web", labels={"tier": "web"})
    result = run_module(executor, tmp_path, check_mode=check_mode, state="started", command=SAME,
                        labels={"tier": "db"}).result
    assert result["actions"] == ["update"] and result["changed"] is True
    assert result["workload"]["spec"]["labels"] == {"tier": "db"} and result["workload"]["status"] == "running"
    assert executor.workloads["web"]["status"] == "running"
    assert executor.workloads["web"]["spec"]["labels"] == ({"tier": "web"} if check_mode else {"tier": "db"})
    assert not any(call[0] in ("rm", "start", "restart") for call in executor.calls)
