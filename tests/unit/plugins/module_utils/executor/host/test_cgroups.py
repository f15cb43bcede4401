"""Cgroup detection and the files each limit writes, against fake cgroupfs trees (v2, v1, hybrid)."""

import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import cgroups

HYBRID_MOUNTINFO = """\
25 30 0:22 / /sys ro,nosuid - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
27 26 0:24 / {root}/unified rw,relatime - cgroup2 cgroup2 rw
28 26 0:25 / {root}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
29 26 0:26 / {root}/memory rw,relatime - cgroup cgroup rw,memory
30 26 0:27 / {root}/pids rw,relatime - cgroup cgroup rw,pids
31 26 0:28 / {root}/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
32 26 0:26 /docker/abc {root}/memory-bind rw,relatime - cgroup cgroup rw,memory
"""
V2_MOUNTINFO = "27 26 0:24 / {root} rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def write(path, text=""):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as fake_file:
        fake_file.write(text)


def read(path):
    with open(str(path)) as fake_file:
        return fake_file.read()


@pytest.fixture
def hybrid(tmp_path):
    root = tmp_path / "cgroup"
    write(tmp_path / "mountinfo", HYBRID_MOUNTINFO.format(root=root))
    write(root / "unified" / "cgroup.controllers", "")
    return cgroups.Hierarchies.read(str(tmp_path / "mountinfo")), root


@pytest.fixture
def unified(tmp_path):
    root = tmp_path / "cgroup"
    write(tmp_path / "mountinfo", V2_MOUNTINFO.format(root=root))
    write(root / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
    write(root / "cgroup.subtree_control", "")
    return cgroups.Hierarchies.read(str(tmp_path / "mountinfo")), root


def test_a_hybrid_host_uses_its_v1_controllers(hybrid):
    hierarchies, root = hybrid
    assert hierarchies.version() == 1
    cgroup = hierarchies.cgroup("/nsfleet/web")
    assert cgroup.record() == {"version": 1, "path": "/nsfleet/web", "dirs": {
        "memory": "%s/memory/nsfleet/web" % root, "pids": "%s/pids/nsfleet/web" % root,
        "cpu": "%s/cpu,cpuacct/nsfleet/web" % root, "cpuacct": "%s/cpu,cpuacct/nsfleet/web" % root}}
    assert cgroup.distinct_dirs() == sorted(set(cgroup.dirs.values()))  # cpu and cpuacct made once


def test_unified_with_the_controllers_wins_over_v1(hybrid):
    hierarchies, root = hybrid
    write(root / "unified" / "cgroup.controllers", "memory pids cpu\n")
    assert hierarchies.version() == 2


def test_a_pure_v2_host(unified):
    hierarchies, root = unified
    assert hierarchies.version() == 2
    assert hierarchies.cgroup("/nsfleet/web").record() == {
        "version": 2, "path": "/nsfleet/web", "dirs": {"unified": "%s/nsfleet/web" % root}}


def test_no_hierarchy_means_no_cgroup_and_limits_say_why(tmp_path):
    write(tmp_path / "mountinfo", "25 30 0:22 / /sys ro,nosuid - sysfs sysfs rw\n")
    hierarchies = cgroups.Hierarchies.read(str(tmp_path / "mountinfo"))
    assert hierarchies.version() is None and hierarchies.cgroup("/nsfleet/web") is None
    assert "no cgroup hierarchy" in hierarchies.missing_controllers({"memory": 1})["memory"]
    assert cgroups.Hierarchies.read(str(tmp_path / "missing")).version() is None


def test_missing_controllers(hybrid, unified):
    hierarchies, _root = hybrid
    del hierarchies.v1["pids"]
    assert set(hierarchies.missing_controllers({"memory": 1, "pids": 2})) == {"pids"}
    v2, root = unified
    write(root / "cgroup.controllers", "memory\n")
    assert set(v2.missing_controllers({"memory": 1, "cpu": 1, "cpu_weight": 5})) == {"cpu", "cpu_weight"}


def _fake_v2_leaf(root, path):
    leaf = root / path.lstrip("/")
    for name in ("cgroup.procs", "memory.max", "memory.swap.max", "pids.max", "cpu.max", "cpu.weight"):
        write(leaf / name)
    return leaf


def test_v2_limits_and_controllers_enabled_down_the_path(unified):
    hierarchies, root = unified
    leaf = _fake_v2_leaf(root, "/nsfleet/web")
    write(root / "nsfleet" / "cgroup.controllers", "cpu memory pids\n")
    write(root / "nsfleet" / "cgroup.subtree_control", "")
    cgroup = hierarchies.cgroup("/nsfleet/web")
    cgroup.make({"memory": 512 << 20, "pids": 20, "cpu": 0.5, "cpu_weight": 200})
    assert read(leaf / "memory.max") == str(512 << 20)
    assert read(leaf / "memory.swap.max") == "0"  # no memory_swap: no swap
    assert read(leaf / "pids.max") == "20"
    assert read(leaf / "cpu.max") == "50000 100000"
    assert read(leaf / "cpu.weight") == "200"
    # A fake file keeps the last write: each controller was asked for, the last being cpu.
    assert read(root / "cgroup.subtree_control").startswith("+")
    assert read(root / "nsfleet" / "cgroup.subtree_control").startswith("+")


@pytest.mark.parametrize("swap, written", [(-1, "max"), (1 << 30, str((1 << 30) - (512 << 20)))])
def test_v2_memory_swap(unified, swap, written):
    hierarchies, root = unified
    leaf = _fake_v2_leaf(root, "/nsfleet/web")
    hierarchies.cgroup("/nsfleet/web").make({"memory": 512 << 20, "memory_swap": swap})
    assert read(leaf / "memory.swap.max") == written


def test_a_limit_without_its_file_names_the_limit(unified):
    hierarchies, root = unified
    leaf = _fake_v2_leaf(root, "/nsfleet/web")
    os.unlink(str(leaf / "pids.max"))
    with pytest.raises(cgroups.CgroupError) as caught:
        hierarchies.cgroup("/nsfleet/web").make({"pids": 20})
    assert caught.value.param == "limits.pids" and "pids controller is not enabled" in str(caught.value)


def test_v1_limits(hybrid):
    hierarchies, root = hybrid
    memory, cpu = root / "memory" / "nsfleet" / "web", root / "cpu,cpuacct" / "nsfleet" / "web"
    for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
        write(memory / name)
    write(root / "pids" / "nsfleet" / "web" / "pids.max")
    for name in ("cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"):
        write(cpu / name)
    hierarchies.cgroup("/nsfleet/web").make({"memory": 64 << 20, "pids": 7, "cpu": 1.5, "cpu_weight": 50})
    assert read(memory / "memory.limit_in_bytes") == read(memory / "memory.memsw.limit_in_bytes") == str(64 << 20)
    assert read(root / "pids" / "nsfleet" / "web" / "pids.max") == "7"
    assert (read(cpu / "cpu.cfs_period_us"), read(cpu / "cpu.cfs_quota_us")) == ("100000", "150000")
    assert read(cpu / "cpu.shares") == "512"


def test_v1_without_swap_accounting_still_limits_memory(hybrid):
    hierarchies, root = hybrid
    write(root / "memory" / "nsfleet" / "web" / "memory.limit_in_bytes")
    hierarchies.cgroup("/nsfleet/web").make({"memory": 64 << 20})
    with pytest.raises(cgroups.CgroupError, match="memory.memsw.limit_in_bytes"):
        hierarchies.cgroup("/nsfleet/web").make({"memory": 64 << 20, "memory_swap": 128 << 20})


def test_oom_kills_are_read_from_v2_and_v1_files(unified, hybrid):
    v2, root = unified
    write(root / "nsfleet" / "web" / "memory.events", "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n")
    assert v2.cgroup("/nsfleet/web").oom_kills() == 2
    v1, root1 = hybrid
    write(root1 / "memory" / "nsfleet" / "web" / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
    assert v1.cgroup("/nsfleet/web").oom_kills() == 3
    assert v1.cgroup("/nsfleet/other").oom_kills() == 0


def test_pids_are_gathered_from_every_hierarchy_and_below(hybrid):
    hierarchies, root = hybrid
    write(root / "memory" / "nsfleet" / "web" / "cgroup.procs", "10\n11\n")
    write(root / "memory" / "nsfleet" / "web" / "child" / "cgroup.procs", "12\n")
    write(root / "pids" / "nsfleet" / "web" / "cgroup.procs", "10\n")
    assert hierarchies.cgroup("/nsfleet/web").pids() == {10, 11, 12}


def test_the_record_round_trips():
    record = {"version": 2, "path": "/nsfleet/web", "dirs": {"unified": "/sys/fs/cgroup/nsfleet/web"}}
    assert cgroups.Cgroup.from_record(record).record() == record
    assert cgroups.Cgroup.from_record(None) is None and cgroups.Cgroup.from_record({"path": "/x"}) is None


def test_default_parents_never_collide_between_state_roots(tmp_path):
    assert cgroups.default_parent("/") == "/nsfleet"
    first, second = cgroups.default_parent(str(tmp_path / "a")), cgroups.default_parent(str(tmp_path / "b"))
    assert first != second and first.startswith("/nsfleet-") and second.startswith("/nsfleet-")
    assert cgroups.workload_path({"name": "web", "cgroup_parent": None}, "/") == "/nsfleet/web"
    assert cgroups.workload_path({"name": "web", "cgroup_parent": "/mine"}, str(tmp_path)) == "/mine/web"


def test_mount_points_with_spaces_are_unescaped(tmp_path):
    write(tmp_path / "mountinfo", "27 26 0:24 / /tmp/a\\040b rw - cgroup2 cgroup2 rw\n")
    assert cgroups.Hierarchies.read(str(tmp_path / "mountinfo")).unified == "/tmp/a b"
