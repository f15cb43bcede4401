"""Capability names and the set a workload gets, as Docker's --cap-add/--cap-drop."""

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.security import capabilities


def test_dockers_default_is_capeff_a80425fb():
    assert capabilities.mask(capabilities.DEFAULT) == 0xA80425FB


@pytest.mark.parametrize("given,expected", [
    ("net_admin", "CAP_NET_ADMIN"), ("CAP_NET_ADMIN", "CAP_NET_ADMIN"), (" Sys_Admin ", "CAP_SYS_ADMIN"),
    ("all", "ALL"),
])
def test_names_with_or_without_cap_in_any_case(given, expected):
    assert capabilities.normalise_name(given) == expected


def test_an_unknown_name_is_a_key_error():
    with pytest.raises(KeyError):
        capabilities.normalise_name("CAP_FLY")


def test_add_and_drop_as_docker():
    assert capabilities.effective_set(["CAP_NET_ADMIN"], ["CAP_CHOWN"]) == \
        capabilities.DEFAULT - {"CAP_CHOWN"} | {"CAP_NET_ADMIN"}
    assert capabilities.effective_set(["CAP_KILL"], ["ALL"]) == {"CAP_KILL"}
    assert capabilities.effective_set(["ALL"], ["CAP_SYS_ADMIN"]) == set(capabilities.NAMES) - {"CAP_SYS_ADMIN"}
    assert capabilities.effective_set([], []) == capabilities.DEFAULT
