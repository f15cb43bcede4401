"""Signals forwarded to the command; stop escalation; destroy leaves nothing."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nsfleet_cli import NSFLEET, alive, start_time_of, wait_for

SIGNAL_RECORDER = """
import signal, sys, time
out = sys.argv[1]
def record(signum, frame):
    with open(out, "a") as f:
        f.write(signal.Signals(signum).name + "\\n")
for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(sig, record)
open(out + ".ready", "w").close()
deadline = time.time() + 60
while time.time() < deadline:
    time.sleep(0.05)
"""


def test_signals_reach_the_command_through_init(nsfleet, tmp_path):
    out = str(tmp_path / "received")
    workload = nsfleet.detach("sig", sys.executable, "-I", "-c", SIGNAL_RECORDER, out)
    assert wait_for(lambda: os.path.exists(out + ".ready"))
    sent = [signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2]
    for signum in sent:
        os.kill(workload["init_host_pid"], signum)
        assert wait_for(lambda: os.path.exists(out) and signum.name in open(out).read()), signum
    assert open(out).read().split() == [signum.name for signum in sent]
    assert nsfleet.inspect("sig")["status"] == "running"


def test_foreground_run_forwards_signals(nsfleet, tmp_path):
    out = str(tmp_path / "received")
    process = subprocess.Popen([NSFLEET, "--state-dir", nsfleet.state_dir, "run", "--rm",
                                "--", sys.executable, "-I", "-c", SIGNAL_RECORDER, out])
    try:
        assert wait_for(lambda: os.path.exists(out + ".ready"))
        process.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: os.path.exists(out) and "SIGUSR1" in open(out).read())
        # The recorder handles TERM itself; INT it leaves to Python, which dies of it.
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 128 + signal.SIGINT
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_stop_escalates_to_sigkill_after_stop_timeout(nsfleet):
    nsfleet.detach("stubborn", "/bin/sh", "-c", "trap '' TERM; while :; do sleep 1; done",
                   options=("--stop-timeout", "0.5"))
    started = time.monotonic()
    workload = nsfleet.json("stop", "stubborn")
    elapsed = time.monotonic() - started
    assert workload["status"] == "stopped"
    assert workload["exit_code"] == 128 + signal.SIGKILL
    assert elapsed >= 0.5


def test_a_polite_command_stops_on_stop_signal(nsfleet):
    nsfleet.detach("polite", "/bin/sleep", "1000", options=("--stop-signal", "USR1"))
    workload = nsfleet.json("stop", "polite")
    assert workload["exit_code"] == 128 + signal.SIGUSR1


def running_inits(state_dir):
    """Live inits whose supervisor serves ``state_dir``: other tests' workloads may run beside."""
    found = subprocess.run(["pgrep", "-x", "nsfleet-init"], capture_output=True, text=True, check=False).stdout.split()
    return [int(pid) for pid in found if alive(int(pid)) and _supervisor_serves(int(pid), state_dir)]


def _supervisor_serves(init_pid, state_dir):
    try:
        with open("/proc/%d/stat" % init_pid) as stat_file:
            parent = int(stat_file.read().rpartition(")")[2].split()[1])
        with open("/proc/%d/cmdline" % parent, "rb") as cmdline_file:
            return state_dir.encode() in cmdline_file.read().split(b"\0")
    except (OSError, ValueError):
        return False


ESCAPE_ARTISTS = "setsid sleep 1001 & (sleep 1002 &); sh -c 'sleep 1003 &'; exec sleep 1004"


def escape_artists(nsfleet, name):
    nsfleet.detach(name, "/bin/sh", "-c", ESCAPE_ARTISTS)

    def all_started():
        processes = nsfleet.inspect(name)["processes"]
        return processes if len([p for p in processes if p["comm"] == "sleep"]) == 4 else None

    processes = wait_for(all_started)
    assert processes, nsfleet.inspect(name)
    return [(p["host_pid"], start_time_of(p["host_pid"])) for p in processes]


def test_destroy_leaves_nothing(nsfleet):
    victims = escape_artists(nsfleet, "daemons")
    assert nsfleet.json("rm", "daemons") == {"changed": True}
    assert [pid for pid, start in victims if alive(pid, start)] == []
    assert nsfleet.json("ls", "--json") == []


def test_sigkilled_supervisor_then_destroy_leaves_nothing(nsfleet):
    victims = escape_artists(nsfleet, "orphaned")
    supervisor = nsfleet.state("orphaned")["supervisor"]["pid"]
    os.kill(supervisor, signal.SIGKILL)
    assert wait_for(lambda: nsfleet.inspect("orphaned")["status"] == "orphaned")
    nsfleet("rm", "orphaned")
    assert [pid for pid, start in victims if alive(pid, start)] == []


def test_a_reused_pid_is_never_signalled(nsfleet):
    nsfleet.detach("reuse", "/bin/sleep", "1000")
    nsfleet("stop", "--force", "reuse")
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        # Pretend the workload's init and supervisor had the bystander's PID, started at another time.
        path = os.path.join(nsfleet.state_dir, "run", "nsfleet", "reuse", "state.json")
        state = nsfleet.state("reuse")
        fake = {"pid": bystander.pid, "start_time": start_time_of(bystander.pid) - 1}
        state.update(status="running", init=fake, supervisor=fake)
        with open(path, "w") as state_file:
            json.dump(state, state_file)
        assert nsfleet.inspect("reuse")["status"] == "dead"
        nsfleet("rm", "reuse")
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.parametrize("subcommand", ["start", "restart"])
def test_concurrent_operations_serialise(nsfleet, subcommand):
    inits_before = set(running_inits(nsfleet.state_dir))
    nsfleet("create", "--spec", "-", stdin='{"name": "race", "command": ["/bin/sleep", "1000"]}')
    runners = [subprocess.Popen([NSFLEET, "--state-dir", nsfleet.state_dir, subcommand,
                                 "race"], stdout=subprocess.DEVNULL) for _runner in range(4)]
    assert [runner.wait(timeout=60) for runner in runners] == [0, 0, 0, 0]
    workload = nsfleet.inspect("race")
    assert workload["status"] == "running"
    assert set(running_inits(nsfleet.state_dir)) - inits_before == {workload["init_host_pid"]}
    assert [p["comm"] for p in workload["processes"]] == ["nsfleet-init", "sleep"]
