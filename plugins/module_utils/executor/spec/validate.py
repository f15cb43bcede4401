# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Workload spec: validation, normalisation and the spec hash.

``validate(raw, workload_exists, filter_cache_dir)`` returns the normalised
spec or raises ``SpecError`` naming the parameter. It only reads the host; it
never creates anything but a compiled seccomp filter in its cache, so it
serves check mode as well as create.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ..host import signals
from .schema import (DEFAULT_ID_MAP, FIELDS, ID_MAP_OPTIONS, KNOWN_KEYS, MOUNT_FLAG_OPTIONS, MOUNT_NEUTRAL_OPTIONS, MOUNT_TYPES,
                     NAMESPACES, RESTART_POLICIES, SECCOMP_BUILTIN, SPEC_VERSION, TMPFS_DATA_OPTIONS, copy_default,
                     hashed_view)
from .schema import DEFAULT_PATH  # noqa: F401 - the runtime's default PATH, defined with the spec

# Checked by hand, not with re: importing re costs more than a whole one-shot run.
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_NAME_REST = _NAME_FIRST | frozenset("_.-")
_HOSTNAME_FIRST = _NAME_FIRST | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HOSTNAME_REST = _HOSTNAME_FIRST | frozenset(".-")
# execve's bound on one argument or environment string (32 pages).
MAX_ARG_STRLEN = 131072
# The largest uid or gid: (uid_t)-1 means "no change" to the kernel.
MAX_ID = 4294967294
# Label keys: letters, digits and "_.-/", starting with a letter or digit (like Kubernetes' label keys).
_LABEL_KEY_FIRST = _HOSTNAME_FIRST
_LABEL_KEY_REST = _HOSTNAME_FIRST | frozenset("_.-/")
MAX_LABEL_KEY = 63
MAX_LABEL_VALUE = 256
# The kernel takes at most this many lines in a uid_map or gid_map (since Linux 4.15).
MAX_ID_MAP_LINES = 340
# stop_timeout's bound: a day. Past it, a stop would hold the workload's lock for ever in practice.
MAX_STOP_TIMEOUT_SECONDS = 86400
# The log's bounds: a size a rotation copy can handle, and a number of files.
MIN_LOG_SIZE = 4096
MAX_LOG_SIZE = 1 << 40
MAX_LOG_FILES = 100
_SIZE_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class SpecError(ValueError):
    """A spec a user can fix: ``param`` names the parameter, the message says why."""

    def __init__(self, param, reason):
        ValueError.__init__(self, "%s: %s" % (param, reason))
        self.param = param
        self.reason = reason


def _matches(text, first, rest, longest):
    return (isinstance(text, str) and 0 < len(text) <= longest and text[0] in first
            and all(character in rest for character in text[1:]))


def is_valid_name(name):
    """^[a-z0-9][a-z0-9_.-]{0,62}$, the workload name contract."""
    return _matches(name, _NAME_FIRST, _NAME_REST, 63)


def validate_name(name, param="name"):
    if not is_valid_name(name):
        raise SpecError(param, "%r is not a valid workload name (lower-case letters, digits, '_', '.', '-'; "
                               "starts with a letter or digit; at most 63 characters)" % (name,))
    return name


def signal_name(value, param="stop_signal"):
    """'TERM', 'SIGTERM', 15 or '15' -> 'SIGTERM'."""
    text = str(value).strip().upper()
    try:
        number = int(text)
    except ValueError:
        number = None
    try:
        if number is not None:
            return signals.name_of(number)
        name = text if text.startswith("SIG") else "SIG" + text
        signals.number(name)
        return name
    except KeyError:
        raise SpecError(param, "unknown signal %r" % (value,))


def resolve_in_rootfs(rootfs, path):
    """The host path of ``path`` as seen inside ``rootfs`` ('/' when there is none)."""
    if not rootfs:
        return path
    return os.path.join(rootfs, path.lstrip("/"))


def _is_within(base, path):
    base = os.path.realpath(base)
    real = os.path.realpath(path)
    return real == base or real.startswith(base.rstrip("/") + "/")


def _looks_executable(path):
    try:
        with open(path, "rb") as program:
            magic = program.read(4)
    except OSError:
        return False
    return magic == b"\x7fELF" or magic[:2] == b"#!"


def label_items(param, labels):
    """``labels`` (or a selector) as {key: text}; numbers and booleans become their JSON text, as in YAML."""
    if not isinstance(labels, dict):
        raise SpecError(param, "must be a mapping of label name to value")
    result = {}
    for key, value in labels.items():
        if not _matches(key, _LABEL_KEY_FIRST, _LABEL_KEY_REST, MAX_LABEL_KEY):
            raise SpecError(param, "%r is not a valid label name (letters, digits, '_', '.', '-', '/'; starts with a "
                                   "letter or digit; at most %d characters)" % (key, MAX_LABEL_KEY))
        if isinstance(value, (dict, list)) or value is None:
            raise SpecError("%s.%s" % (param, key), "must be a string, got %r" % (value,))
        text = value if isinstance(value, str) else _json_text(value)
        if len(text) > MAX_LABEL_VALUE or "\n" in text:
            raise SpecError("%s.%s" % (param, key), "must be one line of at most %d characters" % MAX_LABEL_VALUE)
        result[key] = text
    return result


def key_values(param, words):
    """KEY=VALUE words (``--label``, ``--selector``) as a dict; the value may be empty, the "=" may not be missing."""
    found = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise SpecError(param, "%r: use KEY=VALUE" % word)
        found[key] = value
    return found


def spec_hash(spec):
    """sha256 of what the spec asks for beyond the defaults: equal specs hash equally across releases."""
    import hashlib  # OpenSSL costs milliseconds; one-shot runs never hash
    import json
    canonical = json.dumps(hashed_view(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Validator:
    def __init__(self, raw, workload_exists, filter_cache_dir):
        self.raw = raw
        self.workload_exists = workload_exists
        self.filter_cache_dir = filter_cache_dir

    def run(self):
        raw = self.raw
        if not isinstance(raw, dict):
            raise SpecError("spec", "must be a JSON object")
        unknown = sorted(set(raw) - set(KNOWN_KEYS) - {"spec_version"})
        if unknown:
            raise SpecError(unknown[0], "unknown parameter (known: %s)" % ", ".join(KNOWN_KEYS))
        _refuse_nul_bytes(raw, "")
        spec = {}
        for field in FIELDS:  # in table order: each field may use those before it
            value = raw.get(field.name)
            if value is None:
                value = copy_default(field)
            spec[field.name] = getattr(self, field.name)(value, spec)
        spec["spec_version"] = SPEC_VERSION
        return spec

    @staticmethod
    def name(value, _spec):
        return validate_name(value)

    def init(self, value, _spec):
        return self.boolean("init", value)

    def readonly_rootfs(self, value, spec):
        return self._needs_private_mount("readonly_rootfs", self.boolean("readonly_rootfs", value), spec)

    def host_dev(self, value, spec):
        return self._needs_private_mount("host_dev", self.boolean("host_dev", value), spec)

    def devices(self, devices, spec):
        if not isinstance(devices, list) or not all(isinstance(path, str) for path in devices):
            raise SpecError("devices", "must be a list of device paths such as /dev/fuse")
        result = []
        for index, path in enumerate(devices):
            param = "devices[%d]" % index
            normal = os.path.normpath(path) if path.startswith("/") else path
            if not normal.startswith("/dev/") or ".." in path.split("/"):
                raise SpecError(param, "%r is not a path under /dev" % (path,))
            try:
                mode = os.stat(normal).st_mode
            except OSError as error:
                raise SpecError(param, "%s: %s" % (normal, error.strerror))
            if not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
                raise SpecError(param, "%s is not a device" % normal)
            result.append(normal)
        return self._needs_private_mount("devices", result, spec)

    @staticmethod
    def _needs_private_mount(param, value, spec):
        if value and spec["namespaces"]["mount"] != "private":
            raise SpecError(param, "needs a private mount namespace (namespaces.mount is %r)"
                            % spec["namespaces"]["mount"])
        return value

    @staticmethod
    def capabilities(value, _spec):
        from ..security import capabilities
        if not isinstance(value, dict):
            raise SpecError("capabilities", "must be a mapping with add and drop lists")
        unknown = sorted(set(value) - {"add", "drop"})
        if unknown:
            raise SpecError("capabilities.%s" % unknown[0], "unknown key (known: add, drop)")
        last = capabilities.last_supported()
        result = {}
        for key in ("add", "drop"):
            names = value.get(key) or []
            if not isinstance(names, list):
                raise SpecError("capabilities." + key, "must be a list of capability names")
            normalised = set()
            for index, name in enumerate(names):
                param = "capabilities.%s[%d]" % (key, index)
                try:
                    normal = capabilities.normalise_name(name)
                except KeyError:
                    raise SpecError(param, "unknown capability %r (names as in capabilities(7), with or "
                                           "without CAP_, or ALL)" % (name,))
                if normal != capabilities.ALL and capabilities.NUMBERS[normal] > last:
                    raise SpecError(param, "%s is not known to this kernel (its last is %s)"
                                    % (normal, capabilities.NAMES[last]))
                normalised.add(normal)
            result[key] = sorted(normalised)
        return result

    @staticmethod
    def no_new_privileges(value, _spec):
        return _Validator.boolean("no_new_privileges", value)

    def seccomp(self, value, spec):
        if not isinstance(value, str) or not value:
            raise SpecError("seccomp", "must be default, unconfined or the absolute path of a JSON profile")
        if value not in SECCOMP_BUILTIN:
            if not os.path.isabs(value):
                raise SpecError("seccomp", "%r is neither default, unconfined nor an absolute path" % value)
            value = os.path.normpath(value)
            if not os.path.isfile(value):
                raise SpecError("seccomp", "profile %s does not exist" % value)
        if value == "unconfined":
            return value
        from ..security import confine, seccomp
        try:
            # The filter is compiled now (in a child, as at start) or found in the cache: a host without
            # libseccomp, or a profile it cannot compile, is refused before anything is made.
            confine.prepare(dict(spec, seccomp=value), self.filter_cache_dir, isolated=True, keep=False)
        except seccomp.SeccompError as error:
            raise SpecError("seccomp", str(error))
        return value

    @staticmethod
    def apparmor_profile(value, _spec):
        return _Validator._lsm_label("apparmor_profile", value, "apparmor_problem")

    @staticmethod
    def selinux_label(value, _spec):
        return _Validator._lsm_label("selinux_label", value, "selinux_problem")

    @staticmethod
    def _lsm_label(param, value, problem_of):
        """``problem_of``: the security.lsm function that checks the host, imported only for a label."""
        if value is None or value == "":
            return None
        if not isinstance(value, str) or "\n" in value:
            raise SpecError(param, "must be one line of text, got %r" % (value,))
        from ..security import lsm
        problem = getattr(lsm, problem_of)(value)
        if problem:
            raise SpecError(param, problem)
        return value

    @staticmethod
    def stop_signal(value, _spec):
        return signal_name(value)

    @staticmethod
    def boolean(param, value):
        if not isinstance(value, bool):
            raise SpecError(param, "must be true or false, got %r" % (value,))
        return value

    @staticmethod
    def rootfs(rootfs, _spec):
        if not rootfs:
            return None
        if not isinstance(rootfs, str) or not os.path.isabs(rootfs):
            raise SpecError("rootfs", "must be an absolute path, got %r" % (rootfs,))
        rootfs = os.path.normpath(rootfs)
        real = os.path.realpath(rootfs)
        if real == "/":
            raise SpecError("rootfs", "%s is the host's root; leave rootfs unset instead" % rootfs)
        if real != rootfs:
            # A symlink could be pointed elsewhere between two starts: keep the real path.
            raise SpecError("rootfs", "%s leads through a symlink to %s; give the real path" % (rootfs, real))
        if not os.path.isdir(rootfs):
            raise SpecError("rootfs", "%s is not an existing directory" % rootfs)
        proc = os.path.join(rootfs, "proc")
        if os.path.islink(proc):
            raise SpecError("rootfs", "%s is a symlink; /proc must be a real directory" % proc)
        if os.path.exists(proc) and not os.path.isdir(proc):
            raise SpecError("rootfs", "%s is not a directory" % proc)
        return rootfs

    def namespaces(self, namespaces, spec):
        if not isinstance(namespaces, dict):
            raise SpecError("namespaces", "must be a mapping of namespace type to value")
        result = dict((kind.name, kind.default) for kind in NAMESPACES.values())
        for nstype, value in namespaces.items():
            param = "namespaces.%s" % nstype
            if nstype not in NAMESPACES:
                raise SpecError(param, "unknown namespace type (known: %s)" % ", ".join(NAMESPACES))
            result[nstype] = self.namespace_value(param, NAMESPACES[nstype], value, spec["name"])
        if spec["hostname"] and "uts" not in (self.raw.get("namespaces") or {}):
            result["uts"] = "private"  # a hostname of its own needs a UTS namespace of its own
        if spec["rootfs"] and result["mount"] != "private":
            raise SpecError("rootfs", "needs a private mount namespace (namespaces.mount is %r)" % result["mount"])
        return result

    def namespace_value(self, param, nskind, value, name):
        if not isinstance(value, str) or not value:
            raise SpecError(param, "must be private, host, workload:<name> or path:<file>")
        kind, _sep, target = value.partition(":")
        if kind in ("private", "host", "workload", "path") and kind not in nskind.values:
            raise SpecError(param, nskind.refused or "%r is not accepted for this namespace" % value)
        if value in ("private", "host"):
            return value
        if kind == "workload":
            validate_name(target, param)
            if target == name:
                raise SpecError(param, "a workload cannot share its own namespace")
            if not self.workload_exists(target):
                raise SpecError(param, "workload %r does not exist" % target)
            return value
        if kind == "path":
            if not os.path.isabs(target) or not os.path.exists(target):
                raise SpecError(param, "%r is not an existing absolute path" % target)
            _check_namespace_file(param, nskind, target)
            return "path:" + target
        raise SpecError(param, "unknown value %r (use private, host, workload:<name> or path:<file>)" % value)

    def uid_map(self, entries, spec):
        return self.id_map("uid_map", entries, spec)

    def gid_map(self, entries, spec):
        return self.id_map("gid_map", entries, spec)

    @staticmethod
    def id_map(param, entries, spec):
        """A uid_map or gid_map: valid lines the kernel will take, only with a private user namespace."""
        if not isinstance(entries, list):
            raise SpecError(param, "must be a list of {inside, outside, count}")
        user_namespace = spec["namespaces"]["user"]
        if entries and user_namespace != "private":
            raise SpecError(param, "needs namespaces.user: private (it is %r)" % user_namespace)
        if len(entries) > MAX_ID_MAP_LINES:
            raise SpecError(param, "has %d lines; the kernel takes at most %d" % (len(entries), MAX_ID_MAP_LINES))
        result = [_id_map_line("%s[%d]" % (param, index), entry) for index, entry in enumerate(entries)]
        for side in ("inside", "outside"):
            ranges = sorted(result, key=lambda line: line[side])
            for lower, upper in zip(ranges, ranges[1:]):
                if lower[side] + lower["count"] > upper[side]:
                    raise SpecError(param, "%s ranges overlap: %d-%d and %d-%d" % (
                        side, lower[side], lower[side] + lower["count"] - 1, upper[side],
                        upper[side] + upper["count"] - 1))
        if user_namespace == "private" and not _maps_id(result or DEFAULT_ID_MAP, 0):
            raise SpecError(param, "must map id 0 inside: the workload's set-up and init run as its root")
        # One form for equal maps: lines in order of inside, and the default as no map at all.
        result.sort(key=lambda line: line["inside"])
        return [] if result == list(DEFAULT_ID_MAP) else result

    @staticmethod
    def env(env, _spec):
        if not isinstance(env, dict):
            raise SpecError("env", "must be a mapping of variable name to value")
        result = {}
        for key, value in env.items():
            if not isinstance(key, str) or not key or "=" in key or "\0" in key:
                raise SpecError("env", "invalid variable name %r" % (key,))
            if isinstance(value, (dict, list)) or value is None:
                raise SpecError("env.%s" % key, "must be a string, got %r" % (value,))
            result[key] = value if isinstance(value, str) else _json_text(value)
        return result

    @staticmethod
    def command(command, spec):
        rootfs, env = spec["rootfs"], spec["env"]
        if isinstance(command, str):
            raise SpecError("command", "must be a list of arguments, not a string")
        if not isinstance(command, list) or not command:
            raise SpecError("command", "must be a non-empty list")
        if not all(isinstance(arg, str) for arg in command):
            raise SpecError("command", "every argument must be a string")
        if not command[0]:
            raise SpecError("command", "the program name is empty")
        _check_exec_size(command, env)
        program = command[0]
        if "/" in program:
            candidates = [program if os.path.isabs(program) else None]
            if candidates[0] is None:
                raise SpecError("command", "%r: a program path must be absolute" % program)
        else:
            search_path = env.get("PATH", DEFAULT_PATH)
            candidates = [os.path.join(directory, program) for directory in search_path.split(":") if directory]
        for candidate in candidates:
            host_path = resolve_in_rootfs(rootfs, candidate)
            if rootfs and not _is_within(rootfs, host_path):
                continue
            if os.path.isfile(host_path):
                if not os.access(host_path, os.X_OK):
                    raise SpecError("command", "%s is not executable" % candidate)
                if not _looks_executable(host_path):
                    raise SpecError("command", "%s is not a program (no ELF header or #! line)" % candidate)
                return list(command)
        where = " in rootfs %s" % rootfs if rootfs else ""
        raise SpecError("command", "%r not found%s" % (program, where))

    @staticmethod
    def cwd(cwd, spec):
        rootfs = spec["rootfs"]
        if not cwd:
            return "/"
        if not isinstance(cwd, str) or not os.path.isabs(cwd):
            raise SpecError("cwd", "must be an absolute path, got %r" % (cwd,))
        if not _is_directory_inside(rootfs, cwd):
            raise SpecError("cwd", "%s is not a directory%s" % (cwd, " in the rootfs" if rootfs else ""))
        return os.path.normpath(cwd)

    @staticmethod
    def user(user, spec):
        if user is None or user == "":
            return None
        if isinstance(user, dict) and set(user) == {"uid", "gid"}:
            resolved = dict(user)  # already resolved: a normalised spec validates as itself
            if not all(isinstance(resolved[key], int) and not isinstance(resolved[key], bool) for key in user):
                raise SpecError("user", "uid and gid must be numbers, got %r" % (user,))
        else:
            from ..host import users  # only a spec with a user needs the passwd lookups
            try:
                resolved = users.resolve(str(user), spec["rootfs"])
            except LookupError as error:
                raise SpecError("user", str(error))
        for key in ("uid", "gid"):
            if not 0 <= resolved[key] <= MAX_ID:
                raise SpecError("user", "%s %d is out of range (0 to %d)" % (key, resolved[key], MAX_ID))
            id_map = spec["%s_map" % key] or DEFAULT_ID_MAP
            if spec["namespaces"]["user"] == "private" and not _maps_id(id_map, resolved[key]):
                raise SpecError("user", "%s %d is not mapped by %s_map, so it cannot exist in the user namespace"
                                % (key, resolved[key], key))
        return resolved

    @staticmethod
    def hostname(hostname, _spec):
        if not hostname:
            return None
        if not _matches(hostname, _HOSTNAME_FIRST, _HOSTNAME_REST, 64):
            raise SpecError("hostname", "%r is not a valid hostname" % (hostname,))
        return hostname

    def mounts(self, mounts, spec):
        rootfs, namespaces = spec["rootfs"], spec["namespaces"]
        if not isinstance(mounts, list):
            raise SpecError("mounts", "must be a list")
        if mounts and namespaces["mount"] != "private":
            raise SpecError("mounts", "need a private mount namespace")
        return [self.mount(index, entry, rootfs) for index, entry in enumerate(mounts)]

    @staticmethod
    def mount(index, entry, rootfs):
        param = "mounts[%d]" % index
        if not isinstance(entry, dict):
            raise SpecError(param, "must be a mapping with src, dest, type")
        unknown = sorted(set(entry) - {"src", "dest", "type", "readonly", "options"})
        if unknown:
            raise SpecError("%s.%s" % (param, unknown[0]), "unknown key")
        mount_type = entry.get("type") or "bind"
        if mount_type not in MOUNT_TYPES:
            raise SpecError(param + ".type", "must be bind or tmpfs, got %r" % (mount_type,))
        dest = entry.get("dest")
        if not isinstance(dest, str) or not os.path.isabs(dest):
            raise SpecError(param + ".dest", "must be an absolute path, got %r" % (dest,))
        if ".." in dest.split("/"):
            raise SpecError(param + ".dest", "%s escapes the rootfs" % dest)
        dest = os.path.normpath(dest)
        host_dest = resolve_in_rootfs(rootfs, dest)
        if rootfs:
            # Walk up to the deepest existing part: a symlink there must not lead out.
            existing = host_dest
            while not os.path.lexists(existing):
                existing = os.path.dirname(existing)
            if not _is_within(rootfs, existing):
                raise SpecError(param + ".dest", "%s escapes the rootfs through a symlink" % dest)
        elif not os.path.exists(host_dest):
            raise SpecError(param + ".dest", "%s does not exist (without a rootfs, mounts cover existing paths)" % dest)
        src = entry.get("src")
        if mount_type == "bind":
            if not isinstance(src, str) or not os.path.isabs(src):
                raise SpecError(param + ".src", "must be an absolute path, got %r" % (src,))
            if not os.path.exists(src):
                raise SpecError(param + ".src", "%s does not exist" % src)
            src = os.path.normpath(src)
        else:
            src = "tmpfs"
        options = entry.get("options") or ""
        if isinstance(options, list):
            options = ",".join(str(option) for option in options)
        if not isinstance(options, str):
            raise SpecError(param + ".options", "must be a string or a list of strings")
        _check_mount_options(param + ".options", mount_type, options)
        readonly = entry.get("readonly", False)
        if not isinstance(readonly, bool):
            raise SpecError(param + ".readonly", "must be true or false")
        return {"src": src, "dest": dest, "type": mount_type, "readonly": readonly, "options": options}

    @staticmethod
    def stop_timeout(value, _spec):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError("stop_timeout", "must be a number of seconds, got %r" % (value,))
        if not 0 <= value <= MAX_STOP_TIMEOUT_SECONDS:  # also refuses NaN, which compares false
            raise SpecError("stop_timeout", "must be between 0 and %d seconds, got %r" % (MAX_STOP_TIMEOUT_SECONDS, value))
        # One form for equal timeouts: 10.0 from a module and 10 from a file are the same spec.
        return int(value) if float(value).is_integer() else float(value)

    @staticmethod
    def limits(value, _spec):
        if value is None or value == {}:
            return {}  # most specs: no parsing module to import on the start path
        from . import limits as limits_module  # only specs that carry limits pay for it
        from ..host.cgroups import Hierarchies

        limits = limits_module.validate_limits(value)
        # Refused now, not at every start: a limit this host's cgroups cannot apply.
        missing = Hierarchies.read().missing_controllers(limits) if limits else {}
        if missing:
            first = sorted(missing)[0]
            raise SpecError("limits.%s" % first, missing[first])
        return limits

    @staticmethod
    def cgroup_parent(value, _spec):
        if value is None or value == "":
            return None  # the default, without importing the parser
        from .limits import validate_cgroup_parent
        return validate_cgroup_parent(value)

    @staticmethod
    def labels(labels, _spec):
        return label_items("labels", labels)

    @staticmethod
    def restart_policy(value, _spec):
        if value not in RESTART_POLICIES:
            raise SpecError("restart_policy", "must be one of %s, got %r" % (", ".join(RESTART_POLICIES), value))
        return value

    @staticmethod
    def log_max_size(value, _spec):
        size = parse_size(value)
        if size is None or not MIN_LOG_SIZE <= size <= MAX_LOG_SIZE:
            raise SpecError("log_max_size", "must be a size from 4k to 1t (bytes, or with a k, m, g or t suffix), "
                                            "got %r" % (value,))
        return size

    @staticmethod
    def log_max_files(value, _spec):
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LOG_FILES:
            raise SpecError("log_max_files", "must be a whole number from 1 to %d, got %r" % (MAX_LOG_FILES, value))
        return value


def parse_size(value):
    """10485760, "10485760", "10m", "10M", "10MiB" -> bytes (binary units); None when it is no size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    for suffix in ("ib", "b"):
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[:-len(suffix)]
            break
    multiplier = 1
    if text[-1:] in _SIZE_UNITS:
        multiplier = _SIZE_UNITS[text[-1]]
        text = text[:-1]
    return int(text) * multiplier if text.isdigit() else None


def _id_map_line(param, entry):
    """One {inside, outside, count} line: whole numbers, ranges within 0..MAX_ID, count at least 1."""
    keys = tuple(option.name for option in ID_MAP_OPTIONS)
    if not isinstance(entry, dict):
        raise SpecError(param, "%r must be a mapping with %s (INSIDE:OUTSIDE:COUNT on the command line)"
                        % (entry, ", ".join(keys)))
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        raise SpecError("%s.%s" % (param, unknown[0]), "unknown key (known: %s)" % ", ".join(keys))
    line = {}
    for key in keys:
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError("%s.%s" % (param, key), "must be a whole number, got %r" % (value,))
        line[key] = value
    if line["count"] < 1:
        raise SpecError(param + ".count", "must be at least 1, got %d" % line["count"])
    for key in ("inside", "outside"):
        last = line[key] + line["count"] - 1
        if line[key] < 0 or last > MAX_ID:
            raise SpecError(param + "." + key, "the range %d-%d is out of range (0 to %d)" % (line[key], last, MAX_ID))
    return line


def _maps_id(id_map, wanted):
    return any(line["inside"] <= wanted < line["inside"] + line["count"] for line in id_map)


def _is_directory_inside(rootfs, path):
    """Whether ``path`` is a directory as the workload will see it: symlinks resolved inside the rootfs."""
    if not rootfs:
        return os.path.isdir(path)
    from ..security import paths
    root_fd = paths.open_root(rootfs)
    try:
        found = paths.open_in_root(root_fd, path)
    except OSError:
        return False
    finally:
        os.close(root_fd)
    try:
        return stat.S_ISDIR(os.fstat(found).st_mode)
    finally:
        os.close(found)


def _refuse_nul_bytes(value, param):
    """No string the kernel takes may hold a NUL: it would end the string early, or fail at start."""
    if isinstance(value, str):
        if "\0" in value:
            raise SpecError(param or "spec", "contains a NUL byte")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = "%s.%s" % (param, key) if param else str(key)
            _refuse_nul_bytes(key, where)
            _refuse_nul_bytes(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul_bytes(item, "%s[%d]" % (param, index))


def _check_namespace_file(param, nskind, path):
    """A path: value must name a namespace of that very kind, or setns fails at every start."""
    import fcntl
    from ..host.libc import NS_GET_NSTYPE
    from ..runtime.namespaces import CLONE_FLAGS
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise SpecError(param, "%s: %s" % (path, error.strerror))
    try:
        found = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        raise SpecError(param, "%s is not a namespace file" % path)
    finally:
        os.close(fd)
    if found != CLONE_FLAGS[nskind.name]:
        raise SpecError(param, "%s is not a %s namespace" % (path, nskind.name))


def _check_exec_size(command, env):
    """What execve would refuse with E2BIG, refused now: a string past MAX_ARG_STRLEN, or all past ARG_MAX."""
    total = 0
    for param, text in [("command", arg) for arg in command] + [
            ("env.%s" % key, "%s=%s" % (key, value)) for key, value in env.items()]:
        size = len(text.encode("utf-8", "surrogateescape")) + 1
        if size > MAX_ARG_STRLEN:
            raise SpecError(param, "is %d bytes; the kernel takes at most %d per string" % (size, MAX_ARG_STRLEN))
        total += size + 8  # and a pointer
    limit = os.sysconf("SC_ARG_MAX")
    if total > limit:
        raise SpecError("command", "command and env take %d bytes; the kernel takes at most %d" % (total, limit))


def _check_mount_options(param, mount_type, options):
    """Refuse what would be ignored or what the kernel would refuse at start."""
    for option in options.split(",") if options else ():
        if option in MOUNT_FLAG_OPTIONS or option in MOUNT_NEUTRAL_OPTIONS:
            continue
        key, sep, value = option.partition("=")
        if mount_type == "tmpfs" and key in TMPFS_DATA_OPTIONS and sep and value and "\0" not in value:
            problem = _tmpfs_value_problem(key, value)
            if problem:
                raise SpecError(param, "%r: %s" % (option, problem))
            continue
        known = MOUNT_FLAG_OPTIONS + MOUNT_NEUTRAL_OPTIONS + (
            tuple(name + "=" for name in TMPFS_DATA_OPTIONS) if mount_type == "tmpfs" else ())
        raise SpecError(param, "%r is not a %s mount option (known: %s)" % (option, mount_type, ", ".join(known)))


_SIZE_SUFFIXES = "kKmMgGtTpPeE"
_HUGE_VALUES = ("never", "always", "within_size", "advise", "deny", "force")
_MPOL_VALUES = ("default", "prefer", "bind", "interleave", "local")


def _is_size(text, percent_allowed):
    """What tmpfs's memparse takes: digits, then one k/m/g/t/p/e suffix (or %, for size)."""
    digits = text[:-1] if text[-1:] in _SIZE_SUFFIXES or (percent_allowed and text.endswith("%")) else text
    return digits.isdigit() and digits.isascii()


def _tmpfs_value_problem(key, value):
    """Why the kernel's tmpfs would refuse ``key=value`` at mount time, or None."""
    if key in ("size", "nr_blocks", "nr_inodes") and not _is_size(value, key == "size"):
        return "must be a number with an optional k, m, g suffix%s" % (" or a percentage" if key == "size" else "")
    if key == "mode" and not (value.isascii() and value.isdigit() and set(value) <= set("01234567")
                              and int(value, 8) <= 0o7777):
        return "must be an octal mode up to 7777"
    if key in ("uid", "gid") and not (value.isascii() and value.isdigit() and int(value) <= MAX_ID):
        return "must be a number from 0 to %d" % MAX_ID
    if key == "huge" and value not in _HUGE_VALUES:
        return "must be one of %s" % ", ".join(_HUGE_VALUES)
    if key == "mpol" and value.partition(":")[0] not in _MPOL_VALUES:
        return "must start with one of %s" % ", ".join(_MPOL_VALUES)
    return None


def _json_text(value):
    import json
    return json.dumps(value)


def validate(raw, workload_exists, filter_cache_dir=None):
    """Normalise ``raw`` into a spec; ``workload_exists(name)`` answers for workload:<name>.

    ``filter_cache_dir``: where compiled seccomp filters are kept (the store's).
    """
    return _Validator(raw, workload_exists, filter_cache_dir).run()
