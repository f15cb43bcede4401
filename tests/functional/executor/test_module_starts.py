"""The workload module's logic against the real executor: a run that changes nothing starts it once."""

import subprocess

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils._workload_manager import WorkloadManager

PARAMS = {"state": "started", "command": ["/bin/sleep", "1000"], "env": None, "cwd": None, "user": None,
          "hostname": "counted", "rootfs": None, "mounts": None, "namespaces": None, "init": None,
          "stop_signal": None, "stop_timeout": None, "restart_policy": None, "recreate": False}


class Finished(Exception):
    def __init__(self, result):
        Exception.__init__(self, result.get("msg", ""))
        self.result = result


class CountingModule:
    """Enough of AnsibleModule to run the manager; counts executor starts."""

    def __init__(self, params, tmpdir, check_mode=False):
        self.params = params
        self.tmpdir = tmpdir
        self.check_mode = check_mode
        self._diff = False
        self.starts = []

    def run_command(self, argv, data=None, binary_data=False):
        self.starts.append(argv[5:])
        result = subprocess.run(argv, input=data, capture_output=True, text=True, timeout=120, check=False)
        return result.returncode, result.stdout, result.stderr

    def exit_json(self, **result):
        raise Finished(result)

    fail_json = exit_json


def run_manager(tmp_path, check_mode=False, **params):
    (tmp_path / "ansible-tmp").mkdir(exist_ok=True)
    module = CountingModule(dict(PARAMS, name="counted", state_dir=str(tmp_path / "host"), **params),
                            str(tmp_path / "ansible-tmp"), check_mode)
    with pytest.raises(Finished) as finished:
        WorkloadManager(module).run()
    assert "failed" not in finished.value.result, finished.value.result
    return finished.value.result, module.starts


def test_no_change_runs_start_the_executor_once(tmp_path):
    result, starts = run_manager(tmp_path)
    assert result["changed"] and [start[0] for start in starts] == ["inspect", "create", "start"]
    try:
        for check_mode in (False, True):
            for state in ("started", "present"):
                result, starts = run_manager(tmp_path, check_mode=check_mode, state=state)
                assert not result["changed"] and result["workload"]["status"] == "running"
                assert starts == [["inspect", "counted", "--spec", "-"]]
        result, starts = run_manager(tmp_path, state="stopped")
        assert result["changed"] and len(starts) == 2
        result, starts = run_manager(tmp_path, state="stopped", command=None)
        assert not result["changed"] and starts == [["inspect", "counted"]]
    finally:
        result, starts = run_manager(tmp_path, state="absent")
    assert result["changed"] and len(starts) == 2
    result, starts = run_manager(tmp_path, state="absent")
    assert not result["changed"] and starts == [["inspect", "counted"]]
