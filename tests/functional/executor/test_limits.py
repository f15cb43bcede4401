"""Resource limits on real cgroups: OOM kills, a pids bound, a CPU quota, and nothing left after rm.

This host is hybrid (v1 controllers, a v2 hierarchy without them at
/sys/fs/cgroup/unified), so workloads run on v1 here. The v2 code path is
exercised on the real unified hierarchy for what it can do without
controllers: making a cgroup, placing a process, cgroup.kill and removal.
"""

import os
import signal
import sys
import time

import pytest
from nsfleet_cli import alive, wait_for

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import cgroups

PYTHON = sys.executable if sys.executable.startswith("/usr/") else "/usr/bin/python3"


def cgroup_dirs(workload):
    return sorted(set(workload["cgroup"]["dirs"].values()))


def read(path):
    with open(path) as cgroup_file:
        return cgroup_file.read()


def test_an_allocation_past_memory_is_an_oom_kill(nsfleet):
    workload = nsfleet.detach("hog", PYTHON, "-c", "b = bytearray(256 << 20); print('survived')",
                              options=("--memory", "32m"))
    assert workload["cgroup"]["version"] in (1, 2)
    ended = wait_for(lambda: nsfleet.inspect("hog")["status"] == "exited" and nsfleet.inspect("hog"), timeout=30)
    assert ended and ended["exit_code"] == 137 and ended["oom_killed"] is True
    assert "survived" not in read(os.path.join(nsfleet.state_dir, "var/log/nsfleet/hog.log"))
    assert nsfleet.state("hog")["oom_killed"] is True


def test_the_restart_policy_applies_after_an_oom_kill(nsfleet):
    nsfleet.detach("hog", PYTHON, "-c", "b = bytearray(256 << 20)",
                   options=("--memory", "32m", "--restart", "on-failure"))
    assert wait_for(lambda: nsfleet.inspect("hog")["restart_count"] >= 1, timeout=30)


def test_a_workload_within_its_memory_is_not_oom_killed(nsfleet):
    nsfleet.detach("fits", PYTHON, "-c", "b = bytearray(4 << 20)", options=("--memory", "64m"))
    ended = wait_for(lambda: nsfleet.inspect("fits")["status"] == "exited" and nsfleet.inspect("fits"), timeout=30)
    assert ended["exit_code"] == 0 and ended["oom_killed"] is False


FORK_LOOP = """
import os, sys, time
children = 0
for attempt in range(100):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
print("children", children, flush=True)
time.sleep(30)
"""


def test_a_fork_loop_cannot_pass_the_pids_limit(nsfleet):
    workload = nsfleet.detach("forks", PYTHON, "-c", FORK_LOOP, options=("--pids-limit", "20"))
    log = os.path.join(nsfleet.state_dir, "var/log/nsfleet/forks.log")
    assert wait_for(lambda: "children" in read(log), timeout=30)
    children = int(read(log).split()[1])
    # init and the loop itself count: 18 children at most.
    assert 0 < children <= 18
    pids_dir = workload["cgroup"]["dirs"].get("pids") or workload["cgroup"]["dirs"]["unified"]
    assert int(read(os.path.join(pids_dir, "pids.current"))) <= 20
    assert len(nsfleet.inspect("forks")["processes"]) <= 20


def _cpu_seconds(workload):
    dirs = workload["cgroup"]["dirs"]
    if "cpuacct" in dirs:
        return int(read(os.path.join(dirs["cpuacct"], "cpuacct.usage"))) / 1e9
    for line in read(os.path.join(dirs["unified"], "cpu.stat")).splitlines():
        if line.startswith("usage_usec "):
            return int(line.split()[1]) / 1e6
    raise AssertionError("no CPU usage file")


def test_half_a_cpu_holds_a_busy_loop_near_half_a_cpu(nsfleet):
    workload = nsfleet.detach("busy", PYTHON, "-c", "while True: pass", options=("--cpus", "0.5"))
    time.sleep(0.5)
    used_before, started = _cpu_seconds(workload), time.monotonic()
    time.sleep(4)
    share = (_cpu_seconds(workload) - used_before) / (time.monotonic() - started)
    # A wide band: the machine is shared. Unlimited, the loop would take a whole CPU.
    assert 0.05 < share < 0.7, share


def test_rm_leaves_no_cgroup_directory(nsfleet):
    workload = nsfleet.detach("web", "/bin/sleep", "1000", options=("--memory", "64m", "--pids-limit", "50"))
    dirs = cgroup_dirs(workload)
    assert dirs and all(os.path.isdir(directory) for directory in dirs)
    assert str(workload["init_host_pid"]) in read(os.path.join(dirs[0], "cgroup.procs"))
    nsfleet("rm", "web")
    assert not any(os.path.exists(directory) for directory in dirs)
    # The per-state-dir parent goes with its last workload.
    assert not any(os.path.exists(os.path.dirname(directory)) for directory in dirs)


def test_rm_after_a_killed_supervisor_kills_what_is_left_and_removes_the_cgroup(nsfleet):
    workload = nsfleet.detach("orphan", "/bin/sh", "-c", "sleep 1000 & sleep 1000", options=("--memory", "64m"))
    dirs = cgroup_dirs(workload)
    members = [int(pid) for pid in read(os.path.join(dirs[0], "cgroup.procs")).split()]
    assert len(members) >= 3  # init, sh, and the sleeps
    os.kill(workload["supervisor_host_pid"], signal.SIGKILL)
    assert wait_for(lambda: nsfleet.inspect("orphan")["status"] == "orphaned")
    nsfleet("rm", "orphan")
    assert not any(os.path.exists(directory) for directory in dirs)
    assert wait_for(lambda: not any(alive(pid) for pid in members))


def test_a_workload_without_limits_still_gets_a_cgroup_and_exec_enters_it(nsfleet):
    workload = nsfleet.detach("plain", "/bin/sleep", "1000")
    assert workload["cgroup"]["path"].endswith("/plain")
    result = nsfleet("exec", "plain", "--", "/bin/cat", "/proc/self/cgroup")
    assert workload["cgroup"]["path"] in result.stdout


def test_a_private_cgroup_namespace_is_rooted_at_the_workload_cgroup(nsfleet):
    result = nsfleet("run", "--rm", "--memory", "64m", "--ns", "cgroup=private", "--", "/bin/cat", "/proc/self/cgroup")
    lines = result.stdout.split()
    assert lines and all(line.endswith(":/") for line in lines), result.stdout
    host_view = nsfleet("run", "--rm", "--memory", "64m", "--", "/bin/cat", "/proc/self/cgroup").stdout
    assert "/run-" in host_view  # the one-shot run's own cgroup, gone with it


def test_a_one_shot_run_leaves_no_cgroup(nsfleet):
    parent = cgroups.default_parent(nsfleet.state_dir).lstrip("/")
    hierarchies = cgroups.Hierarchies.read()
    roots = [hierarchies.unified] + list(hierarchies.v1.values())
    result = nsfleet("run", "--rm", "--pids-limit", "10", "--", "/bin/cat", "/proc/self/cgroup")
    assert parent in result.stdout
    assert not any(os.path.exists(os.path.join(root, parent)) for root in roots if root)


def test_the_v2_path_on_the_real_unified_hierarchy(tmp_path):
    """Make, place, cgroup.kill, remove: what v2 does without controllers, on the host's real cgroup2 mount."""
    unified = cgroups.Hierarchies.read().unified
    if not unified:
        pytest.skip("no cgroup2 hierarchy mounted")
    hierarchies = cgroups.Hierarchies(unified=unified)  # as a pure v2 host would see it
    cgroup = hierarchies.cgroup("%s/v2test" % cgroups.default_parent(str(tmp_path)))
    assert cgroup.version == 2
    cgroup.make({})
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            cgroup.add_process(0)
            os.write(write_fd, b"in")
            if os.fork() == 0:  # a grandchild, to prove the kill takes the whole cgroup
                time.sleep(60)
            time.sleep(60)
        finally:
            os._exit(1)
    os.close(write_fd)
    try:
        assert os.read(read_fd, 2) == b"in"
        assert wait_for(lambda: len(cgroup.pids()) == 2)
        assert "0::%s\n" % cgroup.path in read("/proc/%d/cgroup" % pid)
        if "pids" not in hierarchies.unified_controllers():
            with pytest.raises(cgroups.CgroupError) as caught:
                cgroup.apply_limits({"pids": 5})
            assert caught.value.param == "limits.pids"
        cgroup.remove()
        assert os.waitpid(pid, 0)[1] & 0x7F == signal.SIGKILL
        assert not cgroup.exists()
    finally:
        os.close(read_fd)
        if cgroup.exists():
            cgroup.remove()
        cgroups.remove_default_parent(cgroup, {"cgroup_parent": None}, str(tmp_path))
    assert not os.path.exists(os.path.join(unified, cgroups.default_parent(str(tmp_path)).lstrip("/")))


def test_two_state_dirs_never_share_a_cgroup(tmp_path):
    from nsfleet_cli import Nsfleet
    first, second = Nsfleet(str(tmp_path / "one")), Nsfleet(str(tmp_path / "two"))
    try:
        one = first.detach("same", "/bin/sleep", "1000", options=("--pids-limit", "10"))
        two = second.detach("same", "/bin/sleep", "1000", options=("--pids-limit", "10"))
        assert one["cgroup"]["path"] != two["cgroup"]["path"]
        first("rm", "same")
        assert nsfleet_running(second, "same") and all(os.path.isdir(d) for d in cgroup_dirs(two))
    finally:
        first("rm", "--force", "same", check=False)
        second("rm", "--force", "same", check=False)


def nsfleet_running(runner, name):
    return runner.inspect(name)["status"] == "running"


@pytest.mark.parametrize("flags, param", [
    (("--memory", "-1"), "limits.memory"), (("--memory", "lots"), "limits.memory"),
    (("--pids-limit", "0"), "limits.pids"), (("--cpus", "4096"), "limits.cpu"), (("--cpus", "0"), "limits.cpu"),
    (("--memory-swap", "1g"), "limits.memory_swap"), (("--cpu-weight", "0"), "limits.cpu_weight"),
    (("--cgroup-parent", "nsfleet"), "cgroup_parent"), (("--cgroup-parent", "/a/../b"), "cgroup_parent"),
])
def test_bad_limits_are_exit_2_naming_the_parameter_and_leave_nothing(nsfleet, flags, param):
    result = nsfleet("run", "--name", "bad", *flags, "--", "/bin/true", check=False)
    assert result.returncode == 2 and ("nsfleet: %s:" % param) in result.stderr, result.stderr
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "var/lib/nsfleet/bad"))


def test_a_limit_change_recreates(nsfleet):
    spec = '{"name": "web", "command": ["/bin/sleep", "1000"], "limits": {"memory": "%s"}}'
    first = nsfleet.json("create", "--spec", "-", stdin=spec % "64m")
    same = nsfleet.json("create", "--spec", "-", stdin=spec % "67108864")
    assert same["changed"] is False and same["spec_hash"] == first["spec_hash"]
    other = nsfleet.json("create", "--replace", "--spec", "-", stdin=spec % "128m")
    assert other["changed"] is True and other["spec_hash"] != first["spec_hash"]


@pytest.fixture
def unified_only(tmp_path, monkeypatch):
    """The executor sees only the host's cgroup2 mount: a pure v2 host (without controllers, on a hybrid one)."""
    lines = [line for line in read("/proc/self/mountinfo").splitlines() if " - cgroup2 " in line]
    if not lines:
        pytest.skip("no cgroup2 hierarchy mounted")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(lines[0] + "\n")
    monkeypatch.setenv("NSFLEET_CGROUP_MOUNTINFO", str(mountinfo))
    return cgroups.Hierarchies.read(str(mountinfo))


def test_a_workload_on_cgroup_v2_end_to_end(nsfleet, unified_only):
    workload = nsfleet.detach("v2", "/bin/sh", "-c", "cat /proc/self/cgroup; sleep 1000 & sleep 1000",
                              options=("--ns", "cgroup=private"))
    record = workload["cgroup"]
    assert record["version"] == 2 and list(record["dirs"]) == ["unified"]
    assert record["dirs"]["unified"] == os.path.join(unified_only.unified, record["path"].lstrip("/"))
    assert read("/proc/%d/cgroup" % workload["init_host_pid"]).endswith("0::%s\n" % record["path"])
    log = os.path.join(nsfleet.state_dir, "var/log/nsfleet/v2.log")
    # Its own cgroup namespace, rooted at its cgroup (v1 hierarchies, if any, at the supervisor's).
    lines = wait_for(lambda: read(log).split())
    assert "0::/" in lines and all(line.endswith(":/") for line in lines)
    assert nsfleet.state("v2")["cgroup"] == record
    members = [int(pid) for pid in read(os.path.join(record["dirs"]["unified"], "cgroup.procs")).split()]
    assert len(members) >= 3
    os.kill(workload["supervisor_host_pid"], signal.SIGKILL)
    nsfleet("rm", "v2")
    assert not os.path.exists(record["dirs"]["unified"])
    assert wait_for(lambda: not any(alive(pid) for pid in members))


def test_on_v2_without_controllers_a_limit_is_refused_naming_it(nsfleet, unified_only):
    if "memory" in unified_only.unified_controllers():
        pytest.skip("this host's cgroup2 hierarchy has the memory controller")
    result = nsfleet("run", "--name", "v2", "--memory", "64m", "--", "/bin/true", check=False)
    assert result.returncode == 2 and "limits.memory: the memory controller is not available" in result.stderr
    assert nsfleet("run", "--rm", "--", "/bin/true").returncode == 0  # without limits it runs all the same
