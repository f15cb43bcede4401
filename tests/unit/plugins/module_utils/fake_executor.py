"""A fake host for the module_utils that drive the executor: no root, no namespaces.

``FakeModule.run_command`` answers the executor CLI calls the client makes
(``nsfleet --state-dir DIR VERB ...``) from an in-memory set of workloads,
and records every call, so a test can count executor starts. The spec is
"validated" by a stand-in: the real validation is the executor's, tested
on its own.
"""

import copy
import hashlib
import json

# The executor's exit codes (cli/main.py).
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NO_SUCH_WORKLOAD = 1, 2, 3
MUTATING_VERBS = ("create", "start", "stop", "restart", "rm", "apply")
# Verbs whose stdin is not a JSON spec (exec feeds it to the command).
RAW_STDIN_VERBS = ("exec",)


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``result`` holds what the module returned."""

    def __init__(self, result, failed):
        Exception.__init__(self, result.get("msg", ""))
        self.result = result
        self.failed = failed


def fake_spec_hash(spec):
    """Labels are metadata, left out of the hash as the executor leaves them out."""
    hashed = dict((key, value) for key, value in spec.items() if key != "labels")
    return hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()


class FakeExecutor:
    """Workloads by name: {"spec": ..., "status": ...}. ``fail_verbs``: verbs that fail with exit code 1."""

    def __init__(self):
        self.workloads = {}
        self.calls = []
        self.fail_verbs = set()
        self.exec_calls = []
        self.logs = {}  # name -> lines, for the logs verb
        self.exec_rc = 0
        self.existing_paths = set()
        self.applied = []  # what each apply was given

    def add(self, name, status="running", **spec):
        spec = dict({"name": name, "command": ["/bin/sleep", "1000"]}, **spec)
        self.workloads[name] = {"spec": self.normalise(spec), "status": status}

    @staticmethod
    def normalise(raw):
        """Stand-in for validation: defaults filled in, so the hash depends on what matters."""
        return dict({"env": {}, "restart_policy": "no"}, **dict((k, v) for k, v in raw.items() if v is not None))

    def workload_object(self, name):
        record = self.workloads[name]
        running = record["status"] == "running"
        return {"name": name, "status": record["status"], "exit_code": None,
                "init_host_pid": 4242 if running else None, "spec_hash": fake_spec_hash(record["spec"]),
                "restart_count": 0, "namespaces": {"pid": "pid:[1]"} if running else {},
                "processes": [{"host_pid": 4242, "ns_pid": 1, "ppid": 0, "comm": "nsfleet-init", "state": "S"}]
                if running else [], "spec": copy.deepcopy(record["spec"])}

    def __call__(self, argv, data):
        """One executor start: returns (rc, stdout, stderr)."""
        assert argv[1:2] == ["-IS"] and argv[3] == "--state-dir", argv
        args = argv[5:]
        self.calls.append(args)
        verb = args[0]
        if verb in self.fail_verbs:
            return EXIT_FAILED, "", "nsfleet: %s failed on purpose\n" % verb
        handler = getattr(self, "do_" + verb)
        try:
            document = data if data is None or verb in RAW_STDIN_VERBS else json.loads(data)
            answer = handler(args[1:], document)
            # apply prints its document and exits 1 when a workload failed.
            return EXIT_FAILED if isinstance(answer, dict) and answer.get("failed") else 0, json.dumps(answer), ""
        except KeyError as missing:
            return EXIT_NO_SUCH_WORKLOAD, "", "nsfleet: workload %s does not exist\n" % missing
        except ValueError as bad:
            return EXIT_BAD_INPUT, "", "nsfleet: %s\n" % bad
        except RuntimeError as failed:
            return EXIT_FAILED, "", "nsfleet: %s\n" % failed

    def validated(self, raw):
        if raw.get("command") == ["bad"]:
            raise ValueError("command: 'bad' not found")
        spec = self.normalise(raw)
        return {"spec": spec, "spec_hash": fake_spec_hash(spec)}

    def do_inspect(self, args, document):
        if args == ["--all"]:
            return [self.workload_object(name) for name in sorted(self.workloads)]
        name = args[0]
        if args[1:] == ["--spec", "-"]:
            answer = self.validated(document)
            answer["workload"] = self.workload_object(name) if name in self.workloads else None
            return answer
        assert args[1:] == [], args
        return self.workload_object(name)

    def do_create(self, args, document):
        assert args == ["--spec", "-"], args
        name = document["name"]
        spec = self.validated(document)["spec"]
        if name in self.workloads:
            # Only metadata may differ: the executor updates labels in place.
            assert fake_spec_hash(self.workloads[name]["spec"]) == fake_spec_hash(spec), "create over another spec"
            changed = self.workloads[name]["spec"] != spec
            self.workloads[name]["spec"] = spec
            return dict(self.workload_object(name), changed=changed)
        self.workloads[name] = {"spec": spec, "status": "created"}
        return dict(self.workload_object(name), changed=True)

    def do_apply(self, args, entries):
        """A small stand-in for ``nsfleet apply``: enough to test what the batch module sends and returns."""
        assert args[:2] == ["--specs", "-"], args
        check, prune = "--check" in args, "--prune" in args
        selector = dict(arg.partition("=")[::2] for arg in args[args.index("--selector") + 1::2]) \
            if "--selector" in args else {}
        self.applied.append({"entries": entries, "check": check, "prune": prune, "selector": selector})
        results = [self.apply_entry(entry, check) for entry in entries]
        listed = set(entry["name"] for entry in entries)
        for name in sorted(set(self.workloads) - listed) if prune else ():
            labels = self.workloads[name]["spec"].get("labels") or {}
            if all(labels.get(key) == value for key, value in selector.items()):
                before = self.workload_object(name)
                if not check:
                    del self.workloads[name]
                results.append({"name": name, "action": "remove", "changed": True, "failed": False, "msg": "pruned",
                                "workload": None, "before": before})
        failed = [result["name"] for result in results if result["failed"]]
        return {"changed": any(result["changed"] for result in results), "failed": failed, "results": results}

    def apply_entry(self, entry, check):
        name, state = entry["name"], entry["state"]
        before = self.workload_object(name) if name in self.workloads else None
        result = {"name": name, "changed": True, "failed": False, "msg": "", "before": before}
        if entry.get("command") == ["fail"]:
            return dict(result, action="create", changed=False, failed=True, msg="start: failed on purpose",
                        workload=before)
        spec = self.normalise(dict((key, value) for key, value in entry.items() if key not in ("state", "recreate")))
        if state == "absent":
            action = "remove" if before else "none"
        elif before is None:
            action = "create"
        elif fake_spec_hash(before["spec"]) != fake_spec_hash(spec):
            action = "recreate"
        elif before["spec"] != spec:
            action = "update"
        elif state == "started" and before["status"] != "running":
            action = "start"
        elif state == "stopped" and before["status"] == "running":
            action = "stop"
        else:
            action = "none"
        status = {"started": "running", "stopped": "stopped"}.get(state, before and before["status"] or "created")
        if not check and action != "none":
            if action == "remove":
                del self.workloads[name]
            else:
                self.workloads[name] = {"spec": spec, "status": status}
        after = None if action == "remove" or (before is None and action == "none") else \
            dict(self.workload_object(name) if not check else dict(before or {}, spec=spec), status=status)
        return dict(result, action=action, changed=action != "none", workload=after)

    def do_start(self, args, _document):
        record = self.workloads[args[0]]
        changed = record["status"] != "running"
        record["status"] = "running"
        return dict(self.workload_object(args[0]), changed=changed)

    def do_stop(self, args, _document):
        record = self.workloads[args[0]]
        changed = record["status"] in ("running", "orphaned")
        record["status"] = "stopped" if changed else record["status"]
        return dict(self.workload_object(args[0]), changed=changed)

    def do_restart(self, args, _document):
        self.workloads[args[0]]["status"] = "running"
        return dict(self.workload_object(args[0]), changed=True)

    def do_exec(self, args, stdin):
        """Runs nothing: answers with the argv it got, the stdin as stdout, and ``exec_rc`` as rc."""
        options, command = args[:args.index("--")], args[args.index("--") + 1:]
        name = options[-1]
        if self.workloads[name]["status"] != "running":
            raise RuntimeError("workload %r is not running (status: %s); start it first"
                               % (name, self.workloads[name]["status"]))
        self.exec_calls.append({"options": options[:-1], "command": command, "stdin": stdin})
        skipped = "--creates" in options and options[options.index("--creates") + 1] in self.existing_paths
        if skipped or "--check" in options:
            return {"rc": 0 if skipped else None, "skipped": skipped, "msg": "skipped" if skipped else "would run",
                    "stdout": "", "stderr": "", "timed_out": False, "cmd": command}
        timed_out = "--timeout" in options and self.exec_rc == 137
        return {"rc": self.exec_rc, "stdout": stdin or "", "stderr": "", "timed_out": timed_out, "skipped": False,
                "host_pid": 4300, "ns_pid": 7, "start": "s", "end": "e", "delta": "d", "error": None, "cmd": command}

    def do_logs(self, args, _document):
        options, name = args[:-1], args[-1]
        lines = self.logs[name]
        if "--tail" in options:
            count = int(options[options.index("--tail") + 1])
            lines = lines[-count:] if count else []
        return {"name": name, "log": "".join(line + "\n" for line in lines), "log_lines": list(lines),
                "files": ["/var/log/nsfleet/%s.log" % name]}

    def do_ns(self, args, _document):
        assert args == ["--json"], args
        return [{"pidns": 4026531836, "parent": None, "level": 0, "processes": 100, "init_host_pid": 1,
                 "init_comm": "systemd", "workloads": [], "workload": None}] + [
            {"pidns": 4026532200 + index, "parent": 4026531836, "level": 1, "processes": 2, "init_host_pid": 4242,
             "init_comm": "nsfleet-init", "workloads": [name], "workload": name}
            for index, name in enumerate(sorted(self.workloads)) if self.workloads[name]["status"] == "running"]

    def do_rm(self, args, _document):
        names = [arg for arg in args if not arg.startswith("-")]
        changed = any(self.workloads.pop(name, None) is not None for name in names)
        return {"changed": changed}


class FakeModule:
    """The part of AnsibleModule the manager and the client use."""

    def __init__(self, executor, params, tmpdir, check_mode=False, diff=False):
        self.executor = executor
        self.params = params
        self.tmpdir = tmpdir
        self.check_mode = check_mode
        self._diff = diff

    def run_command(self, argv, data=None, binary_data=False):
        return self.executor(argv, data)

    def exit_json(self, **result):
        raise ModuleExit(result, failed=False)

    def fail_json(self, **result):
        raise ModuleExit(result, failed=True)
