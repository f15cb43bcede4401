"""The nsfleet command's entry point, in-process: exit codes, and what it refuses before touching the disk."""

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli import main as cli


@pytest.mark.parametrize("argv, param", [
    (["inspect"], "NAME"), (["inspect", "--all", "web"], "--all"), (["inspect", "--all", "--spec", "-"], "--all"),
])
def test_inspect_refuses_ambiguous_requests(capsys, tmp_path, argv, param):
    assert cli.main(["--state-dir", str(tmp_path)] + argv) == 2
    assert capsys.readouterr().err.startswith("nsfleet: %s:" % param)


@pytest.mark.parametrize("argv", [
    ["start", "../../etc/x"], ["stop", "../../etc/x"], ["restart", "../x"], ["rm", "web", "../../etc/x"],
    ["inspect", "../x"], ["ps", "../x"], ["exec", "../x", "--", "/bin/true"], ["inspect", "/abs"],
])
def test_a_bad_name_is_refused_before_anything_touches_the_disk(capsys, tmp_path, argv):
    state_dir = tmp_path / "host"
    state_dir.mkdir()
    assert cli.main(["--state-dir", str(state_dir)] + argv) == 2
    assert "is not a valid workload name" in capsys.readouterr().err
    assert list(tmp_path.rglob("*")) == [state_dir]


def test_a_missing_workload_is_exit_code_3(capsys, tmp_path):
    for argv in (["start", "web"], ["stop", "web"], ["restart", "web"], ["inspect", "web"], ["ps", "web"],
                 ["exec", "web", "--", "/bin/true"]):
        assert cli.main(["--state-dir", str(tmp_path)] + argv) == cli.EXIT_NO_SUCH_WORKLOAD == 3
        assert "workload 'web' does not exist" in capsys.readouterr().err
    assert not (tmp_path / "run" / "nsfleet" / "web.lock").exists()  # nothing of a missing workload stays
    assert cli.main(["--state-dir", str(tmp_path), "rm", "web"]) == 0  # rm of a missing workload is done


@pytest.mark.parametrize("argv, param", [
    (["--state-dir=", "ls"], "--state-dir"), (["--state-dir", "", "ls"], "--state-dir"),
])
def test_an_empty_state_dir_is_refused(capsys, argv, param):
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("nsfleet: %s:" % param)


def test_an_empty_state_dir_variable_is_refused(capsys, monkeypatch):
    monkeypatch.setenv("NSFLEET_STATE_DIR", "")
    assert cli.main(["ls"]) == 2
    assert capsys.readouterr().err.startswith("nsfleet: NSFLEET_STATE_DIR:")
    assert cli.main(["--state-dir"]) == 2


def test_inspect_with_a_spec_answers_for_a_missing_workload(capsys, monkeypatch, tmp_path):
    import io
    import json
    monkeypatch.setattr("sys.stdin", io.StringIO('{"name": "web", "command": ["/bin/true"]}'))
    assert cli.main(["--state-dir", str(tmp_path), "inspect", "web", "--spec", "-"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["workload"] is None and answer["spec"]["command"] == ["/bin/true"] and answer["spec_hash"]
    assert list(tmp_path.iterdir()) == []  # a question changes nothing


def test_inspect_with_a_spec_of_another_name_is_refused(capsys, monkeypatch, tmp_path):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO('{"name": "other", "command": ["/bin/true"]}'))
    assert cli.main(["--state-dir", str(tmp_path), "inspect", "web", "--spec", "-"]) == 2
    assert capsys.readouterr().err.startswith("nsfleet: name: the spec names 'other', not 'web'")


def test_the_executable_is_passed_explicitly(monkeypatch, tmp_path):
    from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.operations import Workloads
    seen = []
    monkeypatch.setattr(Workloads, "list", lambda self, with_processes=False: seen.append(self.executable) or [])
    assert cli.main(["--state-dir", str(tmp_path), "ls"], bundle_path="/opt/nsfleet") == 0
    assert cli.main(["--state-dir", str(tmp_path), "ls"]) == 0
    assert seen == ["/opt/nsfleet", None]
    assert not [name for name in vars(cli) if name.isupper() and "PATH" in name]  # no module-level global


def test_rm_prunes_bundle_caches_when_the_bundle_can(capsys, tmp_path):
    pruned = []
    assert cli.main(["--state-dir", str(tmp_path), "rm", "web"], prune_caches=lambda: pruned.append(True)) == 0
    assert pruned == [True]


def test_run_id_map_flags_become_spec_lines():
    args = {"remainder": ["/bin/true"], "uid_map": ["0:100000:1000", "1000:5000:1"], "gid_map": ["0:1:x"]}
    raw = cli.spec_from_run_args(args)
    assert raw["uid_map"] == [{"inside": 0, "outside": 100000, "count": 1000}, {"inside": 1000, "outside": 5000, "count": 1}]
    assert raw["gid_map"] == ["0:1:x"]  # left for the validator, which names gid_map[0]


def test_a_bad_id_map_flag_is_bad_input(capsys, tmp_path):
    argv = ["--state-dir", str(tmp_path), "run", "--rm", "--ns", "user=private", "--gid-map", "0:1", "--", "/bin/true"]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("nsfleet: gid_map[0]:")


def test_run_limit_flags_become_the_limits_field():
    from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli.main import COMMANDS, spec_from_run_args
    run = dict((command.name, command) for command, _handler in COMMANDS)["run"]
    args = run.parse(["--name", "web", "-m", "512m", "--memory-swap", "1g", "--pids-limit", "20", "--cpus", "0.5",
                      "--cpu-weight", "200", "--cgroup-parent", "/mine", "--", "/bin/true"])
    raw = spec_from_run_args(args)
    assert raw["limits"] == {"memory": "512m", "memory_swap": "1g", "pids": "20", "cpu": "0.5", "cpu_weight": "200"}
    assert raw["cgroup_parent"] == "/mine" and raw["name"] == "web" and raw["command"] == ["/bin/true"]
    assert "limits" not in spec_from_run_args(run.parse(["--", "/bin/true"]))


def test_run_flags_for_confinement_become_spec_fields():
    run = dict((command.name, command) for command, _handler in cli.COMMANDS)["run"]
    args = run.parse(["--cap-add", "net_admin", "--cap-drop", "ALL", "--cap-drop", "kill", "--allow-new-privileges",
                      "--seccomp", "unconfined", "--", "/bin/true"])
    raw = cli.spec_from_run_args(args)
    assert raw["capabilities"] == {"add": ["net_admin"], "drop": ["ALL", "kill"]}
    assert raw["no_new_privileges"] is False and raw["seccomp"] == "unconfined"
    assert cli.spec_from_run_args(run.parse(["--", "/bin/true"]))["no_new_privileges"] is True
