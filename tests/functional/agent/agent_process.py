"""A real nsfleet-agent process, and real PID namespaces for it to find."""

import os
import signal
import ssl
import subprocess
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from support import free_port, wait_listening

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
AGENT = os.path.join(TOP, ".venv", "bin", "nsfleet-agent")


def pidns_of(pid):
    link = os.readlink("/proc/%d/ns/pid" % pid)
    return link[link.index("[") + 1:-1]


def parse(text):
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


class Agent:
    def __init__(self, state_dir, extra_args=(), scheme="http", launcher=(), listen_host="127.0.0.1"):
        """``listen_host`` "" or "[::]" listens on every address; the tests reach it on 127.0.0.1."""
        self.port = free_port()
        self.scheme = scheme
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        argv = [AGENT, "--web.listen-address", "%s:%d" % (listen_host, self.port), "--path.state", state_dir]
        self.process = subprocess.Popen(list(launcher) + argv + list(extra_args),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_listening(self.port, self.process, timeout=20):
            if self.process.poll() is not None:
                raise RuntimeError("the agent exited: %s" % self.process.stderr.read().decode())
            raise RuntimeError("the agent did not listen within 20s")

    def get(self, path="/metrics", headers=None, context=None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read().decode()

    def scrape(self):
        return parse(self.get()[1])

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class NestedNamespaces:
    """unshare --pid --fork --mount-proc, two levels deep, with sleepers in each level."""

    SCRIPT = ("sleep 600 & sleep 601 & "
              "unshare --pid --fork --mount-proc sh -c 'sleep 602 & sleep 603 & sleep 604 & wait' & wait")

    def __init__(self):
        self.process = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", self.SCRIPT],
                                        start_new_session=True)
        self.outer = self.inner = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            sleepers = self.sleepers()
            if len(sleepers) == 5:
                outer_ns = pidns_of(sleepers["600"])
                inner_ns = pidns_of(sleepers["602"])
                if outer_ns != inner_ns:
                    self.outer, self.inner = outer_ns, inner_ns
                    return
            time.sleep(0.05)
        raise RuntimeError("the nested namespaces did not come up")

    def sleepers(self):
        found = {}
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    argv = open("/proc/%s/cmdline" % pid).read().split("\0")
                    session = os.getsid(int(pid))
                except (OSError, ProcessLookupError):
                    continue
                if argv[0] == "sleep" and session == self.process.pid:
                    found[argv[1]] = int(pid)
        return found

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


def client_context(cert):
    return ssl.create_default_context(cafile=cert)
