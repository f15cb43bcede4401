"""Helpers the test suites share: loopback ports and waiting for a server to listen."""

import os
import socket
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port, process, timeout):
    """Wait until 127.0.0.1:port accepts; False if ``process`` exited first or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if process.poll() is not None:
                return False
            time.sleep(0.05)
    return False
