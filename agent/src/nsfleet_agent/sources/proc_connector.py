"""The kernel's process connector (netlink NETLINK_CONNECTOR, CN_IDX_PROC): fork, exec and exit events.

Written with ``socket`` and ``struct`` rather than pyroute2's ProcEventSocket
(0.9): its ``control()`` waits for an answer without a deadline (outside the
initial PID namespace the kernel never answers, so the agent would hang) and
takes any message for its answer, though every listener sees every other
listener's; and its generic decoder costs about 47us a message here against
3us, which at a few thousand events a second is a tenth of a core. So the
agent does not depend on pyroute2 at all.

The kernel numbers every message it sends per CPU; a gap in those numbers is
an event this socket missed, so loss is counted exactly.
"""

import errno
import os
import select
import socket
import struct
import time

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
NLMSG_DONE = 3
NLMSG_ERROR = 2

PROC_EVENT_NONE = 0
PROC_EVENT_FORK = 0x1
PROC_EVENT_EXEC = 0x2
PROC_EVENT_COMM = 0x200
PROC_EVENT_EXIT = 0x80000000

# nlmsghdr: len, type, flags, seq, pid; cn_msg: idx, val, seq, ack, len, flags; proc_event: what, cpu, timestamp.
_NLMSGHDR = struct.Struct("=IHHII")
_CN_MSG = struct.Struct("=IIIIHH")
_EVENT_HEAD = struct.Struct("=IIQ")
_HEADERS = _NLMSGHDR.size + _CN_MSG.size  # 36
_EVENT_DATA = _HEADERS + _EVENT_HEAD.size  # 52: where the event's own fields start
_FOUR_INTS = struct.Struct("=iiii")
_SIX_INTS = struct.Struct("=iiiiii")
_TWO_INTS = struct.Struct("=ii")
# Room for this many pending events before the kernel must drop (as root the buffer can exceed rmem_max).
RECEIVE_BUFFER_BYTES = 32 << 20
_MESSAGE_BYTES = 128  # a proc_event message is 92 bytes


class ConnectorUnavailable(Exception):
    """The kernel will not send us process events: not root, not in the initial namespaces, or no connector."""


class Overrun(Exception):
    """The socket's buffer overflowed (ENOBUFS): events were dropped; how many is known from the sequence.

    ``args[0]``: the events read before the overrun was reported, still to be handled.
    """


class Event:
    """One process event. PIDs are as the initial PID namespace numbers them (host PIDs)."""

    __slots__ = ("what", "cpu", "timestamp_ns", "pid", "tgid", "parent_pid", "parent_tgid", "exit_status")

    def __init__(self, what, cpu, timestamp_ns, pid, tgid, parent_pid=0, parent_tgid=0, exit_status=0):
        self.what = what
        self.cpu = cpu
        self.timestamp_ns = timestamp_ns
        self.pid = pid
        self.tgid = tgid
        self.parent_pid = parent_pid
        self.parent_tgid = parent_tgid
        self.exit_status = exit_status  # as wait(2) reports it: (code << 8) | signal

    @property
    def is_thread(self):
        """A thread of a process, not the process itself (its leader)."""
        return self.pid != self.tgid


def _request(operation, nonce, port):
    payload = struct.pack("=I", operation)
    body = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, nonce, nonce, len(payload), 0) + payload
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), NLMSG_DONE, 0, 0, port) + body


class ProcConnector:
    """A subscribed process-connector socket. ``events()`` yields decoded events; ``close()`` unsubscribes."""

    def __init__(self, subscribe_timeout=2.0, receive_buffer=RECEIVE_BUFFER_BYTES):
        """Subscribe, waiting at most ``subscribe_timeout`` seconds for the kernel's acknowledgement.

        Raises ConnectorUnavailable when the kernel refuses (EPERM), has no
        connector, or ignores the request: it does so, silently, for a caller
        outside the initial user or PID namespace.
        """
        self.sock = None
        self.subscribed = False
        self.next_seq = {}  # cpu -> the sequence number expected next
        self.lost = 0
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
            self._grow_buffer(receive_buffer)
            self.sock.bind((0, CN_IDX_PROC))
            self.port = self.sock.getsockname()[0]
            self._subscribe(subscribe_timeout)
        except OSError as error:
            self.close()
            raise ConnectorUnavailable("process connector: %s" % (os.strerror(error.errno) if error.errno
                                                                  else error)) from error
        except ConnectorUnavailable:
            self.close()
            raise

    def _grow_buffer(self, size):
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, size)  # SO_RCVBUFFORCE: past rmem_max, as root
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)

    def _subscribe(self, timeout):
        # Every listener sees every acknowledgement: ours is the one that answers our nonce.
        nonce = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
        self.sock.send(_request(PROC_CN_MCAST_LISTEN, nonce, self.port))
        self.subscribed = True  # from here on, close() sends IGNORE so the kernel's listener count drops again
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise ConnectorUnavailable("process connector: the kernel did not acknowledge the subscription "
                                           "within %gs (outside the initial user or PID namespace?)" % timeout)
            try:
                data = self.sock.recv(_MESSAGE_BYTES)
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    continue  # a flood before our answer; the answer is still coming
                raise
            if len(data) < _EVENT_DATA + 4:
                continue
            ack = _CN_MSG.unpack_from(data, _NLMSGHDR.size)[3]
            what = _EVENT_HEAD.unpack_from(data, _HEADERS)[0]
            if what == PROC_EVENT_NONE and ack == nonce + 1:
                err = struct.unpack_from("=I", data, _EVENT_DATA)[0]
                if err:
                    raise ConnectorUnavailable("process connector: %s" % os.strerror(err))
                return

    def fileno(self):
        return self.sock.fileno()

    def wait(self, timeout=None):
        """Whether events are waiting, after waiting up to ``timeout`` seconds (None: forever)."""
        return bool(select.select([self.sock], [], [], timeout)[0])

    def drain(self, limit=4096):
        """The events waiting now, up to ``limit`` messages, without blocking; fork, exec, exit and comm only.

        Raises Overrun when the kernel had to drop messages (ENOBUFS), with the events read before it.
        """
        events = []
        recv, decode = self.sock.recv, self.decode
        for _message in range(limit):
            try:
                data = recv(_MESSAGE_BYTES, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return events
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    raise Overrun(events) from error
                raise
            event = decode(data)
            if event is not None:
                events.append(event)
        return events

    def receive(self, timeout=None):
        """Events that are waiting, after waiting up to ``timeout`` seconds for the first (None: forever)."""
        return self.drain() if self.wait(timeout) else []

    def decode(self, data):
        if len(data) < _EVENT_DATA:
            return None
        seq = _CN_MSG.unpack_from(data, _NLMSGHDR.size)[2]
        what, cpu, timestamp_ns = _EVENT_HEAD.unpack_from(data, _HEADERS)
        self._count_gap(cpu, seq)
        if what == PROC_EVENT_FORK:
            parent_pid, parent_tgid, pid, tgid = _FOUR_INTS.unpack_from(data, _EVENT_DATA)
            return Event(what, cpu, timestamp_ns, pid, tgid, parent_pid, parent_tgid)
        if what == PROC_EVENT_EXIT:
            pid, tgid, exit_status, _exit_signal, parent_pid, parent_tgid = _SIX_INTS.unpack_from(data, _EVENT_DATA)
            return Event(what, cpu, timestamp_ns, pid, tgid, parent_pid, parent_tgid, exit_status)
        if what in (PROC_EVENT_EXEC, PROC_EVENT_COMM):
            pid, tgid = _TWO_INTS.unpack_from(data, _EVENT_DATA)
            return Event(what, cpu, timestamp_ns, pid, tgid)
        return None  # uid, gid, sid, ptrace, coredump, acknowledgements: nothing we count

    def _count_gap(self, cpu, seq):
        # The kernel numbers the messages it sends on each CPU, in order: a skipped number is a lost message.
        expected = self.next_seq.get(cpu)
        if expected is not None and seq != expected:
            gap = (seq - expected) & 0xFFFFFFFF
            if gap < 0x80000000:
                self.lost += gap
        self.next_seq[cpu] = (seq + 1) & 0xFFFFFFFF

    def close(self):
        if self.sock is None:
            return
        if self.subscribed:
            try:
                self.sock.send(_request(PROC_CN_MCAST_IGNORE, 0, self.port))
            except OSError:
                pass
            self.subscribed = False
        self.sock.close()
        self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()
