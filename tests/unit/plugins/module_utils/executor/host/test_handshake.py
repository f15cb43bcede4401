import os

import pytest

from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.host import handshake


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        try:
            os.close(fd)
        except OSError:
            pass


def test_eof_without_a_message_is_empty(pipe):
    read_fd, write_fd = pipe
    os.close(write_fd)
    assert handshake.receive(read_fd, 5) == ""


def test_a_message_is_read_until_the_writer_closes(pipe):
    read_fd, write_fd = pipe
    handshake.send(write_fd, "set-up: no such file", close=True)
    assert handshake.receive(read_fd, 5) == "set-up: no such file"


def test_a_silent_open_pipe_times_out(pipe):
    read_fd, _write_fd = pipe
    with pytest.raises(handshake.HandshakeTimeout):
        handshake.receive(read_fd, 0.05)


def test_a_message_is_bounded_and_sending_never_raises(pipe):
    read_fd, write_fd = pipe
    handshake.send(write_fd, "x" * 100000, close=True)
    assert len(handshake.receive(read_fd, 5)) == handshake.MAX_MESSAGE_BYTES
    handshake.send(write_fd, "to a closed descriptor")  # the reporter must not fail reporting
