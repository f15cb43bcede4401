import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli import main as cli
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli.arguments import UsageError


def command(name):
    return dict((entry[0].name, entry[0]) for entry in cli.COMMANDS)[name]


def test_run_options_and_remainder():
    args = command("run").parse(["--rm", "--name=web", "-e", "A=1", "-e", "B", "--", "sh", "-c", "exit 3"])
    assert args["rm"] and args["name"] == "web" and args["env"] == ["A=1", "B"]
    assert args["remainder"] == ["sh", "-c", "exit 3"]
    assert args["restart_policy"] is None and args["detach"] is False


def test_options_after_dashdash_belong_to_the_command():
    assert command("run").parse(["--", "ls", "--rm"])["remainder"] == ["ls", "--rm"]


def test_exec_takes_the_command_with_or_without_dashdash():
    assert command("exec").parse(["web", "ps", "-ef"])["remainder"] == ["ps", "-ef"]
    assert command("exec").parse(["web", "--", "ps"])["remainder"] == ["ps"]


def test_rm_takes_many_names():
    assert command("rm").parse(["-f", "a", "b"]) == {"force": True, "keep_logs": False, "names": ["a", "b"]}
    assert command("rm").parse(["--keep-logs", "a"])["keep_logs"] is True


@pytest.mark.parametrize("name, argv", [
    ("run", ["--bogus"]), ("run", ["--name"]), ("run", ["--restart", "sometimes"]),
    ("stop", []), ("inspect", ["a", "b"]), ("rm", []),
])
def test_usage_errors(name, argv):
    with pytest.raises(UsageError):
        command(name).parse(argv)


def test_main_exit_codes(capsys):
    assert cli.main(["--version"]) == 0
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["stop"]) == 2
    assert cli.main(["run", "--help"]) == 0
    assert "usage: nsfleet run" in capsys.readouterr().out


def test_bad_input_names_the_parameter(capsys, tmp_path):
    assert cli.main(["--state-dir", str(tmp_path), "run", "--rm", "--stop-timeout", "-1", "--", "/bin/true"]) == 2
    assert "stop_timeout" in capsys.readouterr().err
    assert cli.main(["--state-dir", str(tmp_path), "run", "--name", "../x", "--", "/bin/true"]) == 2
    assert "name:" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_inspect_takes_a_name_or_all():
    assert command("inspect").parse(["web"]) == {"all": False, "spec": None, "name": "web"}
    assert command("inspect").parse(["--all"]) == {"all": True, "spec": None, "name": None}
    assert command("inspect").parse(["web", "--spec", "-"])["spec"] == "-"
    assert command("inspect").usage() == "nsfleet inspect [--all] [--spec] [name]"


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
