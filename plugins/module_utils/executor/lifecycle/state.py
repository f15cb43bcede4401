# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state store on a host.

    <root>/run/nsfleet/<name>/state.json   live state (schema 1, read by the agent)
    <root>/run/nsfleet/<name>.lock         flock: one lifecycle operation at a time (gone with the workload)
    <root>/var/lib/nsfleet/<name>/spec.json desired spec, survives reboot
    <root>/var/lib/nsfleet/<name>/desired.json whether it was last asked to run (started) or not (stopped)
    <root>/var/log/nsfleet/<name>.log      the workload's stdout and stderr

``<root>`` is "/" unless --state-dir or NSFLEET_STATE_DIR says otherwise, so
tests can run several "hosts" on one machine. Every write is temp file +
rename, so no reader ever sees half a file; what must survive a reboot
(spec.json, desired.json) is fsynced first. Every path is built from a
validated name, so no name can reach outside the layout.

Reboots: state.json records the boot id. State from an earlier boot is read
without its processes (their PIDs now mean nothing) and a "running" status
reads "stale"; where the reboot emptied /run, desired.json says what the
workload was asked to be.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time

from ..host.boot import current_boot_id, is_earlier_boot
from ..spec.schema import upgrade
from ..spec.validate import SpecError, is_valid_name, validate_name

STATE_SCHEMA = 1
# What a state records about processes of its own boot only.
PROCESS_KEYS = ("supervisor", "init", "namespaces")
# What desired.json may say.
DESIRED_STATES = ("started", "stopped")


class LockTimeout(RuntimeError):
    pass


class NoSuchWorkload(RuntimeError):
    """The store holds no workload of this name (the CLI's exit code 3)."""

    def __init__(self, name):
        RuntimeError.__init__(self, "workload %r does not exist" % name)
        self.name = name


def resolve_root(option_value=None, environ=None):
    """The state root: --state-dir, else $NSFLEET_STATE_DIR, else /. Empty is refused: it must not mean /."""
    if option_value is not None:
        if not option_value:
            raise SpecError("--state-dir", "must not be empty (leave it out for /)")
        return option_value
    value = (os.environ if environ is None else environ).get("NSFLEET_STATE_DIR")
    if value is None:
        return "/"
    if not value:
        raise SpecError("NSFLEET_STATE_DIR", "is set but empty (unset it for /)")
    return value


def atomic_write_json(path, document, durable=True):
    """Replace ``path`` with ``document`` in one rename; ``durable``: on the disk before the rename."""
    from ..host import jsonio  # one-shot runs touch no state, and so import none of it
    directory = os.path.dirname(path)
    temp_path = os.path.join(directory, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "w") as temp_file:
            temp_file.write(jsonio.dumps(document, indent=1, sort_keys=True))
            temp_file.write("\n")
            temp_file.flush()
            if durable:
                os.fsync(temp_file.fileno())
        os.rename(temp_path, path)
    except BaseException:
        try:
            os.unlink(temp_path)
        except OSError:
            pass
        raise


def from_earlier_boot(state):
    """A state written before this boot, as it stands now: no process of it runs; a running one is stale."""
    state = dict((key, value) for key, value in state.items() if key not in PROCESS_KEYS)
    if state.get("status") in ("running", "orphaned"):
        state["status"] = "stale"
    return state


def read_json(path):
    from ..host import jsonio  # not the json package: a supervisor reads its state at start
    try:
        with open(path) as json_file:
            return jsonio.loads(json_file.read())
    except (OSError, ValueError):
        return None


class StateStore:
    def __init__(self, root=None):
        root = resolve_root(root)
        self.root = root
        self.run_dir = os.path.join(root, "run", "nsfleet")
        self.lib_dir = os.path.join(root, "var", "lib", "nsfleet")
        self.log_dir = os.path.join(root, "var", "log", "nsfleet")
        # Compiled seccomp filters, shared by the host's workloads (security.filter_cache); not a workload name.
        self.filter_cache_dir = os.path.join(self.run_dir, ".seccomp")

    def state_path(self, name):
        return os.path.join(self.run_dir, validate_name(name), "state.json")

    def spec_path(self, name):
        return os.path.join(self.lib_dir, validate_name(name), "spec.json")

    def desired_path(self, name):
        return os.path.join(self.lib_dir, validate_name(name), "desired.json")

    def log_path(self, name):
        return os.path.join(self.log_dir, validate_name(name) + ".log")

    def init_exit_path(self, name):
        """Where init writes its exit code: kept even when its supervisor was killed first."""
        return os.path.join(self.run_dir, validate_name(name), "init.exit")

    def open_init_exit(self, name):
        """A fresh exit record for the next instance, open for init to write."""
        return os.open(self.init_exit_path(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    def read_init_exit(self, name):
        """The exit code init recorded, or None when it recorded none."""
        try:
            with open(self.init_exit_path(name)) as record:
                return int(record.read().strip())
        except (OSError, ValueError):
            return None

    def lock_path(self, name):
        return os.path.join(self.run_dir, validate_name(name) + ".lock")

    def names(self):
        """Every workload with a spec, sorted; entries that are no workload name are not ours."""
        try:
            entries = os.listdir(self.lib_dir)
        except OSError:
            return []
        return sorted(entry for entry in entries
                      if is_valid_name(entry) and os.path.isfile(os.path.join(self.lib_dir, entry, "spec.json")))

    def exists(self, name):
        return os.path.isfile(self.spec_path(name))

    def has_traces(self, name):
        """Whether anything of ``name`` is on disk: its lock, or its spec or state directory, even a
        half-written one (a create killed before its spec was renamed into place leaves a temp file)."""
        paths = (self.lock_path(name), os.path.dirname(self.spec_path(name)), os.path.dirname(self.state_path(name)))
        return any(os.path.exists(path) for path in paths)

    def read_spec(self, name):
        """The stored spec, brought to this release's version (None when there is none)."""
        stored = read_json(self.spec_path(name))
        return None if stored is None else upgrade(stored)

    def read_state(self, name):
        """The live state; from an earlier boot, without its processes (see ``from_earlier_boot``).

        None when there is none. Where a reboot emptied /run, a workload last
        asked to run is "stale" and one asked to stop is "stopped".
        """
        state = read_json(self.state_path(name))
        if state is None:
            desired = self.read_desired(name)
            if desired is None or not is_earlier_boot(desired.get("boot_id")):
                return None
            return {"status": "stale" if desired["state"] == "started" else "stopped", "boot_id": desired["boot_id"]}
        return from_earlier_boot(state) if is_earlier_boot(state.get("boot_id")) else state

    def read_desired(self, name):
        """{"state": started|stopped, "boot_id": ...}: what the workload was last asked to be, or None."""
        desired = read_json(self.desired_path(name))
        if not isinstance(desired, dict) or desired.get("state") not in DESIRED_STATES:
            return None
        return desired

    def write_desired(self, name, desired_state):
        """Record what the workload was asked to be; written only when it changed (it survives reboots)."""
        current = self.read_desired(name)
        if current is not None and current["state"] == desired_state and current.get("boot_id") == current_boot_id():
            return
        atomic_write_json(self.desired_path(name), {"state": desired_state, "boot_id": current_boot_id()})

    def write_spec(self, name, spec):
        os.makedirs(os.path.dirname(self.spec_path(name)), mode=0o700, exist_ok=True)
        atomic_write_json(self.spec_path(name), spec)

    def write_state(self, name, state):
        state = dict(state, schema=STATE_SCHEMA, name=name, boot_id=current_boot_id())
        os.makedirs(os.path.dirname(self.state_path(name)), mode=0o755, exist_ok=True)
        # Live state is under /run, gone at reboot: an fsync per update (several per start) would buy nothing.
        atomic_write_json(self.state_path(name), state, durable=False)
        return state

    def update_state(self, name, **changes):
        state = self.read_state(name) or {}
        state.update(changes)
        return self.write_state(name, state)

    def open_log(self, name):
        os.makedirs(self.log_dir, mode=0o755, exist_ok=True)
        return os.open(self.log_path(name), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)

    def remove(self, name, keep_logs=False):
        """Forget a workload: state, spec and (unless ``keep_logs``) log. Missing parts are fine.

        The lock file goes with WorkloadLock.discard, by its holder.
        """
        import shutil  # costs milliseconds; only removal needs it

        shutil.rmtree(os.path.dirname(self.state_path(name)), ignore_errors=True)
        shutil.rmtree(os.path.dirname(self.spec_path(name)), ignore_errors=True)
        if not keep_logs:
            from ..runtime.log_writer import rotated_paths

            for path in [self.log_path(name)] + rotated_paths(self.log_path(name)):
                _unlink_if_present(path)

    def lock(self, name, timeout=60.0):
        return WorkloadLock(self.lock_path(name), timeout)


def _unlink_if_present(path):
    try:
        os.unlink(path)
    except OSError as error:
        if error.errno != errno.ENOENT:
            raise


def _same_file(fd, path):
    """Whether ``path`` still names the file open at ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


class WorkloadLock:
    """flock on <name>.lock, waited for at most ``timeout`` seconds.

    The holder may ``discard`` the file (rm leaves no lock behind). A waiter
    that then gets the flock holds it on an unlinked file, so after every
    acquisition the path must still name the locked file; else it retries on
    the path's new file.
    """

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        deadline = time.monotonic() + self.timeout
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                self._flock(fd, deadline)
                if _same_file(fd, self.path):
                    self.fd = fd
                    return self
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # discarded while we waited: lock the file that replaced it

    def _flock(self, fd, deadline):
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout("another nsfleet operation holds %s for over %ss" % (self.path, self.timeout))
                time.sleep(0.02)

    def discard(self):
        """Remove the lock file while holding it: the workload is gone, so is its lock."""
        _unlink_if_present(self.path)

    def __exit__(self, *exc_info):
        os.close(self.fd)
        self.fd = None
