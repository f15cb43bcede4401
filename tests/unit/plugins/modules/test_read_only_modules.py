"""workload_logs and namespace_info against a fake executor: one start, read-only, errors named."""

import pytest
from fake_executor import FakeExecutor, FakeModule, ModuleExit

from ansible_collections.nsfleet.pidns.plugins.modules import namespace_info, workload_logs


def run_main(monkeypatch, tmp_path, module, executor, check_mode=False, **params):
    (tmp_path / "ansible-tmp").mkdir(exist_ok=True)

    def fake_ansible_module(argument_spec, supports_check_mode):
        assert supports_check_mode
        values = dict((option, spec.get("default")) for option, spec in argument_spec.items())
        values.update(params, state_dir=str(tmp_path / "host"))
        return FakeModule(executor, values, str(tmp_path / "ansible-tmp"), check_mode=check_mode)

    monkeypatch.setattr(module, "AnsibleModule", fake_ansible_module)
    with pytest.raises(ModuleExit) as exited:
        module.main()
    return exited.value


def test_logs_all_or_the_tail_in_one_start(monkeypatch, tmp_path):
    executor = FakeExecutor()
    executor.add("web")
    executor.logs["web"] = ["one", "two", "three"]
    everything = run_main(monkeypatch, tmp_path, workload_logs, executor, name="web")
    assert not everything.failed and not everything.result["changed"]
    assert everything.result["log_lines"] == ["one", "two", "three"] and everything.result["log"] == "one\ntwo\nthree\n"
    last = run_main(monkeypatch, tmp_path, workload_logs, executor, check_mode=True, name="web", tail=1)
    assert last.result["log_lines"] == ["three"]
    assert executor.calls == [["logs", "--json", "web"], ["logs", "--json", "--tail", "1", "web"]]


@pytest.mark.parametrize("params, message", [
    ({"name": "../etc"}, "name:"), ({"name": "web", "tail": -1}, "tail:"), ({"name": "ghost"}, "name: workload")])
def test_logs_refuse_bad_input_and_missing_workloads(monkeypatch, tmp_path, params, message):
    executor = FakeExecutor()
    executor.add("web")
    executor.logs["web"] = []
    exited = run_main(monkeypatch, tmp_path, workload_logs, executor, **params)
    assert exited.failed and exited.result["msg"].startswith(message)


def test_namespace_info_is_ns_json(monkeypatch, tmp_path):
    executor = FakeExecutor()
    executor.add("web")
    executor.add("idle", status="stopped")
    exited = run_main(monkeypatch, tmp_path, namespace_info, executor, check_mode=True)
    assert not exited.failed and not exited.result["changed"]
    assert [entry["workloads"] for entry in exited.result["namespaces"]] == [[], ["web"]]
    assert executor.calls == [["ns", "--json"]]


def test_namespace_info_reports_an_executor_failure(monkeypatch, tmp_path):
    executor = FakeExecutor()
    executor.fail_verbs.add("ns")
    exited = run_main(monkeypatch, tmp_path, namespace_info, executor)
    assert exited.failed and exited.result["msg"] == "ns failed on purpose"
