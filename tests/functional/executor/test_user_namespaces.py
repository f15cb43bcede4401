"""User namespaces: root inside is an unprivileged uid on the host, and a workload still behaves as one."""

import os
import signal
import subprocess

import pytest

from nsfleet_cli import alive, wait_for

PRIVATE = ("--ns", "user=private")
DEFAULT_OUTSIDE = 100000


def host_ids(pid):
    """(uid, gid) of a host process, as the host sees them."""
    ids = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            key, _sep, value = line.partition(":")
            if key in ("Uid", "Gid"):
                ids[key] = int(value.split()[0])
    return ids["Uid"], ids["Gid"]


def user_ns(pid):
    return os.readlink("/proc/%d/ns/user" % pid)


def command_pid(nsfleet, name, comm):
    processes = wait_for(lambda: [p for p in nsfleet.inspect(name)["processes"] if p["comm"] == comm])
    assert processes, nsfleet.inspect(name)["processes"]
    return processes[0]["host_pid"]


def owned_dir(tmp_path, uid, gid):
    directory = tmp_path / "owned"
    directory.mkdir()
    os.chown(str(directory), uid, gid)
    return str(directory)


def test_root_inside_is_the_default_unprivileged_range_on_the_host(nsfleet):
    out = nsfleet("run", "--rm", *PRIVATE, "--", "/bin/sh", "-c",
                  "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map").stdout.split("\n")
    assert out[:2] == ["0", "0"]
    assert [line.split() for line in out[2:4]] == [["0", "100000", "65536"]] * 2


def test_the_workload_object_shows_the_namespace_and_the_maps_in_force(nsfleet):
    workload = nsfleet.detach("mapped", "/bin/sleep", "1000", options=PRIVATE)
    init_pid = workload["init_host_pid"]
    assert workload["namespaces"]["user"] == user_ns(init_pid) != user_ns(os.getpid())
    default_line = [{"inside": 0, "outside": DEFAULT_OUTSIDE, "count": 65536}]
    assert workload["user_namespace"] == {"uid_map": default_line, "gid_map": default_line}
    assert nsfleet.inspect("mapped")["user_namespace"] == workload["user_namespace"]
    # Init and the command are the mapped root on the host, never uid 0.
    assert host_ids(init_pid) == (DEFAULT_OUTSIDE, DEFAULT_OUTSIDE)
    assert host_ids(command_pid(nsfleet, "mapped", "sleep")) == (DEFAULT_OUTSIDE, DEFAULT_OUTSIDE)


def test_a_workload_in_the_hosts_user_namespace_shows_the_identity_map(nsfleet):
    workload = nsfleet.detach("hostuser", "/bin/sleep", "1000")
    assert workload["namespaces"]["user"] == user_ns(os.getpid())
    assert workload["user_namespace"]["uid_map"] == [{"inside": 0, "outside": 0, "count": 4294967295}]


def test_files_made_inside_belong_to_the_mapped_owner_on_the_host(nsfleet, busybox_rootfs, tmp_path):
    data = owned_dir(tmp_path, DEFAULT_OUTSIDE, DEFAULT_OUTSIDE)
    nsfleet("run", "--rm", *PRIVATE, "--rootfs", busybox_rootfs, "--mount", "%s:/data" % data, "--",
            "/bin/sh", "-c", "touch /data/by-root && mkdir /data/dir && chown 1000:2000 /data/dir && "
            "ls -ln /data > /data/listing")
    made = os.stat(os.path.join(data, "by-root"))
    assert (made.st_uid, made.st_gid) == (DEFAULT_OUTSIDE, DEFAULT_OUTSIDE)
    chowned = os.stat(os.path.join(data, "dir"))
    assert (chowned.st_uid, chowned.st_gid) == (DEFAULT_OUTSIDE + 1000, DEFAULT_OUTSIDE + 2000)
    listing = open(os.path.join(data, "listing")).read()
    assert " 0 " in listing and "1000" in listing  # inside, the same files show the inside ids


def test_explicit_maps_and_a_mapped_user(nsfleet, busybox_rootfs, tmp_path):
    data = owned_dir(tmp_path, 200000, 300000)
    options = PRIVATE + ("--uid-map", "0:200000:1000", "--uid-map", "1000:250000:10", "--gid-map", "0:300000:2000",
                         "--rootfs", busybox_rootfs, "--mount", "%s:/data" % data)
    nsfleet("run", "--rm", *options, "--", "/bin/sh", "-c", "chmod 777 /data")
    out = nsfleet("run", "--rm", *options, "--user", "1005:100", "--", "/bin/sh", "-c",
                  "id -u; id -g; cat /proc/self/uid_map; touch /data/as-user").stdout.split("\n")
    assert out[:2] == ["1005", "100"]
    assert sorted(line.split() for line in out[2:4]) == [["0", "200000", "1000"], ["1000", "250000", "10"]]
    made = os.stat(os.path.join(data, "as-user"))
    assert (made.st_uid, made.st_gid) == (250005, 300100)


def test_root_inside_has_no_power_over_the_host(nsfleet):
    # Without a rootfs the host's files are there, but their owner is not this root.
    script = ("cat /etc/shadow >/dev/null 2>&1 && echo read-shadow; touch /etc/nsfleet-userns 2>/dev/null "
              "&& echo wrote-etc; stat -c %u /etc/passwd; echo done")
    out = nsfleet("run", "--rm", *PRIVATE, "--", "/bin/sh", "-c", script).stdout.split()
    assert out == ["65534", "done"]
    assert not os.path.exists("/etc/nsfleet-userns")


def test_mounts_and_hostname_stay_the_hosts_to_change(nsfleet, busybox_rootfs):
    script = ("mount -t tmpfs none /tmp 2>/dev/null && echo mounted; umount /proc 2>/dev/null && echo unmounted; "
              "hostname evil 2>/dev/null && echo renamed; hostname")
    out = nsfleet("run", "--rm", *PRIVATE, "--rootfs", busybox_rootfs, "--hostname", "box", "--", "/bin/sh", "-c",
                  script).stdout.split()
    assert out == ["box"]


def test_a_workload_joins_another_workloads_user_namespace(nsfleet):
    owner = nsfleet.detach("owner", "/bin/sleep", "1000", options=PRIVATE + ("--uid-map", "0:400000:100",
                                                                             "--gid-map", "0:400000:100"))
    joiner = nsfleet.detach("joiner", "/bin/sleep", "1001", options=("--ns", "user=workload:owner"))
    assert joiner["namespaces"]["user"] == owner["namespaces"]["user"] == user_ns(joiner["init_host_pid"])
    assert joiner["user_namespace"] == owner["user_namespace"]
    assert host_ids(command_pid(nsfleet, "joiner", "sleep")) == (400000, 400000)
    # A restart of the joiner joins the owner's namespace again.
    nsfleet("restart", "joiner")
    assert nsfleet.inspect("joiner")["namespaces"]["user"] == owner["namespaces"]["user"]


def test_a_workload_joins_a_user_namespace_file(nsfleet):
    owner = nsfleet.detach("nsowner", "/bin/sleep", "1000", options=PRIVATE)
    path = "/proc/%d/ns/user" % owner["init_host_pid"]
    out = nsfleet("run", "--rm", "--ns", "user=path:" + path, "--", "/bin/sh", "-c",
                  "id -u; cat /proc/self/uid_map").stdout.split()
    assert out == ["0", "0", str(DEFAULT_OUTSIDE), "65536"]


def test_sharing_the_user_namespace_of_a_workload_in_the_hosts_is_the_hosts(nsfleet):
    nsfleet.detach("plain", "/bin/sleep", "1000")
    joiner = nsfleet.detach("plain-joiner", "/bin/sleep", "1001", options=("--ns", "user=workload:plain"))
    assert joiner["namespaces"]["user"] == user_ns(os.getpid())


def test_exec_runs_in_the_workloads_user_namespace(nsfleet):
    nsfleet.detach("execd", "/bin/sleep", "1000", options=PRIVATE)
    out = nsfleet("exec", "execd", "--", "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; "
                  "cat /etc/shadow >/dev/null 2>&1 || echo denied").stdout.split()
    assert out == ["0", "0", str(DEFAULT_OUTSIDE), "65536", "denied"]


@pytest.mark.parametrize("init", [True, False])
def test_pid_1_and_exit_codes(nsfleet, init):
    options = PRIVATE + (() if init else ("--no-init",))
    pids = nsfleet("run", "--rm", *options, "--", "/bin/sh", "-c", "echo $$; echo $PPID").stdout.split()
    assert pids == (["2", "1"] if init else ["1", "0"])
    # Without init the command is PID 1, which ignores a SIGKILL it sends itself: that case needs init.
    cases = (("exit 0", 0), ("exit 42", 42)) + ((("kill -KILL $$", 128 + signal.SIGKILL),) if init else ())
    for script, code in cases:
        assert nsfleet("run", "--rm", *options, "--", "/bin/sh", "-c", script, check=False).returncode == code


def test_orphans_are_reaped_and_the_pid_mapping_is_seen(nsfleet):
    nsfleet.detach("orphans", "/bin/sh", "-c", 'for i in 1 2 3; do sh -c "sleep 0.2 &"; done; exec sleep 1000',
                   options=PRIVATE)

    def settled():
        processes = nsfleet.inspect("orphans")["processes"]
        return processes if len(processes) == 2 else None

    processes = wait_for(settled, timeout=15)
    assert processes, nsfleet.inspect("orphans")["processes"]
    by_comm = dict((process["comm"], process) for process in processes)
    assert by_comm["nsfleet-init"]["ns_pid"] == 1 and by_comm["sleep"]["ns_pid"] == 2


def test_signals_reach_the_command_and_stop_ends_it(nsfleet, busybox_rootfs, tmp_path):
    data = owned_dir(tmp_path, DEFAULT_OUTSIDE, DEFAULT_OUTSIDE)
    received = os.path.join(data, "received")
    script = ('trap "echo USR1 >> /data/received" USR1; trap "echo HUP >> /data/received" HUP; trap "exit 7" TERM; '
              'touch /data/ready; while :; do sleep 0.1; done')
    workload = nsfleet.detach("trapper", "/bin/sh", "-c", script, options=PRIVATE + (
        "--rootfs", busybox_rootfs, "--mount", "%s:/data" % data))
    assert wait_for(lambda: os.path.exists(os.path.join(data, "ready")))
    for signum in (signal.SIGUSR1, signal.SIGHUP):
        os.kill(workload["init_host_pid"], signum)  # the host's root signals init; init forwards
        name = signum.name[3:]
        assert wait_for(lambda: os.path.exists(received) and name in open(received).read()), name
    nsfleet("stop", "trapper")
    stopped = nsfleet.inspect("trapper")
    assert (stopped["status"], stopped["exit_code"]) == ("stopped", 7)
    assert not alive(workload["init_host_pid"])


def test_a_command_that_ignores_sigterm_is_killed_after_stop_timeout(nsfleet):
    workload = nsfleet.detach("stubborn", "/bin/sh", "-c", 'trap "" TERM; while :; do sleep 0.1; done',
                              options=PRIVATE + ("--stop-timeout", "0.5"))
    nsfleet("stop", "stubborn")
    stopped = nsfleet.inspect("stubborn")
    assert stopped["status"] == "stopped" and stopped["exit_code"] == 128 + signal.SIGKILL
    assert not alive(workload["init_host_pid"])


def test_rm_leaves_nothing_running(nsfleet):
    workload = nsfleet.detach("gone", "/bin/sh", "-c", "sleep 1000 & sleep 1001", options=PRIVATE)

    def two_sleepers():
        sleepers = [p["host_pid"] for p in nsfleet.inspect("gone")["processes"] if p["comm"] == "sleep"]
        return sleepers if len(sleepers) == 2 else None

    sleepers = wait_for(two_sleepers)
    assert sleepers
    nsfleet("rm", "--force", "gone")
    assert not any(alive(pid) for pid in sleepers + [workload["init_host_pid"]])


def test_host_pid_namespace_with_a_private_user_namespace(nsfleet):
    out = nsfleet("run", "--rm", *PRIVATE, "--ns", "pid=host", "--", "/bin/sh", "-c", "id -u; test $$ -gt 1 && echo ok")
    assert out.stdout.split() == ["0", "ok"]


@pytest.mark.parametrize("options, param", [
    (("--uid-map", "0:100000:10"), "uid_map"),
    (PRIVATE + ("--uid-map", "0:100000:0"), "uid_map[0].count"),
    (PRIVATE + ("--uid-map", "0:100000"), "uid_map[0]"),
    (PRIVATE + ("--gid-map", "0:4294967290:10"), "gid_map[0].outside"),
    (PRIVATE + ("--uid-map", "0:100000:100", "--uid-map", "10:200000:5"), "uid_map"),
    (PRIVATE + ("--uid-map", "5:100000:100"), "uid_map"),
    (PRIVATE + ("--user", "70000"), "user"),
    (("--ns", "user=workload:nobody-here"), "namespaces.user"),
    (("--ns", "user=path:/proc/self/ns/net"), "namespaces.user"),
])
def test_bad_user_namespace_specs_are_refused_before_anything_is_made(nsfleet, options, param):
    result = nsfleet("run", "--detach", "--name", "refused", *options, "--", "/bin/true", check=False)
    assert result.returncode == 2, result.stderr
    assert param + ":" in result.stderr
    assert nsfleet.json("ls", "--json") == []


@pytest.fixture
def foreign_user_namespace():
    """A user namespace made by util-linux's unshare, not by nsfleet: setgroups "deny", as unprivileged tools make it."""
    made = []

    def make(*map_options):
        process = subprocess.Popen(["unshare", "--user", *map_options, "sleep", "60"])
        made.append(process)
        assert wait_for(lambda: open("/proc/%d/uid_map" % process.pid).read().strip())
        return "/proc/%d/ns/user" % process.pid

    yield make
    for process in made:
        process.kill()
        process.wait()


def test_joining_a_user_namespace_without_root_fails_clearly(nsfleet, foreign_user_namespace):
    path = foreign_user_namespace("--map-user=1000", "--map-group=1000")
    result = nsfleet("run", "--rm", "--ns", "user=path:" + path, "--", "/bin/true", check=False)
    assert result.returncode == 127
    assert "maps no uid 0 or gid 0" in result.stderr


def test_joining_a_user_namespace_that_forbids_setgroups(nsfleet, foreign_user_namespace):
    path = foreign_user_namespace("--map-root-user")
    out = nsfleet("run", "--rm", "--ns", "user=path:" + path, "--user", "0:0", "--", "/bin/sh", "-c",
                  "id -u; grep Groups /proc/self/status").stdout.split()
    assert out == ["0", "Groups:"]  # the host root's supplementary groups did not come along


def test_an_orphaned_workload_is_still_removed_whole(nsfleet):
    workload = nsfleet.detach("orphaned", "/bin/sh", "-c", "sleep 1000 & sleep 1001", options=PRIVATE)
    os.kill(nsfleet.state("orphaned")["supervisor"]["pid"], signal.SIGKILL)
    assert wait_for(lambda: nsfleet.inspect("orphaned")["status"] == "orphaned")
    pids = [p["host_pid"] for p in nsfleet.inspect("orphaned")["processes"]]
    nsfleet("rm", "orphaned")
    assert not any(alive(pid) for pid in pids + [workload["init_host_pid"]])


def test_each_restart_gets_a_user_namespace_with_the_same_maps(nsfleet):
    nsfleet.detach("flaky", "/bin/sh", "-c", "sleep 0.3; exit 3", options=PRIVATE + ("--restart", "on-failure"))
    seen_maps = []

    def restarted_twice():
        workload = nsfleet.inspect("flaky")
        if workload["user_namespace"]:
            seen_maps.append(workload["user_namespace"]["uid_map"])
        return workload["restart_count"] >= 2

    assert wait_for(restarted_twice, timeout=20)
    default_line = [{"inside": 0, "outside": DEFAULT_OUTSIDE, "count": 65536}]
    assert seen_maps and all(seen == default_line for seen in seen_maps), seen_maps
