import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.runtime.supervisor import (
    StartReport, read_start_report)


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        try:
            os.close(fd)
        except OSError:
            pass


def test_the_start_report_is_sent_once_then_the_pipe_closes(pipe):
    read_fd, write_fd = pipe
    report = StartReport(write_fd)
    report.send({"init_host_pid": 42})
    report.fail(RuntimeError("too late"))  # must not write into a reused descriptor number
    assert report.handshake_fd is None
    assert read_start_report(read_fd) == {"init_host_pid": 42}


def test_a_failure_names_the_supervisor(pipe):
    read_fd, write_fd = pipe
    StartReport(write_fd).fail(OSError(2, "No such file or directory"))
    assert read_start_report(read_fd) == {"error": "supervisor: [Errno 2] No such file or directory"}


def test_silence_then_eof_means_the_supervisor_died(pipe):
    read_fd, write_fd = pipe
    os.close(write_fd)
    assert read_start_report(read_fd) == {"error": "the supervisor exited before starting the workload"}


class UnmakeableCgroup:
    path = "/nsfleet/web"

    def make(self, limits):
        raise OSError(30, "Read-only file system")


def _supervisor(limits, cgroup):
    from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.runtime.supervisor import (
        NullRecorder, Supervisor)
    return Supervisor({"limits": limits}, NullRecorder(), (0, 1, 2), None, detached=False, cgroup=cgroup)


def test_without_limits_a_cgroup_that_cannot_be_made_does_not_stop_the_workload():
    assert _supervisor({}, UnmakeableCgroup()).make_cgroup() is None
    assert _supervisor({}, None).make_cgroup() is None


def test_with_limits_a_cgroup_that_cannot_be_made_is_a_failed_start():
    from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host.cgroups import CgroupError
    with pytest.raises(CgroupError, match="cgroup /nsfleet/web: .*Read-only file system"):
        _supervisor({"memory": 1 << 30}, UnmakeableCgroup()).make_cgroup()
    with pytest.raises(CgroupError, match="no cgroup hierarchy"):
        _supervisor({"pids": 5}, None).make_cgroup()
