"""Reading a workload's cgroup, v2 and v1, from fixture cgroup directories."""

import os
import shutil

import pytest

from nsfleet_agent.sources.cgroups import CgroupReader

from fixture_tree import CGROUP_V1, CGROUP_V2_LIMITED, CGROUP_V2_UNLIMITED, CGROUPS


def read_usage(cgroup):
    reader = CgroupReader()
    try:
        return reader.read_usage(cgroup)
    finally:
        reader.close()


def figures(usage):
    return (usage.cpu_seconds, usage.memory_bytes, usage.memory_limit_bytes, usage.pids, usage.pids_limit,
            usage.oom_kills)


def test_v2_with_limits():
    assert figures(read_usage(CGROUP_V2_LIMITED)) == (2.5, 104857600, 268435456, 7, 20, 1)


def test_v2_max_means_no_limit():
    assert figures(read_usage(CGROUP_V2_UNLIMITED)) == (0.001, 4096, None, 1, None, 0)


def test_v1_across_controllers_and_its_unlimited_value():
    assert figures(read_usage(CGROUP_V1)) == (1.5, 52428800, None, 3, 100, 2)


def test_v1_without_a_controller_leaves_its_figures_out():
    dirs = dict(CGROUP_V1["dirs"])
    del dirs["pids"]
    assert figures(read_usage({"version": 1, "dirs": dirs})) == (1.5, 52428800, None, None, None, 2)


def test_a_removed_cgroup_and_unusable_records_read_as_none(tmp_path):
    assert read_usage({"version": 2, "dirs": {"unified": str(tmp_path / "gone")}}) is None
    assert read_usage({"version": 3, "dirs": {}}) is None
    assert read_usage({"version": 2}) is None
    assert read_usage("v2") is None


def test_an_unparseable_file_is_an_error_for_the_caller(tmp_path):
    directory = str(tmp_path / "web")
    shutil.copytree(os.path.join(CGROUPS, "v2", "nsfleet", "web"), directory)
    with open(os.path.join(directory, "memory.current"), "w") as memory_file:
        memory_file.write("lots\n")
    with pytest.raises(ValueError):
        read_usage({"version": 2, "dirs": {"unified": directory}})


def test_files_are_held_open_while_asked_for_and_closed_after(tmp_path):
    directory = str(tmp_path / "web")
    shutil.copytree(os.path.join(CGROUPS, "v2", "nsfleet", "web"), directory)
    cgroup = {"version": 2, "dirs": {"unified": directory}}
    reader = CgroupReader()
    reader.read_usage(cgroup)
    reader.end_scrape()
    assert len(reader.held) == 6
    with open(os.path.join(directory, "pids.current"), "w") as pids_file:
        pids_file.write("9\n")  # read again through the held descriptor
    assert reader.read_usage(cgroup).pids == 9
    reader.end_scrape()
    reader.end_scrape()  # a scrape that asked for no cgroup
    assert reader.held == {}


def test_no_more_than_max_held_descriptors():
    reader = CgroupReader(max_held=2)
    assert figures(reader.read_usage(CGROUP_V1)) == (1.5, 52428800, None, 3, 100, 2)
    assert len(reader.held) == 2
    reader.close()
