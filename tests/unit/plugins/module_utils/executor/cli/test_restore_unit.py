import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli import restore_unit


def test_the_unit_runs_restore_of_this_executor_and_state_root_and_never_stops_workloads():
    unit = restore_unit.render("/var/lib/nsfleet/bin/nsfleet", "/", "/var/lib/nsfleet")
    assert "\nExecStart=/var/lib/nsfleet/bin/nsfleet --state-dir / restore\n" in unit
    assert "\nType=oneshot\n" in unit and "\nRemainAfterExit=yes\n" in unit
    # Stopping the unit must not kill the supervisors restore started.
    assert "\nKillMode=process\n" in unit
    assert "\nRequiresMountsFor=/var/lib/nsfleet\n" in unit
    assert "\nWantedBy=multi-user.target\n" in unit


@pytest.mark.parametrize("executable, root", [("/opt/my nsfleet", "/"), ("/usr/bin/nsfleet", "/srv/%h"),
                                              ("", "/"), ("/x", "/a;b")])
def test_what_a_unit_file_would_read_otherwise_is_refused(executable, root):
    with pytest.raises(ValueError):
        restore_unit.render(executable, root, root + "/var/lib/nsfleet")
