# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pipe handshake between a starter and the process it forked.

The child writes at most one message, then its end closes (explicitly, or by
close-on-exec when it execs). The starter reads until EOF: the bytes are the
message, none means "no news". A child that neither writes nor closes is
waited for a bounded time only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import time

# A message is a short status or error. Under PIPE_BUF (4096) a write is
# atomic, so two writers (init and the command it forked) never interleave.
MAX_MESSAGE_BYTES = 4000


class HandshakeTimeout(RuntimeError):
    pass


def receive(read_fd, timeout_seconds):
    """Everything written until the last writer closed the pipe, as text ("" for nothing).

    Raises HandshakeTimeout if the pipe is still open after ``timeout_seconds``.
    """
    poller = select.poll()
    poller.register(read_fd, select.POLLIN | select.POLLHUP)
    deadline = time.monotonic() + timeout_seconds
    chunks = []
    size = 0
    while True:
        if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            raise HandshakeTimeout("no answer within %ss" % timeout_seconds)
        chunk = os.read(read_fd, 4096)
        if not chunk:
            return b"".join(chunks).decode("utf-8", "replace")
        if size < MAX_MESSAGE_BYTES:
            chunks.append(chunk[:MAX_MESSAGE_BYTES - size])
            size += len(chunks[-1])


def send(write_fd, message, close=False):
    """Write ``message`` to the starter; never raises: a child that reports must not fail reporting."""
    try:
        os.write(write_fd, message.encode("utf-8", "replace")[:MAX_MESSAGE_BYTES])
    except OSError:
        pass
    if close:
        try:
            os.close(write_fd)
        except OSError:
            pass
