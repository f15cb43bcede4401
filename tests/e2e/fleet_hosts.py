"""Test hosts on this machine: each an sshd in its own PID and mount namespace, on its own loopback address.

A host sees its own /run, /var/lib and /var/log (directories of the test,
bound over the real ones) and a copy-on-write /etc and /opt (overlays whose
upper directories are the test's), so whatever a playbook leaves behind
shows up in the test's directories, and nothing reaches the real host's.
Its PID 1 is a small reaper that runs sshd; stopping the host kills its
whole PID namespace.
"""

import os
import shutil
import socket
import subprocess
import time

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PRIVATE_DIRS = ("run", "var/lib", "var/log")
OVERLAID_DIRS = ("etc", "opt")

# PID 1 of a host: make its mounts, run sshd, reap every orphan until sshd exits.
HOST_INIT = r"""
import os, signal, subprocess, sys
root, config = sys.argv[1], sys.argv[2]
def mount(*argv):
    subprocess.run(["mount"] + list(argv), check=True)
mount("--make-rprivate", "/")
mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc")
for name in %(private)r:
    mount("--bind", os.path.join(root, name), "/" + name)
for name in %(overlaid)r:
    upper, work = os.path.join(root, "upper", name), os.path.join(root, "work", name)
    mount("-t", "overlay", "overlay", "-o", "lowerdir=/%%s,upperdir=%%s,workdir=%%s" %% (name, upper, work), "/" + name)
os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
sshd = subprocess.Popen([%(sshd)r, "-D", "-e", "-f", config], stderr=open(os.path.join(root, "sshd.log"), "w"))
signal.signal(signal.SIGTERM, lambda *_: sshd.terminate())
while True:
    try:
        pid, _status = os.wait()
    except ChildProcessError:
        break
    except InterruptedError:
        continue
    if pid == sshd.pid:
        break
""" % {"private": PRIVATE_DIRS, "overlaid": OVERLAID_DIRS, "sshd": SSHD}


def free_port_on(*addresses):
    """A TCP port free on every one of ``addresses`` right now."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = probe.getsockname()[1]
            try:
                for address in addresses[1:]:
                    with socket.socket() as other:
                        other.bind((address, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free on all of %s" % (addresses,))


def wait_listening(address, port, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return True
        except OSError:
            if process.poll() is not None:
                return False
            time.sleep(0.1)
    return False


class FleetHost:
    """``FleetHost("host1", "127.0.0.11", directory, client_key).start()``: root may log in with the key."""

    def __init__(self, name, address, directory, client_key):
        self.name = name
        self.address = address
        self.root = directory
        self.client_key = client_key
        self.port = free_port_on(address)
        self.process = None
        self.baseline = set()  # the host's own files once it runs (sshd's /run/sshd, mount's /run/mount)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def start(self):
        for name in PRIVATE_DIRS:
            os.makedirs(self.path(name), exist_ok=True)
        for name in OVERLAID_DIRS:
            os.makedirs(self.path("upper", name), exist_ok=True)
            os.makedirs(self.path("work", name), exist_ok=True)
        host_key = self.path("host_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host_key], check=True)
        config = self.path("sshd_config")
        with open(config, "w") as config_file:
            config_file.write("\n".join([
                "Port %d" % self.port, "ListenAddress %s" % self.address, "HostKey %s" % host_key,
                "AuthorizedKeysFile %s.pub" % self.client_key, "PermitRootLogin prohibit-password",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
                "PidFile none", "Subsystem sftp internal-sftp", ""]))
        # --kill-child: if this test dies, the host's PID 1 dies, and with it everything in its namespace.
        self.process = subprocess.Popen(
            ["unshare", "--pid", "--mount", "--fork", "--kill-child", "--", "/usr/bin/python3", "-c", HOST_INIT,
             self.root, config], stdout=subprocess.DEVNULL, stderr=open(self.path("init.log"), "w"))
        if not wait_listening(self.address, self.port, self.process, timeout=15):
            self.stop()
            raise RuntimeError("host %s did not start: %s %s" % (
                self.name, open(self.path("init.log")).read(), open(self.path("sshd.log")).read()
                if os.path.exists(self.path("sshd.log")) else ""))
        self.baseline = set(self.files())
        return self

    def init_pid(self):
        """The host PID of this host's PID 1 (unshare's child)."""
        with open("/proc/%d/task/%d/children" % (self.process.pid, self.process.pid)) as children:
            return int(children.read().split()[0])

    def processes(self):
        """{host pid: comm} of every process of this host below its PID 1, in nested namespaces too."""
        parents = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as stat:
                    text = stat.read()
            except OSError:
                continue
            comm = text[text.index("(") + 1:text.rindex(")")]
            ppid = int(text[text.rindex(")") + 2:].split()[1])
            parents[int(entry)] = (ppid, comm)
        top = self.init_pid()
        found = {}
        for pid, (_ppid, comm) in parents.items():
            ancestor = pid
            while ancestor in parents and ancestor != top:
                ancestor = parents[ancestor][0]
            if ancestor == top and pid != top:
                found[pid] = comm
        return found

    def files(self):
        """Every file and directory in the host's private dirs and in its overlays' upper dirs."""
        for name in PRIVATE_DIRS + tuple(os.path.join("upper", name) for name in OVERLAID_DIRS):
            for directory, subdirs, names in os.walk(self.path(name)):
                for entry in subdirs + names:
                    yield os.path.relpath(os.path.join(directory, entry), self.root)

    def leftovers(self):
        """What was made after the host started and is still there, and its processes besides sshd."""
        files = sorted(set(self.files()) - self.baseline)
        processes = sorted("%d %s" % (pid, comm) for pid, comm in self.processes().items() if comm != "sshd")
        return files, processes

    def stop(self):
        """SIGKILL to unshare: --kill-child takes the host's PID 1, and the kernel every process of its namespace."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=30)
