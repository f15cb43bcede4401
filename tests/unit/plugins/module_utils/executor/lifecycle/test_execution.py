"""exec's request checks and result shape, without namespaces."""

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle import execution
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError


@pytest.mark.parametrize("options, param", [
    ({"command": []}, "command"),
    ({"command": "ls -l"}, "command"),
    ({"command": ["", "x"]}, "command"),
    ({"command": ["ls", 3]}, "command"),
    ({"command": ["ls", "a\0b"]}, "command[1]"),
    ({"command": ["ls"], "env": {"A=B": "x"}}, "env"),
    ({"command": ["ls"], "env": {"A": None}}, "env.A"),
    ({"command": ["ls"], "cwd": "relative"}, "cwd"),
    ({"command": ["ls"], "creates": "tmp/x"}, "creates"),
    ({"command": ["ls"], "removes": "/a\0"}, "removes"),
    ({"command": ["ls"], "timeout": "soon"}, "timeout"),
    ({"command": ["ls"], "timeout": float("nan")}, "timeout"),
    ({"command": ["ls"], "timeout": 0}, "timeout"),
    ({"command": ["ls"], "timeout": 1e9}, "timeout"),
    ({"command": ["ls", "x" * 200000]}, "command"),
])
def test_bad_requests_name_the_option(options, param):
    with pytest.raises(SpecError) as refused:
        execution.ExecRequest(**options).validated()
    assert refused.value.param == param


def test_a_good_request_is_normalised():
    request = execution.ExecRequest(["ls"], env={"N": 3}, timeout="2.5", cwd="/tmp").validated()
    assert request.env == {"N": "3"} and request.timeout == 2.5


def test_the_exec_spec_keeps_the_workloads_settings_unless_asked():
    spec = {"user": {"uid": 5, "gid": 5}, "env": {"A": "1"}, "cwd": "/srv", "rootfs": None, "command": ["sleep"],
            "namespaces": {"user": "host"}, "uid_map": None, "gid_map": None}
    same = execution._exec_spec(spec, execution.ExecRequest(["id"]))
    assert same["user"] == {"uid": 5, "gid": 5} and same["cwd"] == "/srv" and same["command"] == ["id"]
    other = execution._exec_spec(spec, execution.ExecRequest(["id"], user="0:7", env={"B": "2"}, cwd="/"))
    assert other["user"] == {"uid": 0, "gid": 7} and other["env"] == {"A": "1", "B": "2"} and other["cwd"] == "/"
    with pytest.raises(SpecError) as refused:
        execution._exec_spec(spec, execution.ExecRequest(["id"], user="no-such-user-here"))
    assert refused.value.param == "user"


def test_timestamps_look_like_the_command_modules():
    import datetime
    for seconds in (0.0048, 1.5, 61.25, 3725.000001):
        assert execution._delta(seconds) == str(datetime.timedelta(seconds=seconds))
    assert execution._delta(1.5) == "0:00:01.500000" and execution._delta(3725.000001) == "1:02:05.000001"
    moment = 1700000000.123456
    assert execution._timestamp(moment) == datetime.datetime.fromtimestamp(moment).strftime("%Y-%m-%d %H:%M:%S.%f")
