"""limits and cgroup_parent: Docker users' units parsed, nonsense refused naming the parameter."""

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec import limits
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError, spec_hash, validate

MIB = 1 << 20


@pytest.mark.parametrize("text, size", [
    (536870912, 536870912), ("536870912", 536870912), ("512m", 512 * MIB), ("512M", 512 * MIB),
    ("512mb", 512 * MIB), ("512MiB", 512 * MIB), ("512 m", 512 * MIB), ("1g", 1 << 30), ("1.5g", 3 << 29),
    ("64k", 64 << 10), ("2t", 2 << 40), ("100b", 100), ("0", 0),
])
def test_sizes_as_docker_users_write_them(text, size):
    assert limits.parse_size("limits.memory", text) == size


@pytest.mark.parametrize("text, reason", [
    ("-1", "negative"), ("-512m", "negative"), ("abc", "not a size"), ("12x", "not a size"), ("", "not a size"),
    ("m", "not a size"), ("1..5g", "not a size"), ("nan", "not a size"), (True, "must be a size"),
    ([512], "must be a size"), ("99999999p", "larger than"),
])
def test_bad_sizes_are_refused_naming_the_parameter(text, reason):
    with pytest.raises(SpecError) as caught:
        limits.parse_size("limits.memory", text)
    assert caught.value.param == "limits.memory" and reason in str(caught.value)


@pytest.mark.parametrize("value, cpus", [(0.5, 0.5), ("0.5", 0.5), (2, 2), ("2.0", 2), (0.01, 0.01)])
def test_cpus(value, cpus):
    assert limits.parse_cpus("limits.cpu", value, host_cpus=2) == cpus


@pytest.mark.parametrize("value, reason", [
    (3, "more than this host's 2 CPUs"), (0, "at least"), (-1, "at least"), (0.001, "at least"),
    ("half", "number of CPUs"), (True, "number of CPUs"), (float("nan"), "at least"),
])
def test_bad_cpus(value, reason):
    with pytest.raises(SpecError) as caught:
        limits.parse_cpus("limits.cpu", value, host_cpus=2)
    assert caught.value.param == "limits.cpu" and reason in str(caught.value)


def test_limits_normal_form_keeps_only_what_was_given_as_numbers():
    assert limits.validate_limits({"memory": "512m", "memory_swap": None, "pids": "20", "cpu": "0.5",
                                   "cpu_weight": None}, host_cpus=2) == {"memory": 512 * MIB, "pids": 20, "cpu": 0.5}
    assert limits.validate_limits(None) == {} and limits.validate_limits({"memory": None}) == {}


@pytest.mark.parametrize("raw, param, reason", [
    ({"pids": 0}, "limits.pids", "between 1 and"), ({"pids": -5}, "limits.pids", "between 1 and"),
    ({"pids": "many"}, "limits.pids", "whole number"), ({"cpu_weight": 0}, "limits.cpu_weight", "between 1 and 10000"),
    ({"cpu_weight": 10001}, "limits.cpu_weight", "between"), ({"memory": "1m"}, "limits.memory", "at least 6m"),
    ({"memory_swap": "1g"}, "limits.memory_swap", "needs limits.memory"),
    ({"memory": "1g", "memory_swap": "512m"}, "limits.memory_swap", "less than limits.memory"),
    ({"memory": "1g", "memory_swap": "-2"}, "limits.memory_swap", "negative"),
    ({"cpu": 64}, "limits.cpu", "more than this host's"), ({"disk": "1g"}, "limits.disk", "unknown limit"),
    ("512m", "limits", "must be a mapping"),
])
def test_bad_limits(raw, param, reason):
    with pytest.raises(SpecError) as caught:
        limits.validate_limits(raw, host_cpus=2)
    assert caught.value.param == param and reason in str(caught.value)


def test_memory_swap_minus_one_is_unlimited_swap():
    assert limits.validate_limits({"memory": "1g", "memory_swap": -1})["memory_swap"] == -1
    assert limits.validate_limits({"memory": "1g", "memory_swap": "2g"})["memory_swap"] == 2 << 30


@pytest.mark.parametrize("value, normal", [
    (None, None), ("", None), ("/nsfleet", "/nsfleet"), ("/system.slice/nsfleet.service/", "/system.slice/nsfleet.service"),
    ("//a//b", "/a/b"),
])
def test_cgroup_parent(value, normal):
    assert limits.validate_cgroup_parent(value) == normal


@pytest.mark.parametrize("value", ["nsfleet", "/", "/a/../b", "/a/./b", "/cgroup.procs", "/a b", "/a\nb", 5])
def test_bad_cgroup_parent(value):
    with pytest.raises(SpecError) as caught:
        limits.validate_cgroup_parent(value)
    assert caught.value.param == "cgroup_parent"


def _spec(**raw):
    return validate(dict({"name": "ok", "command": ["/bin/true"]}, **raw), lambda name: False)


def test_equal_limits_written_differently_hash_equally_and_no_limits_hash_as_before():
    assert spec_hash(_spec(limits={"memory": "512m"})) == spec_hash(_spec(limits={"memory": 536870912}))
    assert spec_hash(_spec(limits={"memory": "512m"})) != spec_hash(_spec(limits={"memory": "1g"}))
    assert spec_hash(_spec()) == spec_hash(_spec(limits={}, cgroup_parent=None)) == spec_hash(
        _spec(limits={"memory": None, "pids": None}))
    assert spec_hash(_spec(cgroup_parent="/a")) != spec_hash(_spec())
