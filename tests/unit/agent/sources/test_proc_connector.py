import struct

import pytest

from nsfleet_agent.sources import proc_connector as connector
from nsfleet_agent.sources.proc_connector import PROC_EVENT_COMM, PROC_EVENT_EXEC, PROC_EVENT_EXIT, PROC_EVENT_FORK, ProcConnector


def message(what, data, cpu=0, seq=0, ack=0):
    """A netlink message as the kernel's process connector sends it."""
    event = struct.pack("=IIQ", what, cpu, 123456789) + data
    body = struct.pack("=IIIIHH", connector.CN_IDX_PROC, connector.CN_VAL_PROC, seq, ack, len(event), 0) + event
    return struct.pack("=IHHII", 16 + len(body), connector.NLMSG_DONE, 0, 0, 0) + body


def decoder():
    # decode() needs no socket: a connector that never subscribed.
    return ProcConnector.__new__(ProcConnector)


@pytest.fixture
def decode():
    unsubscribed = decoder()
    unsubscribed.next_seq = {}
    unsubscribed.lost = 0
    return unsubscribed


def test_fork_exec_exit_and_comm_are_decoded(decode):
    fork = decode.decode(message(PROC_EVENT_FORK, struct.pack("=iiii", 10, 10, 11, 11), seq=1))
    assert (fork.what, fork.parent_pid, fork.parent_tgid, fork.pid, fork.tgid) == (PROC_EVENT_FORK, 10, 10, 11, 11)
    assert not fork.is_thread and fork.timestamp_ns == 123456789
    exec_ = decode.decode(message(PROC_EVENT_EXEC, struct.pack("=ii", 11, 11), seq=2))
    assert (exec_.what, exec_.pid) == (PROC_EVENT_EXEC, 11)
    exit_ = decode.decode(message(PROC_EVENT_EXIT, struct.pack("=iiiiii", 11, 11, 9, 17, 10, 10), seq=3))
    assert (exit_.what, exit_.pid, exit_.exit_status, exit_.parent_tgid) == (PROC_EVENT_EXIT, 11, 9, 10)
    comm = decode.decode(message(PROC_EVENT_COMM, struct.pack("=ii", 12, 11) + b"worker\0" + bytes(9), seq=4))
    assert comm.is_thread and comm.tgid == 11
    assert decode.lost == 0


def test_other_events_and_acknowledgements_are_skipped_but_keep_the_sequence(decode):
    assert decode.decode(message(0x4, struct.pack("=iiii", 1, 1, 0, 0), seq=7)) is None  # uid change
    assert decode.decode(message(0, struct.pack("=I", 0), seq=8)) is None  # someone's acknowledgement
    decode.decode(message(PROC_EVENT_EXEC, struct.pack("=ii", 11, 11), seq=9))
    assert decode.lost == 0


def test_gaps_in_each_cpus_sequence_are_lost_events(decode):
    exec_ = struct.pack("=ii", 11, 11)
    for cpu, seq in ((0, 100), (1, 500), (0, 101), (0, 105), (1, 501), (1, 503)):
        decode.decode(message(PROC_EVENT_EXEC, exec_, cpu=cpu, seq=seq))
    assert decode.lost == 3 + 1


def test_the_sequence_wraps(decode):
    exec_ = struct.pack("=ii", 11, 11)
    decode.decode(message(PROC_EVENT_EXEC, exec_, seq=0xFFFFFFFF))
    decode.decode(message(PROC_EVENT_EXEC, exec_, seq=0))
    decode.decode(message(PROC_EVENT_EXEC, exec_, seq=2))
    assert decode.lost == 1


def test_a_short_message_is_ignored(decode):
    assert decode.decode(b"\0" * 20) is None
