"""The executor under faults, as runc's and tini's suites test theirs.

SIGKILL at random points of create, start, stop and rm; a thousand
create/start/rm cycles; ten lifecycle commands at once on one workload.
Afterwards every state file parses, no lock is stuck, every workload is
either fully there or fully gone, and nothing is left running or mounted.
"""

import json
import os
import random
import signal
import subprocess
import time

import pytest
from nsfleet_cli import NSFLEET, alive, wait_for

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.operations import Workloads
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.lifecycle.state import StateStore

NAMES = ("alpha", "beta", "gamma")


def _files_under(root):
    found = set()
    for parent, subdirs, files in os.walk(root):
        # The installed executor stays, and so do the host's compiled seccomp filters (one per profile).
        subdirs[:] = [name for name in subdirs if name not in ("bin", ".seccomp")]
        found.update(os.path.relpath(os.path.join(parent, name), root) for name in files)
    return found


def _processes_of(state_dir):
    """Supervisors and CLI runs of this state dir, by their command lines."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as cmdline:
                    if state_dir.encode() in cmdline.read().split(b"\0"):
                        found.add(int(entry))
            except OSError:
                continue
    return found


def _own_zombies():
    zombies = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as stat_file:
                    fields = stat_file.read().rpartition(")")[2].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                zombies.append(int(entry))
    return zombies


def _mount_count():
    with open("/proc/self/mountinfo") as mountinfo:
        return len(mountinfo.readlines())


class _Recorder:
    """Every init a workload ever had, so the end can prove none survives."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.inits = set()

    def note(self):
        run_dir = os.path.join(self.state_dir, "run", "nsfleet")
        for name in os.listdir(run_dir) if os.path.isdir(run_dir) else ():
            try:
                with open(os.path.join(run_dir, name, "state.json")) as state_file:
                    init = json.load(state_file).get("init")
            except (OSError, ValueError):
                continue
            if init:
                self.inits.add((init["pid"], init["start_time"]))

    def survivors(self):
        return [pid for pid, start_time in self.inits if alive(pid, start_time)]


def _nsfleet(state_dir, *args, timeout=30):
    return subprocess.run([NSFLEET, "--state-dir", state_dir] + list(args), capture_output=True, text=True,
                          timeout=timeout, check=False)


def _spec(name):
    return json.dumps({"name": name, "command": ["/bin/sh", "-c", "sleep 1000 & exec sleep 1000"],
                       "stop_timeout": 1})


def _check_every_workload_whole(state_dir):
    """Each workload has spec and state that parse and an inspect that answers, or no file at all."""
    store = StateStore(state_dir)
    for name in NAMES:
        files = [path for path in (store.spec_path(name), store.state_path(name)) if os.path.exists(path)]
        for path in files:
            with open(path) as document:
                json.load(document)  # every state file parses
        if os.path.exists(store.spec_path(name)):
            result = _nsfleet(state_dir, "inspect", name, timeout=20)  # no lock is stuck
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.stderr
        else:
            assert not os.path.exists(store.state_path(name)), "%s: state without a spec" % name


def test_random_sigkills_lose_nothing_and_leave_nothing(tmp_path):
    state_dir = str(tmp_path / "host")
    recorder = _Recorder(state_dir)
    chooser = random.Random(1234)  # reproducible: the same points every run
    for _round in range(100):
        name = chooser.choice(NAMES)
        verb = chooser.choice(("create", "start", "stop", "rm", "restart"))
        args = ["create", "--spec", "-"] if verb == "create" else [verb, name]
        process = subprocess.Popen([NSFLEET, "--state-dir", state_dir] + args, stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if verb == "create":
            process.stdin.write(_spec(name).encode())
        process.stdin.close()
        time.sleep(chooser.uniform(0, 0.08))
        victims = [process.pid]
        if chooser.random() < 0.3:  # now and then the supervisor instead
            victims = sorted(_processes_of(state_dir) - {process.pid}) or victims
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)
        assert b"Traceback" not in process.stderr.read()
        recorder.note()
    _check_every_workload_whole(state_dir)
    result = _nsfleet(state_dir, "rm", "--force", *NAMES, timeout=60)
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: not recorder.survivors(), timeout=15), recorder.survivors()
    assert wait_for(lambda: not _processes_of(state_dir), timeout=15)
    assert _files_under(state_dir) == set()


@pytest.mark.parametrize("init", [True, False], ids=["init", "no-init"])
def test_five_hundred_cycles_grow_nothing(tmp_path, init):
    """create/start/rm, 500 times each with and without init: no process, mount, fd, file or zombie more."""
    state_dir = str(tmp_path / "host")
    workloads = Workloads(StateStore(state_dir))  # supervisors forked from here: the same code, faster
    spec = {"name": "cycle", "command": ["/bin/true"], "init": init}
    workloads.create(spec)
    workloads.remove("cycle", force=True)  # the first cycle creates the directories every later one reuses
    before = (len(os.listdir("/proc/self/fd")), _mount_count(), _files_under(state_dir))
    for _cycle in range(500):
        workloads.create(spec)
        workloads.start("cycle")
        workloads.remove("cycle", force=True)
    assert wait_for(lambda: not _processes_of(state_dir), timeout=15)
    assert (len(os.listdir("/proc/self/fd")), _mount_count(), _files_under(state_dir)) == before
    assert _own_zombies() == []


def test_ten_concurrent_commands_on_one_workload(tmp_path):
    state_dir = str(tmp_path / "host")
    recorder = _Recorder(state_dir)
    subprocess.run([NSFLEET, "--state-dir", state_dir, "create", "--spec", "-"], input=_spec("alpha"), text=True,
                   capture_output=True, check=True)
    chooser = random.Random(99)
    for _round in range(3):
        verbs = [chooser.choice(("start", "stop", "restart", "inspect", "rm", "create")) for _command in range(10)]
        processes = []
        for verb in verbs:
            args = ["create", "--spec", "-"] if verb == "create" else [verb, "alpha"]
            processes.append(subprocess.Popen([NSFLEET, "--state-dir", state_dir] + args, stdin=subprocess.PIPE,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for verb, process in zip(verbs, processes):
            process.stdin.write(_spec("alpha").encode() if verb == "create" else b"")
            process.stdin.close()
        for verb, process in zip(verbs, processes):
            assert process.wait(timeout=90) in (0, 1, 3), verb  # done, refused (e.g. gone), or no such workload
            assert b"Traceback" not in process.stderr.read(), verb
        recorder.note()
        _check_every_workload_whole(state_dir)
    assert _nsfleet(state_dir, "rm", "--force", "alpha", timeout=60).returncode == 0
    assert wait_for(lambda: not recorder.survivors(), timeout=15)
    assert wait_for(lambda: not _processes_of(state_dir), timeout=15)
    assert _files_under(state_dir) == set()


def test_a_start_killed_midway_never_kills_its_workload(tmp_path):
    """The supervisor's report to a dead starter raises SIGPIPE in the supervisor; it must not reach the workload."""
    state_dir = str(tmp_path / "host")
    names = ["midway%d" % index for index in range(12)]
    for index, name in enumerate(names):
        spec = json.dumps({"name": name, "command": ["/bin/sh", "-c", "echo hello; exec sleep 1000"]})
        subprocess.run([NSFLEET, "--state-dir", state_dir, "create", "--spec", "-"], input=spec, text=True,
                       capture_output=True, check=True)
        starter = subprocess.Popen([NSFLEET, "--state-dir", state_dir, "start", name], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(0.01 + 0.008 * index)  # kill it at a different point of the start each time
        starter.kill()
        starter.wait()
    try:
        time.sleep(2)  # the supervisors that got going have started or ended their first instance by now
        codes = dict((name, json.loads(_nsfleet(state_dir, "inspect", name).stdout)["exit_code"]) for name in names)
        assert 128 + signal.SIGPIPE not in codes.values(), codes
    finally:
        _nsfleet(state_dir, "rm", "--force", *names, timeout=60)


def test_a_killed_supervisor_loses_no_exit_code(tmp_path):
    """init records its own exit code: the workload ends after its supervisor was SIGKILLed."""
    state_dir = str(tmp_path / "host")
    spec = json.dumps({"name": "lonely", "command": ["/bin/sh", "-c", "sleep 0.5; exit 7"]})
    subprocess.run([NSFLEET, "--state-dir", state_dir, "create", "--spec", "-"], input=spec, text=True,
                   capture_output=True, check=True)
    started = json.loads(_nsfleet(state_dir, "start", "lonely").stdout)
    os.kill(started["supervisor_host_pid"], signal.SIGKILL)
    assert wait_for(lambda: json.loads(_nsfleet(state_dir, "inspect", "lonely").stdout)["status"] == "exited")
    assert json.loads(_nsfleet(state_dir, "inspect", "lonely").stdout)["exit_code"] == 7
    orphan = json.dumps({"name": "orphan", "command": ["/bin/sh", "-c", "trap 'exit 5' TERM; sleep 1000 & wait"]})
    subprocess.run([NSFLEET, "--state-dir", state_dir, "create", "--spec", "-"], input=orphan, text=True,
                   capture_output=True, check=True)
    started = json.loads(_nsfleet(state_dir, "start", "orphan").stdout)
    os.kill(started["supervisor_host_pid"], signal.SIGKILL)
    assert wait_for(lambda: json.loads(_nsfleet(state_dir, "inspect", "orphan").stdout)["status"] == "orphaned")
    stopped = json.loads(_nsfleet(state_dir, "stop", "orphan").stdout)
    assert (stopped["status"], stopped["exit_code"]) == ("stopped", 5)
    _nsfleet(state_dir, "rm", "--force", "lonely", "orphan")
