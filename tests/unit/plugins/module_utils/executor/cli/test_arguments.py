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


def test_an_optional_positional_may_be_left_out():
    assert command("inspect").parse(["web"]) == {"all": False, "spec": None, "name": "web"}
    assert command("inspect").parse(["--all"]) == {"all": True, "spec": None, "name": None}
    assert command("inspect").parse(["web", "--spec", "-"])["spec"] == "-"
    assert command("inspect").usage() == "nsfleet inspect [--all] [--spec] [name]"


def test_exec_options_come_before_the_name():
    args = command("exec").parse(["--user", "nobody", "-e", "A=1", "-e", "B", "--timeout", "5", "--json",
                                  "--cwd", "/tmp", "--creates", "/x", "--no-stdin", "web", "--", "id"])
    assert (args["user"], args["env"], args["timeout"], args["cwd"], args["creates"]) == (
        "nobody", ["A=1", "B"], "5", "/tmp", "/x")
    assert args["json"] and args["no_stdin"] and args["name"] == "web" and args["remainder"] == ["id"]
