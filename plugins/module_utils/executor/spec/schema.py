# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of spec fields.

Every spec field is a ``Field`` here: its type, its default, its choices and
sub-options, and its ``nsfleet run`` flag. Validation (``validate.py``), the
hash, the CLI's ``run`` flags and the modules' argument specs are derived
from this table; a unit test checks the modules' DOCUMENTATION against it.

Upgrade rule: a field added by a later release has a default, and the hash
leaves out every field equal to its default, so a spec stored by an earlier
release hashes as it did when it is read back. ``SPEC_VERSION`` is stored with
the spec; specs without one were written by release 0.1 (version 1).

Cheap to import: the one-shot ``nsfleet run`` path reads it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SPEC_VERSION = 2
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class NamespaceKind:
    """A namespace type of ``namespaces``: its default and which values it accepts.

    ``values``: "private", "host", "workload" (workload:<name>), "path" (path:<file>).
    ``proc_name``: its name under /proc/PID/ns/.
    """

    def __init__(self, name, proc_name, default, values, refused=None):
        self.name = name
        self.proc_name = proc_name
        self.default = default
        self.values = values
        self.refused = refused  # why the values it does not accept are refused


ALL_NAMESPACE_VALUES = ("private", "host", "workload", "path")
NAMESPACE_KINDS = (
    NamespaceKind("pid", "pid", "private", ALL_NAMESPACE_VALUES),
    NamespaceKind("mount", "mnt", "private", ALL_NAMESPACE_VALUES),
    NamespaceKind("uts", "uts", "host", ALL_NAMESPACE_VALUES),
    NamespaceKind("ipc", "ipc", "host", ALL_NAMESPACE_VALUES),
    NamespaceKind("net", "net", "host", ALL_NAMESPACE_VALUES),
    NamespaceKind("cgroup", "cgroup", "host", ALL_NAMESPACE_VALUES),
    NamespaceKind("user", "user", "host", ALL_NAMESPACE_VALUES),
)
NAMESPACES = dict((kind.name, kind) for kind in NAMESPACE_KINDS)
NAMESPACE_DEFAULTS = dict((kind.name, kind.default) for kind in NAMESPACE_KINDS)


class Field:
    """One spec field.

    ``type``: the Ansible option type (str, path, list, dict, bool, float, int).
    ``default``: the normalised value when the field is not given; the hash
    leaves the field out when it has this value.
    ``module_default``: the default the module's argument spec shows, when it
    differs from None (None: the module sends nothing and the executor decides).
    ``cli``: the ``nsfleet run`` flags; ``cli_kind`` as in ``cli.arguments.Option``.
    ``hashed``: False for metadata (labels): stored with the spec, but a change
    is written in place and neither recreates nor restarts the workload.
    """

    def __init__(self, name, type, default=None, module_default=None, elements=None, choices=None, options=None,
                 required=False, cli=None, cli_kind="value", cli_metavar="VALUE", cli_help="", hashed=True):
        self.name = name
        self.type = type
        self.default = default
        self.module_default = module_default
        self.elements = elements
        self.choices = choices
        self.options = options
        self.required = required
        self.cli = cli
        self.cli_kind = cli_kind
        self.cli_metavar = cli_metavar
        self.cli_help = cli_help
        self.hashed = hashed


MOUNT_TYPES = ("bind", "tmpfs")
# What a mount's ``options`` may say: per-mount flags, words that change nothing,
# and (tmpfs only) what the kernel's tmpfs takes.
MOUNT_FLAG_OPTIONS = ("ro", "nosuid", "nodev", "noexec")
MOUNT_NEUTRAL_OPTIONS = ("rw", "suid", "dev", "exec", "bind", "rbind")
TMPFS_DATA_OPTIONS = ("size", "nr_blocks", "nr_inodes", "mode", "uid", "gid", "huge", "mpol")
RESTART_POLICIES = ("no", "on-failure", "always")
LOG_MAX_SIZE_DEFAULT = 10 * 1024 * 1024

SECCOMP_BUILTIN = ("default", "unconfined")

CAPABILITIES_OPTIONS = (
    Field("add", "list", default=[], elements="str"),
    Field("drop", "list", default=[], elements="str"),
)

# One line of a user namespace's uid_map or gid_map: ``count`` ids from ``inside`` map to ``outside`` on the host.
ID_MAP_OPTIONS = (
    Field("inside", "int", required=True),
    Field("outside", "int", required=True),
    Field("count", "int", required=True),
)
# With ``namespaces.user: private`` and no map: root inside is host uid 100000, never host root.
# One fixed range, like Docker's userns-remap, so an operator can chown a rootfs to it once.
DEFAULT_ID_MAP = ({"inside": 0, "outside": 100000, "count": 65536},)

MOUNT_OPTIONS = (
    Field("src", "path"),
    Field("dest", "str", required=True),
    Field("type", "str", default="bind", module_default="bind", choices=MOUNT_TYPES),
    Field("readonly", "bool", default=False, module_default=False),
    Field("options", "str", default=""),
)

# ``limits``: Docker users' units; spec/limits.py parses them, host/cgroups.py applies them.
LIMIT_OPTIONS = (
    Field("memory", "str", cli=("--memory", "-m"), cli_metavar="SIZE", cli_help="memory limit, such as 512m or 1g"),
    Field("memory_swap", "str", cli=("--memory-swap",), cli_metavar="SIZE",
          cli_help="memory and swap together; -1: unlimited swap (default: no swap)"),
    Field("pids", "int", cli=("--pids-limit",), cli_metavar="N", cli_help="most processes and threads at once"),
    Field("cpu", "float", cli=("--cpus",), cli_metavar="CPUS", cli_help="CPU time, in CPUs, such as 0.5"),
    Field("cpu_weight", "int", cli=("--cpu-weight",), cli_metavar="WEIGHT",
          cli_help="relative CPU share, 1 to 10000 (default 100)"),
)

# Validation runs in this order: a field comes after the fields it depends on
# (command is looked up in rootfs with env's PATH; mounts need the namespaces).
FIELDS = (
    Field("name", "str", required=True, cli=("--name",), cli_metavar="NAME",
          cli_help="workload name; unnamed --rm runs keep no state"),
    Field("rootfs", "path", cli=("--rootfs",), cli_metavar="DIR", cli_help="pivot_root into DIR"),
    Field("hostname", "str", cli=("--hostname",), cli_metavar="NAME", cli_help="in a private UTS namespace"),
    Field("namespaces", "dict", default=NAMESPACE_DEFAULTS, cli=("--ns",), cli_kind="append",
          cli_metavar="TYPE=VALUE", cli_help="%s = private|host|workload:NAME|path:FILE" % "|".join(
              kind.name for kind in NAMESPACE_KINDS)),
    Field("uid_map", "list", default=[], elements="dict", options=ID_MAP_OPTIONS, cli=("--uid-map",),
          cli_kind="append", cli_metavar="INSIDE:OUTSIDE:COUNT",
          cli_help="with --ns user=private (default 0:100000:65536)"),
    Field("gid_map", "list", default=[], elements="dict", options=ID_MAP_OPTIONS, cli=("--gid-map",),
          cli_kind="append", cli_metavar="INSIDE:OUTSIDE:COUNT",
          cli_help="with --ns user=private (default 0:100000:65536)"),
    Field("env", "dict", default={}, cli=("--env", "-e"), cli_kind="append", cli_metavar="KEY[=VALUE]",
          cli_help="environment variable; KEY alone passes this one's"),
    Field("command", "list", elements="str"),
    Field("cwd", "str", default="/", cli=("--cwd",), cli_metavar="DIR", cli_help="working directory, inside the rootfs"),
    Field("user", "str", cli=("--user", "-u"), cli_metavar="USER", cli_help="name, uid or uid:gid"),
    Field("mounts", "list", default=[], elements="dict", options=MOUNT_OPTIONS, cli=("--mount", "-v"),
          cli_kind="append", cli_metavar="SRC:DEST[:ro]", cli_help="or tmpfs:DEST[:OPTS]"),
    Field("readonly_rootfs", "bool", default=False, module_default=False, cli=("--read-only",), cli_kind="flag",
          cli_help="the root filesystem read-only"),
    Field("devices", "list", default=[], elements="str", cli=("--device",), cli_kind="append", cli_metavar="PATH",
          cli_help="a host device to add to the minimal /dev"),
    Field("host_dev", "bool", default=False, module_default=False, cli=("--host-dev",), cli_kind="flag",
          cli_help="the host's /dev instead of a minimal one"),
    Field("capabilities", "dict", default={"add": [], "drop": []}, options=CAPABILITIES_OPTIONS,
          cli=("--cap-add",), cli_kind="append", cli_metavar="CAP",
          cli_help="add a capability to Docker's default set (ALL: every one)"),
    Field("no_new_privileges", "bool", default=True, module_default=True, cli=("--allow-new-privileges",),
          cli_kind="flag", cli_help="let setuid/file capabilities raise privileges (no_new_privileges: false)"),
    Field("seccomp", "str", default="default", module_default="default", cli=("--seccomp",), cli_metavar="PROFILE",
          cli_help="default|unconfined|FILE (a Docker-format JSON profile; default: default)"),
    Field("apparmor_profile", "str", cli=("--apparmor-profile",), cli_metavar="PROFILE",
          cli_help="AppArmor profile for the command (refused where the host has no AppArmor)"),
    Field("selinux_label", "str", cli=("--selinux-label",), cli_metavar="LABEL",
          cli_help="SELinux process label for the command (refused where the host has no SELinux)"),
    Field("init", "bool", default=True, module_default=True, cli=("--no-init",), cli_kind="flag",
          cli_help="make the command itself PID 1"),
    Field("stop_signal", "str", default="SIGTERM", module_default="SIGTERM", cli=("--stop-signal",),
          cli_metavar="SIGNAL", cli_help="asks the workload to stop (default SIGTERM)"),
    Field("stop_timeout", "float", default=10, module_default=10, cli=("--stop-timeout",), cli_metavar="SECONDS",
          cli_help="then SIGKILL (default 10)"),
    Field("restart_policy", "str", default="no", module_default="no", choices=RESTART_POLICIES, cli=("--restart",),
          cli_metavar="POLICY", cli_help="no|on-failure|always (default no)"),
    Field("limits", "dict", default={}, options=LIMIT_OPTIONS),
    Field("cgroup_parent", "str", cli=("--cgroup-parent",), cli_metavar="PATH",
          cli_help="where the workload's own cgroup is made (default /nsfleet)"),
    # The log's bound: a size (bytes, or with a k/m/g suffix) and how many files, the current one included.
    Field("log_max_size", "str", default=LOG_MAX_SIZE_DEFAULT, cli=("--log-max-size",), cli_metavar="SIZE",
          cli_help="rotate the log past SIZE (k, m, g; default 10m)"),
    Field("log_max_files", "int", default=3, cli=("--log-max-files",), cli_metavar="N",
          cli_help="log files kept, the current one included (default 3)"),
    Field("labels", "dict", default={}, cli=("--label", "-l"), cli_kind="append", cli_metavar="KEY=VALUE",
          cli_help="metadata for selecting workloads (apply --prune --selector)", hashed=False),
)
FIELDS_BY_NAME = dict((field.name, field) for field in FIELDS)
KNOWN_KEYS = tuple(field.name for field in FIELDS)
# Metadata: what may change without recreating the workload.
UNHASHED_KEYS = tuple(field.name for field in FIELDS if not field.hashed)


_MISSING = object()


def _canonical(value, field):
    """One form for equal values: 10.0 is 10; entries and sub-options at their defaults are left out."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict) and isinstance(field.default, dict):
        return dict((key, item) for key, item in value.items() if field.default.get(key, _MISSING) != item)
    if isinstance(value, list) and field.options:
        return [dict((key, item) for key, item in element.items()
                     if key not in _SUB_DEFAULTS[field.name] or _SUB_DEFAULTS[field.name][key] != item)
                if isinstance(element, dict) else element for element in value]
    return value


_SUB_DEFAULTS = dict((field.name, dict((sub.name, sub.default) for sub in field.options if sub.default is not None))
                     for field in FIELDS if field.options)


def hashed_view(spec):
    """What the spec hash covers: each field that differs from its default, in canonical form.

    ``spec_version``, metadata (``hashed=False``) and keys the table does not know are left out.
    """
    view = {}
    for field in FIELDS:
        if not field.hashed:
            continue
        value = spec.get(field.name, field.default)
        if value == field.default:
            continue
        value = _canonical(value, field)
        if value in ({}, field.default):
            continue
        view[field.name] = value
    return view


def copy_default(field):
    """The field's default, as a value of its own: specs never share a dict or list."""
    if isinstance(field.default, (dict, list)):
        return type(field.default)(field.default)
    return field.default


def upgrade(stored):
    """A stored spec of any earlier version, with the fields it lacks at their defaults."""
    spec = dict(stored)
    for field in FIELDS:
        if field.name not in spec:
            spec[field.name] = copy_default(field)
    namespaces = dict(NAMESPACE_DEFAULTS)
    namespaces.update(spec.get("namespaces") or {})
    spec["namespaces"] = namespaces
    spec["spec_version"] = SPEC_VERSION
    return spec


def module_argument_spec():
    """The spec fields as an AnsibleModule argument spec (the module adds its own, like ``state``)."""
    return dict((field.name, _module_option(field)) for field in FIELDS)


def _module_option(field):
    option = {"type": field.type}
    if field.elements:
        option["elements"] = field.elements
    if field.choices:
        option["choices"] = list(field.choices)
    if field.module_default is not None:
        option["default"] = field.module_default
    if field.required:
        option["required"] = True
    if field.options:
        option["options"] = dict((sub.name, _module_option(sub)) for sub in field.options)
    return option
