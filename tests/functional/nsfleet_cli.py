"""Driving the real nsfleet executor bundle from tests, and checking processes it leaves."""

import json
import os
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NSFLEET = os.path.join(TOP, "build", "nsfleet")


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll ``predicate`` until it returns something truthy; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def alive(pid, start_time=None):
    """A live, non-zombie process with this PID (and start time, when given)."""
    try:
        with open("/proc/%d/stat" % pid) as stat_file:
            fields = stat_file.read().rpartition(")")[2].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X") and (start_time is None or int(fields[19]) == start_time)


def start_time_of(pid):
    with open("/proc/%d/stat" % pid) as stat_file:
        return int(stat_file.read().rpartition(")")[2].split()[19])


class Nsfleet:
    """The nsfleet CLI against a private state dir: one "host" per test."""

    def __init__(self, state_dir):
        self.state_dir = state_dir

    def __call__(self, *args, check=True, stdin=None, timeout=60):
        result = subprocess.run([NSFLEET, "--state-dir", self.state_dir] + list(args), input=stdin,
                                capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError("nsfleet %s exited %d: %s" % (" ".join(args), result.returncode, result.stderr))
        return result

    def json(self, *args, **kwargs):
        return json.loads(self(*args, **kwargs).stdout)

    def detach(self, name, *command, options=()):
        return self.json("run", "--detach", "--name", name, *options, "--", *command)

    def inspect(self, name):
        return self.json("inspect", name)

    def state(self, name):
        with open(os.path.join(self.state_dir, "run", "nsfleet", name, "state.json")) as state_file:
            return json.load(state_file)
