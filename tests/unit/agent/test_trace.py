import json
import os
import sys

import pytest

from nsfleet_agent import trace
from nsfleet_agent.sources.proc_connector import PROC_EVENT_EXEC, PROC_EVENT_EXIT, PROC_EVENT_FORK, Event
from nsfleet_agent.trace import Tracer, WorkloadNames, text_line

from fixture_tree import CHILD_NS, GRANDCHILD_NS


def tracer(proc_root, state_dir, **filters):
    return Tracer(proc_root, WorkloadNames(state_dir), **filters)


def test_records_say_where_and_who(proc_root, state_dir):
    found = tracer(proc_root, state_dir)
    fork = found.record(Event(PROC_EVENT_FORK, 0, 0, 201, 201, 200, 200))
    assert (fork["event"], fork["host_pid"], fork["ns_pid"], fork["pidns"], fork["workload"], fork["comm"],
            fork["parent_host_pid"]) == ("fork", 201, 2, CHILD_NS, "app", "my (odd) app", 200)
    exit_ = found.record(Event(PROC_EVENT_EXIT, 0, 0, 301, 301, 300, 300, 42 << 8))
    assert (exit_["how"], exit_["exit_code"], exit_["pidns"], exit_["ns_pid"]) == ("exited", 42, GRANDCHILD_NS, 2)
    killed = found.record(Event(PROC_EVENT_EXIT, 0, 0, 201, 201, 200, 200, 9))
    assert killed["signal"] == "SIGKILL" and "exit_code" not in killed
    assert "signaled SIGKILL" in text_line(killed) and " app " in text_line(killed)
    json.dumps(killed)


def test_filters(proc_root, state_dir):
    exec_201 = Event(PROC_EVENT_EXEC, 0, 0, 201, 201)
    exec_301 = Event(PROC_EVENT_EXEC, 0, 0, 301, 301)
    by_workload = tracer(proc_root, state_dir, workloads=["app"])
    assert by_workload.record(exec_201) is not None and by_workload.record(exec_301) is None
    by_pidns = tracer(proc_root, state_dir, pidns=[GRANDCHILD_NS])
    assert by_pidns.record(exec_201) is None and by_pidns.record(exec_301) is not None
    by_event = tracer(proc_root, state_dir, events=["fork", "exit"])
    assert by_event.record(exec_201) is None


def test_threads_are_not_traced(proc_root, state_dir):
    assert tracer(proc_root, state_dir).record(Event(PROC_EVENT_FORK, 0, 0, 205, 201, 200, 200)) is None


def test_exec_shows_the_executable_and_command_line(proc_root, state_dir):
    record = tracer("/proc", state_dir).record(Event(PROC_EVENT_EXEC, 0, 0, os.getpid(), os.getpid()))
    assert record["exe"] == os.path.realpath(sys.executable) and record["cmdline"][0]


def test_bad_flags_exit_2_naming_the_flag(capsys):
    for argv in (["--subscribe-timeout", "0"], ["--event", "clone"], ["--pidns", "x"]):
        with pytest.raises(SystemExit) as exited:
            trace.main(argv)
        assert exited.value.code == 2
        assert argv[0] in capsys.readouterr().err
