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
