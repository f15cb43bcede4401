# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state store on a host.

    <root>/run/nsfleet/<name>/state.json   live state (schema 1, read by the agent)
    <root>/run/nsfleet/<name>.lock         flock: one lifecycle operation at a time
    <root>/var/lib/nsfleet/<name>/spec.json desired spec, survives reboot
    <root>/var/log/nsfleet/<name>.log      the workload's stdout and stderr

``<root>`` is "/" unless NSFLEET_STATE_DIR says otherwise, so tests can run
several "hosts" on one machine. Every write is temp file + fsync + rename.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time

from ..spec.schema import upgrade

STATE_SCHEMA = 1


class LockTimeout(RuntimeError):
    pass


def atomic_write_json(path, document):
    import json  # state is only touched by commands that keep it; one-shot runs skip json
    directory = os.path.dirname(path)
    temp_path = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w") as temp_file:
            json.dump(document, temp_file, sort_keys=True, indent=1)
            temp_file.write("\n")
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.rename(temp_path, path)
    except BaseException:
        try:
            os.unlink(temp_path)
        except OSError:
            pass
        raise


def read_json(path):
    import json
    try:
        with open(path) as json_file:
            return json.load(json_file)
    except (OSError, ValueError):
        return None


class StateStore:
    def __init__(self, root=None):
        root = root or os.environ.get("NSFLEET_STATE_DIR") or "/"
        self.root = root
        self.run_dir = os.path.join(root, "run", "nsfleet")
        self.lib_dir = os.path.join(root, "var", "lib", "nsfleet")
        self.log_dir = os.path.join(root, "var", "log", "nsfleet")

    def state_path(self, name):
        return os.path.join(self.run_dir, name, "state.json")

    def spec_path(self, name):
        return os.path.join(self.lib_dir, name, "spec.json")

    def log_path(self, name):
        return os.path.join(self.log_dir, name + ".log")

    def lock_path(self, name):
        return os.path.join(self.run_dir, name + ".lock")

    def names(self):
        """Every workload with a spec, sorted."""
        try:
            entries = os.listdir(self.lib_dir)
        except OSError:
            return []
        return sorted(entry for entry in entries if os.path.isfile(os.path.join(self.lib_dir, entry, "spec.json")))

    def exists(self, name):
        return os.path.isfile(self.spec_path(name))

    def read_spec(self, name):
        """The stored spec, brought to this release's version (None when there is none)."""
        stored = read_json(self.spec_path(name))
        return None if stored is None else upgrade(stored)

    def read_state(self, name):
        return read_json(self.state_path(name))

    def write_spec(self, name, spec):
        os.makedirs(os.path.dirname(self.spec_path(name)), mode=0o700, exist_ok=True)
        atomic_write_json(self.spec_path(name), spec)

    def write_state(self, name, state):
        state = dict(state, schema=STATE_SCHEMA, name=name)
        os.makedirs(os.path.dirname(self.state_path(name)), mode=0o755, exist_ok=True)
        atomic_write_json(self.state_path(name), state)
        return state

    def update_state(self, name, **changes):
        state = self.read_state(name) or {}
        state.update(changes)
        return self.write_state(name, state)

    def open_log(self, name):
        os.makedirs(self.log_dir, mode=0o755, exist_ok=True)
        return os.open(self.log_path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)

    def remove(self, name):
        """Forget a workload: state, spec and log. Missing parts are fine."""
        import shutil  # costs milliseconds; only removal needs it

        shutil.rmtree(os.path.join(self.run_dir, name), ignore_errors=True)
        shutil.rmtree(os.path.join(self.lib_dir, name), ignore_errors=True)
        try:
            os.unlink(self.log_path(name))
        except OSError as error:
            if error.errno != errno.ENOENT:
                raise

    def lock(self, name, timeout=60.0):
        return WorkloadLock(self.lock_path(name), timeout)


class WorkloadLock:
    """flock on <name>.lock, waited for at most ``timeout`` seconds."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise LockTimeout("another nsfleet operation holds %s for over %ss" % (self.path, self.timeout))
                time.sleep(0.02)

    def __exit__(self, *exc_info):
        os.close(self.fd)
        self.fd = None
