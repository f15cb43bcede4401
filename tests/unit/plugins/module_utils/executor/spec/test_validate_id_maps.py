"""User namespaces in the spec: namespaces.user, uid_map and gid_map, refused before anything is made."""

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.validate import SpecError, spec_hash, validate

PRIVATE = {"user": "private"}
P = {"namespaces": PRIVATE}


def check(raw, exists=lambda name: name == "other"):
    return validate(dict({"name": "ok", "command": ["/bin/true"]}, **raw), exists)


def fails_on(param, raw):
    with pytest.raises(SpecError) as caught:
        check(raw)
    assert caught.value.param == param, str(caught.value)
    return caught.value.reason


def line(inside, outside, count):
    return {"inside": inside, "outside": outside, "count": count}


@pytest.mark.parametrize("value", ["private", "host", "path:/proc/self/ns/user", "workload:other"])
def test_every_user_namespace_value_is_accepted(value):
    assert check({"namespaces": {"user": value}})["namespaces"]["user"] == value


def test_no_map_means_the_default_one_and_keeps_the_spec_as_given():
    spec = check({"namespaces": PRIVATE})
    assert spec["uid_map"] == [] and spec["gid_map"] == []


def test_maps_are_kept_in_one_form():
    spec = check({"namespaces": PRIVATE, "uid_map": [line(0, 200000, 1000), line(1000, 300000, 10)],
                  "gid_map": [line(0, 200000, 1000)]})
    assert spec["uid_map"] == [line(0, 200000, 1000), line(1000, 300000, 10)]


def test_equal_maps_hash_equally():
    lines = [line(1000, 300000, 10), line(0, 200000, 1000)]
    assert check({"namespaces": PRIVATE, "uid_map": lines})["uid_map"] == sorted(lines, key=lambda one: one["inside"])
    assert spec_hash(check({"namespaces": PRIVATE, "uid_map": lines})) == spec_hash(
        check({"namespaces": PRIVATE, "uid_map": lines[::-1]}))
    default = check({"namespaces": PRIVATE, "uid_map": [line(0, 100000, 65536)], "gid_map": [line(0, 100000, 65536)]})
    assert (default["uid_map"], default["gid_map"]) == ([], [])
    assert spec_hash(default) == spec_hash(check({"namespaces": PRIVATE}))


def test_specs_without_maps_hash_as_before():
    assert spec_hash(check({})) == spec_hash(check({"uid_map": [], "gid_map": []}))
    assert spec_hash(check({"namespaces": PRIVATE})) != spec_hash(check({}))


@pytest.mark.parametrize("raw, param, reason", [
    ({"uid_map": [line(0, 100000, 10)]}, "uid_map", "needs namespaces.user: private"),
    ({"gid_map": [line(0, 100000, 10)], "namespaces": {"user": "workload:other"}}, "gid_map",
     "needs namespaces.user: private"),
    ({"uid_map": "0:100000:10"}, "uid_map", "must be a list"),
    (dict(P, uid_map="0:100000:10"), "uid_map", "must be a list"),
    (dict(P, uid_map=["0:100000"]), "uid_map[0]", "must be a mapping"),
    (dict(P, uid_map=[{"inside": 0, "outside": 1}]), "uid_map[0].count", "whole number"),
    (dict(P, uid_map=[line(0, 1, 1.5)]), "uid_map[0].count", "whole number"),
    (dict(P, uid_map=[line(0, True, 1)]), "uid_map[0].outside", "whole number"),
    (dict(P, uid_map=[dict(line(0, 1, 1), extra=1)]), "uid_map[0].extra", "unknown key"),
    (dict(P, uid_map=[line(0, 100000, 0)]), "uid_map[0].count", "at least 1"),
    (dict(P, uid_map=[line(0, 100000, -5)]), "uid_map[0].count", "at least 1"),
    (dict(P, uid_map=[line(-1, 100000, 10)]), "uid_map[0].inside", "out of range"),
    (dict(P, uid_map=[line(0, 4294967295, 1)]), "uid_map[0].outside", "out of range"),
    (dict(P, uid_map=[line(0, 4294967290, 10)]), "uid_map[0].outside", "out of range"),
    (dict(P, gid_map=[line(0, 1, 1), line(4294967294, 2, 2)]), "gid_map[1].inside", "out of range"),
    (dict(P, uid_map=[line(0, 100000, 100), line(50, 300000, 10)]), "uid_map", "inside ranges overlap"),
    (dict(P, gid_map=[line(0, 100000, 100), line(1000, 100099, 10)]), "gid_map", "outside ranges overlap"),
    (dict(P, uid_map=[line(1000, 100000, 10)]), "uid_map", "must map id 0 inside"),
    (dict(P, uid_map=[line(index, 100000 + index, 1) for index in range(341)]), "uid_map", "at most 340"),
    (dict(P, uid_map=[line(0, 100000, 1)], user="1"), "user", "uid 1 is not mapped by uid_map"),
    (dict(P, gid_map=[line(0, 100000, 1)], user="0:7"), "user", "gid 7 is not mapped by gid_map"),
    (dict(P, user="70000"), "user", "uid 70000 is not mapped by uid_map"),
])
def test_bad_maps_are_refused_naming_the_parameter(raw, param, reason):
    assert reason in fails_on(param, raw)


def test_340_lines_are_taken():
    assert len(check({"namespaces": PRIVATE, "uid_map": [line(index, 100000 + index, 1) for index in range(340)]})
               ["uid_map"]) == 340


def test_a_mapped_user_is_taken():
    spec = check({"namespaces": PRIVATE, "uid_map": [line(0, 100000, 2000)], "gid_map": [line(0, 100000, 2000)],
                  "user": "1000:1000"})
    assert (spec["user"]["uid"], spec["user"]["gid"]) == (1000, 1000)


def test_a_user_namespace_file_of_another_kind_is_refused():
    assert "not a user namespace" in fails_on("namespaces.user", {"namespaces": {"user": "path:/proc/self/ns/net"}})
