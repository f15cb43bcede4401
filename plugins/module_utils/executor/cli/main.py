# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``nsfleet`` command: what the modules call, and the runbook tool on a host.

Exit codes: 0 done; 1 the operation failed; 2 bad input (the message names
the parameter); 3 no such workload (start, stop, restart, inspect, ps, exec, logs;
``rm`` of a missing workload is done, not an error); for ``run`` and
``exec``, the command's own exit code once it started (``exec --json``
exits 0 and puts the command's code in its JSON as ``rc``).
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
    "capabilities": lambda added: {"add": added},
    "no_new_privileges": lambda allow_new: not allow_new,
    "labels": lambda items: key_values("--label", items),
}
# --cap-drop fills the other half of the capabilities field.
_CAP_DROP = Option(("--cap-drop",), "cap_drop", "append", metavar="CAP",
                   help_text="drop a capability from Docker's default set (ALL: every one)")


def _run_field_options():
    """``nsfleet run``'s spec flags, one per spec field (or sub-option, like limits.memory) with ``cli``."""
    from ..spec.schema import FIELDS
    options = []
    for field in FIELDS:
        for dest, flagged in [(field.name, field)] + [("%s.%s" % (field.name, sub.name), sub)
                                                      for sub in (field.options if field.type == "dict" else None) or ()]:
            if flagged.cli:
                options.append(Option(flagged.cli, dest, flagged.cli_kind, metavar=flagged.cli_metavar,
                                      help_text=flagged.cli_help, choices=flagged.choices))
    return tuple(options)


def spec_from_run_args(args):
    from ..spec.schema import FIELDS_BY_NAME
    raw = {"command": args["remainder"]}
    for dest, value in sorted(args.items()):
        name, _dot, sub_name = dest.partition(".")  # "limits.memory": a sub-option's flag
        field = FIELDS_BY_NAME.get(name)
        if field is None or value in (None, [], ""):
            continue
        if sub_name:
            raw.setdefault(name, {})[sub_name] = value
        elif field.cli:
            raw[name] = _FROM_CLI.get(name, lambda given: given)(value)
    if args.get("cap_drop"):
        raw.setdefault("capabilities", {})["drop"] = args["cap_drop"]
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
    spec = validate(raw, store.exists, store.filter_cache_dir)
    if keep_state:
        context.workloads().create(raw)
        recorder = StateRecorder(store, spec["name"])
    else:
        recorder = NullRecorder()
    # A one-shot run keeps no state, so a cgroup only when a limit needs one (and it goes with the run).
    cgroup = None
    if keep_state or spec["limits"]:
        from ..host import cgroups
        cgroup = cgroups.for_workload(spec, store.root)
    supervisor = Supervisor(spec, recorder, (0, 1, 2), lambda wanted: open_joined(store, wanted), detached=False,
                            cgroup=cgroup, filter_cache_dir=store.filter_cache_dir)
    failures = []
    try:
        code = supervisor.run(on_started=lambda result: failures.append(result.get("error")))
    finally:
        if cgroup is not None and not keep_state:
            cgroup.remove()
            cgroups.remove_default_parent(cgroup, spec, store.root)
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

    spec = validate(_read_spec(source), context.store.exists, context.store.filter_cache_dir)
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
    _print_line("%-24s %6s %9s  %-16s %s" % ("PIDNS", "PROCS", "INIT_PID", "COMM", "WORKLOAD"))
    for entry in namespaces:
        indent = "  " * (entry["level"] or 0)
        _print_line("%-24s %6d %9s  %-16s %s" % (indent + str(entry["pidns"]), entry["processes"],
                                                 entry["init_host_pid"] or "-", entry["init_comm"] or "-",
                                                 ",".join(entry["workloads"])))
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
    from ..lifecycle import execution

    if not args["remainder"]:
        raise SpecError("command", "give the command after --")
    timeout = None if args["timeout"] is None else _parse_number("--timeout", args["timeout"])
    request = execution.ExecRequest(args["remainder"], user=args["user"], env=_parse_env(args["env"]),
                                    cwd=args["cwd"], timeout=timeout, creates=args["creates"],
                                    removes=args["removes"])
    stdin_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC) if args["no_stdin"] else 0
    try:
        result = execution.run(context.store, args["name"], request, capture=args["json"], stdin_fd=stdin_fd,
                               check=args["check"])
    finally:
        if stdin_fd != 0:
            os.close(stdin_fd)
    if args["json"]:
        _print_json(result)
        return 0
    if args["check"] or result.get("skipped"):
        sys.stderr.write("nsfleet: exec: %s\n" % result["msg"])
    elif result["timed_out"]:
        sys.stderr.write("nsfleet: exec: killed after the timeout of %ss\n" % args["timeout"])
    elif result["error"]:
        sys.stderr.write("nsfleet: %s\n" % result["error"])
    return result["rc"]


def _parse_count(param, text):
    if text is None:
        return None
    if not text.isdigit():
        raise SpecError(param, "must be a whole number of lines, got %r" % text)
    return int(text)


def cmd_logs(context, args):
    from ..lifecycle import logs
    from ..spec.validate import validate_name

    name = validate_name(args["name"])
    tail = _parse_count("--tail", args["tail"])
    if args["json"] and args["follow"]:
        raise SpecError("--follow", "cannot be combined with --json")
    snapshot = logs.Snapshot(context.store, name)
    try:
        if args["json"]:
            chunks = []
            if tail is None:
                logs.read_all(snapshot, chunks.append)
            else:
                chunks = logs.tail_lines(snapshot, tail)
            text = b"".join(chunks).decode("utf-8", "replace")
            _print_json({"name": name, "log": text, "log_lines": text.splitlines(), "files": snapshot.present_paths()})
            return 0
        out = sys.stdout.buffer
        if tail is None:
            logs.read_all(snapshot, out.write)
        else:
            for line in logs.tail_lines(snapshot, tail):
                out.write(line)
        out.flush()
        if args["follow"]:
            def write(data):
                out.write(data)
                out.flush()
            logs.follow(context.store, name, write, snapshot)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # The reader went away (| head): done. Point stdout at /dev/null so the exit flush cannot fail again.
        null_fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null_fd, 1)
        os.close(null_fd)
    finally:
        snapshot.close()
    return 0


_JSON = Option(("--json",), "json", "flag", help_text="print JSON")
_FORCE = Option(("--force", "-f"), "force", "flag", help_text="SIGKILL at once instead of stop_signal")
_SPEC = Option(("--spec",), "spec", metavar="FILE|-", help_text="the JSON spec (- for stdin)")
_PARALLEL = Option(("--parallel",), "parallel", metavar="N", help_text="workloads started at once (default 16)")
COMMANDS = (
    (Command("run", "Run a command in new PID and mount namespaces; foreground unless --detach.", (
        Option(("--rm",), "rm", "flag", help_text="remove the workload when it exits"),
        Option(("--detach", "-d"), "detach", "flag", help_text="start under a supervisor and return"),
    ) + _run_field_options() + (_CAP_DROP,), remainder="CMD [ARG...]"), cmd_run),
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
    (Command("exec", "Run a command inside a running workload's namespaces; exit with its exit code.", (
        Option(("--user", "-u"), "user", metavar="USER", help_text="name, uid or uid:gid (default: the workload's)"),
        Option(("--env", "-e"), "env", "append", metavar="KEY[=VALUE]", help_text="added to the workload's env"),
        Option(("--cwd", "-w"), "cwd", metavar="DIR", help_text="inside the workload (default: its cwd)"),
        Option(("--timeout",), "timeout", metavar="SECONDS", help_text="then kill everything the command started"),
        Option(("--creates",), "creates", metavar="PATH", help_text="skip when PATH exists inside"),
        Option(("--removes",), "removes", metavar="PATH", help_text="skip unless PATH exists inside"),
        Option(("--no-stdin",), "no_stdin", "flag", help_text="stdin from /dev/null"),
        Option(("--check",), "check", "flag", help_text="only say whether it would run; run nothing"),
        Option(("--json",), "json", "flag", help_text="capture the output; print rc, stdout, stderr, PIDs as JSON"),
    ), ("name",), remainder="CMD [ARG...]"), cmd_exec),
    (Command("logs", "Print a workload's stdout and stderr, across its rotated log files.", (
        Option(("--tail", "-n"), "tail", metavar="N", help_text="only the last N lines"),
        Option(("--follow", "-f"), "follow", "flag", help_text="then print new output until the workload stops"),
        Option(("--json",), "json", "flag", help_text="print {name, log, log_lines, files} as JSON"),
    ), ("name",)), cmd_logs),
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
    except (RuntimeError, OSError) as error:  # OperationError, JoinError, ExecError, LockTimeout: all say why
        sys.stderr.write("nsfleet: %s\n" % error)
        return EXIT_FAILED
