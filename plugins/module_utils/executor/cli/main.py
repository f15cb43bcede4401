# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``nsfleet`` command: what the modules call, and the runbook tool on a host.

Exit codes: 0 done; 1 the operation failed; 2 bad input (the message names
the parameter); 3 no such workload (start, stop, restart, inspect, ps, exec;
``rm`` of a missing workload is done, not an error); for ``run`` and
``exec``, the command's own exit code once it started.
Machine-readable output is JSON on stdout; errors go to stderr.

``apply`` and ``restore`` print {"changed", "failed": [names], "results":
[{name, action, changed, failed, msg, workload, before}]} and exit 1 when a
workload failed (the others are done). ``inspect NAME --spec FILE|-`` answers what the modules ask before they act,
in one executor start: {"workload": the object or null, "spec": the spec
validated and normalised, "spec_hash": its hash}. ``inspect --all`` prints
every workload object, with processes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

from .. import __version__
from ..spec.validate import SpecError, key_values
from .arguments import Command, Option, UsageError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_SUCH_WORKLOAD = 3


class Context:
    """What every command works with: the state store, and the nsfleet executable this runs from (if any)."""

    def __init__(self, store, executable=None, prune_caches=None):
        self.store = store
        self.executable = executable
        self.prune_caches = prune_caches

    def workloads(self):
        from ..lifecycle.operations import Workloads
        return Workloads(self.store, self.executable)


def _print_json(document):
    import json
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _print_line(text):
    sys.stdout.write(text + "\n")


def _read_spec(source, param="--spec"):
    import json
    try:
        text = sys.stdin.read() if source == "-" else open(source).read()
    except OSError as error:
        raise SpecError(param, "cannot read %s: %s" % (source, error.strerror))
    try:
        return json.loads(text)
    except ValueError as error:
        raise SpecError(param, "not valid JSON: %s" % error)


def _parse_mount(text):
    """'SRC:DEST[:ro,noexec,...]' for a bind mount, 'tmpfs:DEST[:OPTIONS]' for a tmpfs."""
    parts = text.split(":")
    if len(parts) < 2:
        raise SpecError("--mount", "%r: use SRC:DEST[:ro] or tmpfs:DEST[:OPTIONS]" % text)
    if parts[0] == "tmpfs":
        return {"type": "tmpfs", "dest": parts[1], "options": ":".join(parts[2:])}
    options = [option for option in ":".join(parts[2:]).split(",") if option]
    return {"type": "bind", "src": parts[0], "dest": parts[1], "readonly": "ro" in options,
            "options": ",".join(option for option in options if option != "ro")}


def _parse_env(items):
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            value = os.environ.get(key, "")
        env[key] = value
    return env


def _parse_number(param, text):
    try:
        return float(text)
    except ValueError:
        raise SpecError(param, "must be a number of seconds, got %r" % text)


def _parse_namespaces(items):
    return dict((nstype, value) for nstype, _sep, value in (item.partition("=") for item in items))


def _parse_id_map(items):
    """'INSIDE:OUTSIDE:COUNT' lines; anything else goes to the validator as it is, which names the flaw."""
    lines = []
    for text in items:
        parts = text.split(":")
        if len(parts) == 3 and all(part.isdigit() for part in parts):
            text = dict(zip(("inside", "outside", "count"), (int(part) for part in parts)))
        lines.append(text)
    return lines


# How a ``run`` flag's parsed value becomes the spec field's value; the rest pass as they are.
_FROM_CLI = {
    "env": _parse_env,
    "mounts": lambda items: [_parse_mount(text) for text in items],
    "namespaces": _parse_namespaces,
    "uid_map": _parse_id_map,
    "gid_map": _parse_id_map,
    "init": lambda no_init: not no_init,
    "stop_timeout": lambda text: _parse_number("--stop-timeout", text),
    "labels": lambda items: key_values("--label", items),
}


def _run_field_options():
    """``nsfleet run``'s spec flags, one per spec field that has ``cli`` in the schema."""
    from ..spec.schema import FIELDS
    return tuple(Option(field.cli, field.name, field.cli_kind, metavar=field.cli_metavar, help_text=field.cli_help,
                        choices=field.choices) for field in FIELDS if field.cli)


def spec_from_run_args(args):
    from ..spec.schema import FIELDS
    raw = {"command": args["remainder"]}
    for field in FIELDS:
        value = args.get(field.name) if field.cli else None
        if value in (None, [], ""):
            continue
        raw[field.name] = _FROM_CLI.get(field.name, lambda given: given)(value)
    raw.setdefault("name", "run-%d" % os.getpid())
    return raw


def cmd_run(context, args):
    from ..runtime.joins import open_joined
    from ..spec.validate import validate
    from ..runtime.supervisor import NullRecorder, StateRecorder, Supervisor

    if not args["remainder"]:
        raise SpecError("command", "give the command after --")
    raw = spec_from_run_args(args)
    if args["detach"]:
        if args["rm"]:
            raise SpecError("--rm", "cannot be combined with --detach")
        workloads = context.workloads()
        workloads.create(raw)
        _print_json(workloads.start(raw["name"])[0])
        return 0
    # One-shot without a name keeps no state, like unshare; a named run is visible to ls.
    keep_state = bool(args.get("name"))
    store = context.store
    spec = validate(raw, store.exists)
    if keep_state:
        context.workloads().create(raw)
        recorder = StateRecorder(store, spec["name"])
    else:
        recorder = NullRecorder()
    supervisor = Supervisor(spec, recorder, (0, 1, 2), lambda wanted: open_joined(store, wanted), detached=False)
    failures = []
    code = supervisor.run(on_started=lambda result: failures.append(result.get("error")))
    if failures and failures[0]:
        sys.stderr.write("nsfleet: %s\n" % failures[0])
    if keep_state and args["rm"]:
        context.workloads().remove(spec["name"], force=True)
    return 127 if code is None else code


def cmd_create(context, args):
    workload, changed = context.workloads().create(_read_spec(args["spec"]), replace=args["replace"])
    _print_json(dict(workload, changed=changed))
    return 0


def _validated(context, source):
    from ..spec.validate import spec_hash, validate

    spec = validate(_read_spec(source), context.store.exists)
    return {"spec": spec, "spec_hash": spec_hash(spec)}


def cmd_validate(context, args):
    _print_json(_validated(context, args["spec"]))
    return 0


def _print_changed(result):
    workload, changed = result
    _print_json(dict(workload, changed=changed))
    return 0


def cmd_start(context, args):
    return _print_changed(context.workloads().start(args["name"]))


def cmd_stop(context, args):
    return _print_changed(context.workloads().stop(args["name"], force=args["force"]))


def cmd_restart(context, args):
    return _print_changed(context.workloads().restart(args["name"]))


def cmd_rm(context, args):
    from ..spec.validate import validate_name

    for name in args["names"]:
        validate_name(name)  # all refused before any is removed
    workloads = context.workloads()
    changed = False
    for name in args["names"]:
        changed = workloads.remove(name, force=args["force"], keep_logs=args["keep_logs"]) or changed
    if context.prune_caches is not None:
        context.prune_caches()  # a removed workload's supervisor may have held the last old version's cache
    _print_json({"changed": changed})
    return 0


def cmd_ls(context, args):
    found = context.workloads().list()
    if args["json"]:
        _print_json(found)
        return 0
    _print_line("%-24s %-9s %9s %5s %8s" % ("NAME", "STATUS", "INIT_PID", "EXIT", "RESTARTS"))
    for workload in found:
        _print_line("%-24s %-9s %9s %5s %8s" % (
            workload["name"], workload["status"], workload["init_host_pid"] or "-",
            "-" if workload["exit_code"] is None else workload["exit_code"], workload["restart_count"]))
    return 0


def cmd_inspect(context, args):
    name = args["name"]
    if args["all"]:
        if name is not None or args["spec"] is not None:
            raise SpecError("--all", "takes neither a NAME nor --spec")
        _print_json(context.workloads().list(with_processes=True))
        return 0
    if name is None:
        raise SpecError("NAME", "give a workload name, or --all")
    if args["spec"] is None:
        _print_json(context.workloads().inspect(name))
        return 0
    # The modules' question before they act, answered in one executor start.
    from ..lifecycle.state import NoSuchWorkload

    answer = _validated(context, args["spec"])
    if answer["spec"]["name"] != name:
        raise SpecError("name", "the spec names %r, not %r" % (answer["spec"]["name"], name))
    try:
        answer["workload"] = context.workloads().inspect(name)
    except NoSuchWorkload:
        answer["workload"] = None
    _print_json(answer)
    return 0


def cmd_ps(context, args):
    processes = context.workloads().inspect(args["name"])["processes"]
    if args["json"]:
        _print_json(processes)
        return 0
    _print_line("%8s %7s %7s %5s  %s" % ("HOST_PID", "NS_PID", "PPID", "STATE", "COMM"))
    for process in processes:
        _print_line("%8d %7d %7d %5s  %s" % (
            process["host_pid"], process["ns_pid"], process["ppid"], process["state"], process["comm"]))
    return 0


def cmd_supervise(context, args):
    from ..runtime.supervisor import StartReport, run_detached

    return run_detached(context.store, args["name"], StartReport(int(args["handshake_fd"])))


def cmd_ns(context, args):
    from ..lifecycle.nstree import pid_namespaces

    namespaces = pid_namespaces(context.store)
    if args["json"]:
        _print_json(namespaces)
        return 0
    _print_line("%-24s %6s %9s  %s" % ("PIDNS", "PROCS", "INIT_PID", "WORKLOAD"))
    for entry in namespaces:
        indent = "  " * (entry["level"] or 0)
        _print_line("%-24s %6d %9s  %s" % (indent + str(entry["pidns"]), entry["processes"],
                                           entry["init_host_pid"] or "-", entry["workload"] or ""))
    return 0


def _parallel(text):
    from ..lifecycle.apply import DEFAULT_PARALLEL, MAX_PARALLEL
    if text is None:
        return DEFAULT_PARALLEL
    try:
        parallel = int(text)
    except ValueError:
        parallel = 0
    if not 1 <= parallel <= MAX_PARALLEL:
        raise SpecError("--parallel", "must be a whole number from 1 to %d, got %r" % (MAX_PARALLEL, text))
    return parallel


def _print_outcome(outcome):
    """The apply/restore document on stdout; exit 1 when a workload failed (each result says why)."""
    _print_json(outcome)
    for name in outcome["failed"]:
        sys.stderr.write("nsfleet: %s: %s\n" % (name, next(
            result["msg"] for result in outcome["results"] if result["name"] == name)))
    return EXIT_FAILED if outcome["failed"] else 0


def cmd_apply(context, args):
    from ..lifecycle.apply import Apply, parse_entries, parse_selector

    entries = parse_entries(_read_spec(args["specs"], "--specs"))
    selector = parse_selector(args["selector"])
    if selector and not args["prune"]:
        raise SpecError("--selector", "only scopes --prune; give --prune too")
    return _print_outcome(Apply(context.workloads(), entries, prune=args["prune"], selector=selector,
                                check=args["check"], parallel=_parallel(args["parallel"])).run())


def cmd_restore(context, args):
    if args["systemd_unit"]:
        from .restore_unit import render
        if not context.executable:
            raise SpecError("--systemd-unit", "only the installed nsfleet executable can name itself in a unit")
        try:
            sys.stdout.write(render(os.path.abspath(context.executable), os.path.abspath(context.store.root),
                                    os.path.abspath(context.store.lib_dir)))
        except ValueError as error:
            raise SpecError("--systemd-unit", str(error))
        return 0
    from ..lifecycle.apply import restore

    return _print_outcome(restore(context.workloads(), parallel=_parallel(args["parallel"])))


def cmd_exec(context, args):
    if not args["remainder"]:
        raise SpecError("command", "give the command after --")
    return context.workloads().exec_in(args["name"], args["remainder"])


_JSON = Option(("--json",), "json", "flag", help_text="print JSON")
_FORCE = Option(("--force", "-f"), "force", "flag", help_text="SIGKILL at once instead of stop_signal")
_SPEC = Option(("--spec",), "spec", metavar="FILE|-", help_text="the JSON spec (- for stdin)")
_PARALLEL = Option(("--parallel",), "parallel", metavar="N", help_text="workloads started at once (default 16)")
COMMANDS = (
    (Command("run", "Run a command in new PID and mount namespaces; foreground unless --detach.", (
        Option(("--rm",), "rm", "flag", help_text="remove the workload when it exits"),
        Option(("--detach", "-d"), "detach", "flag", help_text="start under a supervisor and return"),
    ) + _run_field_options(), remainder="CMD [ARG...]"), cmd_run),
    (Command("create", "Record a workload from a JSON spec; print the workload as JSON.", (
        _SPEC, Option(("--replace",), "replace", "flag", help_text="recreate when the spec changed"))), cmd_create),
    (Command("validate", "Check a JSON spec; print it normalised with its hash.", (_SPEC,)), cmd_validate),
    (Command("start", "Start a workload under a supervisor.", (), ("name",)), cmd_start),
    (Command("stop", "Send stop_signal, then SIGKILL after stop_timeout.", (_FORCE,), ("name",)), cmd_stop),
    (Command("restart", "Stop, then start.", (), ("name",)), cmd_restart),
    (Command("rm", "Stop and remove workloads: state, spec, lock and log.", (
        _FORCE, Option(("--keep-logs",), "keep_logs", "flag", help_text="keep the workloads' logs")),
        ("names*",)), cmd_rm),
    (Command("ls", "List workloads and their status.", (_JSON,)), cmd_ls),
    (Command("inspect", "Print the workload object as JSON; with --spec, with the spec validated.", (
        Option(("--all",), "all", "flag", help_text="every workload, with processes"),
        Option(("--spec",), "spec", metavar="FILE|-", help_text="also validate this spec of the workload")),
        ("name?",)), cmd_inspect),
    (Command("ps", "Print a workload's PID mapping: host PID, PID inside, parent, command.", (_JSON,), ("name",)),
     cmd_ps),
    (Command("exec", "Run a command inside a running workload's namespaces.", (), ("name",),
             remainder="CMD [ARG...]"), cmd_exec),
    (Command("ns", "Show the host's PID namespaces as a tree, like lsns -t pid, with workload names.", (_JSON,)),
     cmd_ns),
    (Command("apply", "Bring this host to a JSON list of workload specs (each with state); print each result.", (
        Option(("--specs",), "specs", default="-", metavar="FILE|-", help_text="the JSON list (- for stdin, default)"),
        Option(("--prune",), "prune", "flag", help_text="remove the workloads that are not in the list"),
        Option(("--selector",), "selector", "append", metavar="KEY=VALUE",
               help_text="prune only workloads with these labels"),
        Option(("--check",), "check", "flag", help_text="report what would change, change nothing"),
        _PARALLEL)), cmd_apply),
    (Command("restore", "After a boot: start again each workload last started, or with restart policy always.", (
        _PARALLEL, Option(("--systemd-unit",), "systemd_unit", "flag",
                          help_text="print the systemd unit that runs this restore at boot, and do nothing else"))),
     cmd_restore),
)
# Internal: how a detached supervisor starts as a fresh process. Not listed in the usage.
_INTERNAL_COMMANDS = (
    (Command("_supervise", "Supervise a workload (internal).",
             (Option(("--handshake-fd",), "handshake_fd", metavar="FD"),), ("name",)), cmd_supervise),
)


def usage():
    lines = ["usage: nsfleet [--state-dir DIR] COMMAND [OPTIONS]", "",
             "Run and manage PID- and mount-namespaced workloads on this host.", "", "commands:"]
    lines += ["  %-9s %s" % (command.name, command.help_text) for command, _handler in COMMANDS]
    lines += ["", "options:", "  --state-dir DIR  root of the state layout (default: $NSFLEET_STATE_DIR or /)",
              "  --version        print the version", "", "'nsfleet COMMAND --help' describes a command."]
    return "\n".join(lines) + "\n"


def main(argv=None, bundle_path=None, prune_caches=None):
    """``bundle_path``: the nsfleet executable this runs from, if any (supervisors are started from it);
    ``prune_caches``: the bundle's function that drops unpacked caches of other versions nobody uses."""
    argv = sys.argv[1:] if argv is None else list(argv)
    state_dir = None
    if argv[:1] == ["--state-dir"]:
        if len(argv) < 2:
            sys.stderr.write("nsfleet: --state-dir needs a value\n")
            return EXIT_BAD_INPUT
        state_dir, argv = argv[1], argv[2:]
    elif argv[:1] and argv[0].startswith("--state-dir="):
        state_dir, argv = argv[0].partition("=")[2], argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(usage())
        return 0 if argv else EXIT_BAD_INPUT
    if argv[0] == "--version":
        sys.stdout.write("nsfleet %s\n" % __version__)
        return 0
    handlers = dict((entry[0].name, entry) for entry in COMMANDS + _INTERNAL_COMMANDS)
    if argv[0] not in handlers:
        sys.stderr.write("nsfleet: unknown command %r\n\n%s" % (argv[0], usage()))
        return EXIT_BAD_INPUT
    command, handler = handlers[argv[0]]
    if "--help" in argv[1:argv.index("--") if "--" in argv else len(argv)]:
        sys.stdout.write(command.help())
        return 0
    try:
        args = command.parse(argv[1:])
    except UsageError as error:
        sys.stderr.write("%s\nusage: %s\n" % (error, command.usage()))
        return EXIT_BAD_INPUT
    return _dispatch(handler, state_dir, args, bundle_path, prune_caches)


def _dispatch(handler, state_dir, args, bundle_path, prune_caches):
    from ..lifecycle.state import NoSuchWorkload, StateStore

    try:
        return handler(Context(StateStore(state_dir), bundle_path, prune_caches), args)
    except SpecError as error:
        sys.stderr.write("nsfleet: %s\n" % error)
        return EXIT_BAD_INPUT
    except NoSuchWorkload as error:
        sys.stderr.write("nsfleet: %s\n" % error)
        return EXIT_NO_SUCH_WORKLOAD
    except (RuntimeError, OSError) as error:  # OperationError, JoinError, LockTimeout: all say why
        sys.stderr.write("nsfleet: %s\n" % error)
        return EXIT_FAILED
