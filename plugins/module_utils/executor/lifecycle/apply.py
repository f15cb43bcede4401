# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``nsfleet apply``: bring a host to a list of desired workloads in one executor start.

Each entry is a spec plus ``state`` and ``recreate``, as the
``nsfleet.pidns.workload`` module takes them. The plan for each workload is
one action (create, recreate, update, start, stop, restart, remove or none)
made of steps; check mode stops after planning. Removals (``state: absent``
and ``--prune``) go first, dependents before the workloads they join;
then the rest, each after the workloads whose namespaces it joins, the
independent ones concurrently up to a bound. A workload that fails is
reported as failed and left as it was, or removed if this run created it;
the others go on. ``restore`` starts again, after a reboot, what was running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ..spec import validate as spec_module
from ..spec.validate import SpecError, spec_hash
from . import observe
from .operations import metadata

STATES = ("present", "started", "stopped", "restarted", "absent")
ACTIVE_STATUSES = ("running", "orphaned")
DEFAULT_PARALLEL = 16
MAX_PARALLEL = 64
# The entry keys that are not spec fields: what to do with the spec.
ENTRY_KEYS = ("state", "recreate")


class Entry:
    """One desired workload: ``raw`` is its spec as given (None: act on the stored workload as it is)."""

    def __init__(self, index, name, state, recreate, raw):
        self.index = index
        self.name = name
        self.state = state
        self.recreate = recreate
        self.raw = raw


def parse_entries(document):
    """The list of desired workloads, checked for shape; SpecError names the entry and key (nothing done yet)."""
    if not isinstance(document, list):
        raise SpecError("--specs", "must be a JSON list of workload specs")
    entries = []
    seen = set()
    for index, item in enumerate(document):
        param = "workloads[%d]" % index
        if not isinstance(item, dict):
            raise SpecError(param, "must be a JSON object")
        name = spec_module.validate_name(item.get("name"), param + ".name")
        if name in seen:
            raise SpecError(param + ".name", "workload %r is listed twice" % name)
        seen.add(name)
        state = item.get("state") or "started"
        if state not in STATES:
            raise SpecError(param + ".state", "must be one of %s, got %r" % (", ".join(STATES), state))
        recreate = item.get("recreate") or False
        if not isinstance(recreate, bool):
            raise SpecError(param + ".recreate", "must be true or false, got %r" % (recreate,))
        raw = dict((key, value) for key, value in item.items() if key not in ENTRY_KEYS and value is not None)
        has_spec = raw.get("command") is not None and state != "absent"
        entries.append(Entry(index, name, state, recreate, raw if has_spec else None))
    return entries


def parse_selector(items):
    """``--selector KEY=VALUE`` words as {key: value}, checked as labels are."""
    return spec_module.label_items("--selector", spec_module.key_values("--selector", items))


def joined_workloads(spec):
    """The names of the workloads whose namespaces ``spec`` joins (workload:<name>)."""
    return set(value.partition(":")[2] for value in (spec.get("namespaces") or {}).values()
               if isinstance(value, str) and value.startswith("workload:"))


def labels_match(spec, selector):
    labels = spec.get("labels") or {}
    return all(labels.get(key) == value for key, value in selector.items())


class Plan:
    """What one workload needs: ``steps`` in order, summed up as ``action``; or the reason it cannot be done."""

    def __init__(self, name, current, wanted=None, steps=(), error=None, pruned=False, raw=None):
        self.name = name
        self.current = current  # Observation or None
        self.wanted = wanted  # the validated spec, or None
        self.raw = raw  # the spec as given: what create validates again, under the workload's lock
        self.steps = list(steps)
        self.error = error
        self.pruned = pruned

    @property
    def action(self):
        steps = self.steps
        if "create" in steps:
            return "recreate" if self.current is not None else "create"
        for step in ("remove", "restart", "start", "stop", "update"):
            if step in steps:
                return step
        return "none"


def plan_entry(entry, current, wanted):
    """The steps that bring ``current`` (an Observation or None) to what ``entry`` asks; nothing touches the host."""
    if entry.state == "absent":
        return Plan(entry.name, current, steps=["remove"] if current is not None else [])
    steps = []
    if wanted is None:
        if current is None:
            return Plan(entry.name, None, error="command: required to create workload %r" % entry.name)
    elif current is None:
        steps = ["create"]
    elif spec_hash(current.spec) != spec_hash(wanted) or entry.recreate:
        steps = ["remove", "create"]
    elif metadata(current.spec) != metadata(wanted):
        steps = ["update"]
    recreating = "create" in steps
    status = current.status if current is not None else None
    if entry.state == "present":
        if recreating and status in ACTIVE_STATUSES:
            steps.append("start")  # a recreated workload keeps running if it was
    elif entry.state == "started":
        if recreating or status != "running":
            steps.append("start")
    elif entry.state == "stopped":
        if not recreating and status in ACTIVE_STATUSES:
            steps.append("stop")
    else:  # restarted
        steps.append("start" if recreating else "restart")
    return Plan(entry.name, current, wanted, steps, raw=entry.raw)


def run_ordered(names, needs, work, on_blocked, parallel, failed_already=()):
    """Run ``work(name)`` for each name after the names it ``needs`` succeeded, at most ``parallel`` at a time.

    ``work`` returns whether it succeeded and never raises. A name whose need
    failed (or is in ``failed_already``), or that waits in a cycle, is not
    run: ``on_blocked(name, failed needs or None for a cycle)``.
    """
    failed = set(failed_already)
    waiting = dict((name, set(needs.get(name, ())) & (set(names) | failed) - {name}) for name in names)
    succeeded = set()
    if not waiting:
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    running = {}
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while waiting or running:
            for name in list(waiting):
                blockers = waiting[name] & failed
                if blockers:
                    del waiting[name]
                    failed.add(name)
                    on_blocked(name, sorted(blockers))
                elif waiting[name] <= succeeded:
                    del waiting[name]
                    running[pool.submit(work, name)] = name
            if not running:
                for name in waiting:
                    on_blocked(name, None)  # each waits for another that waits: a cycle
                return
            finished, _pending = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                (succeeded if future.result() else failed).add(running.pop(future))


class Apply:
    """One ``nsfleet apply``: plan every workload, then (unless ``check``) do the plans."""

    def __init__(self, workloads, entries, prune=False, selector=None, check=False, parallel=DEFAULT_PARALLEL):
        self.workloads = workloads
        self.store = workloads.store
        self.entries = entries
        self.prune = prune
        self.selector = selector or {}
        self.check = check
        # A supervisor starts as a fresh interpreter from the bundle; forked in-process (no bundle),
        # it must not be forked from a threaded process.
        self.parallel = parallel if workloads.executable else 1
        self.entry_states = dict((entry.name, entry.state) for entry in entries)
        self.results = {}

    def run(self):
        """{"changed": bool, "failed": [names], "results": [one per workload, in the list's order, then pruned]}."""
        existing = dict((name, observe.observe(self.store, name)) for name in self.store.names())
        existing = dict((name, observation) for name, observation in existing.items() if observation is not None)
        plans = self.plan_all(existing)
        removals = [plan for plan in plans if plan.error is None and "remove" in plan.steps and "create" not in plan.steps]
        converging = [plan for plan in plans if plan.error is None and plan not in removals]
        for plan in plans:
            if plan.error is not None:
                self.record(plan, failed=True, msg=plan.error, workload=self.before(plan))
        if self.check:
            for plan in removals + converging:
                self.record(plan, workload=self.predicted(plan))
        else:
            self.remove_all(removals)
            # A kept workload whose plan failed fails its joiners; a removal refused keeps the workload as it is.
            self.converge_all(converging, failed_already=set(
                plan.name for plan in plans if plan.error is not None and plan.steps != ["remove"]))
        results = [self.results[plan.name] for plan in plans]
        return {"changed": any(result["changed"] for result in results),
                "failed": [result["name"] for result in results if result["failed"]],
                "results": results}

    # Planning: reads only.

    def plan_all(self, existing):
        listed = set(entry.name for entry in self.entries)
        kept = set(entry.name for entry in self.entries if entry.state != "absent")
        pruned = sorted(name for name, observation in existing.items()
                        if self.prune and name not in listed and labels_match(observation.spec, self.selector))
        joiners = self.joiners(existing, set(pruned) | (listed - kept) & set(existing))
        staying = (set(existing) | kept) - (set(pruned) | listed - kept) | set(joiners)

        def workload_exists(name):
            return name in staying

        plans = []
        for entry in self.entries:
            current = existing.get(entry.name)
            wanted = None
            if entry.raw is not None:
                try:
                    wanted = spec_module.validate(entry.raw, workload_exists, self.store.filter_cache_dir)
                except SpecError as error:
                    plans.append(Plan(entry.name, current, error=str(error)))
                    continue
            plans.append(plan_entry(entry, current, wanted))
        plans += [Plan(name, existing[name], steps=["remove"], pruned=True) for name in pruned]
        for plan in plans:
            if plan.name in joiners and plan.error is None:
                plan.error = "not removed: workload(s) %s join its namespaces; remove them too, or keep it" % (
                    ", ".join(sorted(joiners[plan.name])))
        return plans

    def joiners(self, existing, removing):
        """{workload to remove: [staying workloads that join it]}: those are kept, as their PID namespace
        would take the joiners down with it."""
        staying_specs = [(entry.name, entry.raw if entry.raw is not None else getattr(existing.get(entry.name), "spec", {}))
                         for entry in self.entries if entry.state != "absent" and entry.name not in removing]
        listed = set(entry.name for entry in self.entries)
        staying_specs += [(name, observation.spec) for name, observation in existing.items()
                          if name not in listed and name not in removing]
        found = {}
        for name, spec in staying_specs:
            for target in joined_workloads(spec) & removing:
                found.setdefault(target, []).append(name)
        return found

    def predicted(self, plan):
        """The workload object after the plan, as far as check mode can know (no PIDs of instances not started)."""
        if plan.steps and plan.steps[-1] == "remove" or (plan.current is None and not plan.steps):
            return None
        workload = observe.workload_object(plan.current, with_processes=False) if plan.current is not None else {}
        workload["name"] = plan.name
        if plan.wanted is not None and plan.steps:
            workload.update(spec=plan.wanted, spec_hash=spec_hash(plan.wanted))
        if "create" in plan.steps:
            workload.update(status="created", exit_code=None, error=None, init_host_pid=None, supervisor_host_pid=None,
                            started_at=None, finished_at=None, restart_count=0, namespaces={}, processes=[])
        if plan.steps and plan.steps[-1] in ("start", "restart"):
            workload["status"] = "running"
        elif "stop" in plan.steps:
            workload.update(status="stopped", init_host_pid=None, namespaces={}, processes=[])
        return workload

    # Doing: each workload under its own lock, through the lifecycle operations.

    def remove_all(self, plans):
        by_name = dict((plan.name, plan) for plan in plans)
        # A workload waits for the removal of those that join it.
        needs = dict((name, set()) for name in by_name)
        for plan in plans:
            for target in joined_workloads(plan.current.spec) & set(by_name):
                needs[target].add(plan.name)
        run_ordered(list(by_name), needs, lambda name: self.do(by_name[name]), self.blocked(by_name), self.parallel)

    def converge_all(self, plans, failed_already):
        """The plans that keep their workload; ``failed_already``: workloads whose plan failed, so joiners wait in vain."""
        by_name = dict((plan.name, plan) for plan in plans)
        acting = set(plan.name for plan in plans if plan.steps) | set(failed_already)
        needs = dict((plan.name, joined_workloads(plan.wanted or getattr(plan.current, "spec", {})) & acting)
                     for plan in plans)
        for plan in plans:
            if not plan.steps:
                self.keep_desired(plan)
        run_ordered([plan.name for plan in plans if plan.steps], needs, lambda name: self.do(by_name[name]),
                    self.blocked(by_name), self.parallel, failed_already)

    def blocked(self, by_name):
        def on_blocked(name, failed_needs):
            if failed_needs is None:
                reason = "not done: its namespaces and another workload's join each other in a cycle"
            else:
                reason = "not done: workload(s) %s, whose namespaces it joins or which join it, failed" % (
                    ", ".join(failed_needs))
            self.record(by_name[name], failed=True, msg=reason, workload=self.before(by_name[name]))
        return on_blocked

    def keep_desired(self, plan):
        """Nothing to change: the workload object as it is, and the asked state recorded for ``restore``."""
        self.record_desired(plan.name)
        self.record(plan, workload=observe.workload_object(plan.current, with_processes=False)
                    if plan.current is not None else None)

    def record_desired(self, name):
        """What the list asks, kept for ``restore`` (bookkeeping, not a change): started or stopped."""
        desired = {"started": "started", "restarted": "started", "stopped": "stopped"}.get(self.entry_state(name))
        if desired is None or not self.store.exists(name):
            return
        try:
            self.store.write_desired(name, desired)
        except OSError:
            pass  # removed meanwhile: nothing to record

    def entry_state(self, name):
        return self.entry_states.get(name, "absent")  # not listed: pruned

    def do(self, plan):
        """Perform one plan's steps; a failure is recorded, and what this run created is removed again."""
        name = plan.name
        workload = None
        done = []
        try:
            for step in plan.steps:
                if step in ("create", "update"):
                    workload = self.workloads.create(plan.raw)[0]
                elif step == "remove":
                    self.workloads.remove(name)
                    workload = None
                elif step == "start":
                    workload = self.workloads.start(name, with_processes=False)[0]
                elif step == "restart":
                    workload = self.workloads.restart(name, with_processes=False)[0]
                elif step == "stop":
                    workload = self.workloads.stop(name)[0]
                done.append(step)
        except Exception as error:  # noqa: B902 - one workload's failure is reported as its own
            if "create" in done:
                self.remove_quietly(name)  # nothing half-made: what this run created goes again
            self.record(plan, failed=True, changed=bool(done), msg=str(error), workload=self.current_object(name))
            return False
        if workload is not None:
            workload = dict(workload)
            workload.pop("changed", None)
            workload["processes"] = []
            self.record_desired(name)
        self.record(plan, workload=workload)
        return True

    def remove_quietly(self, name):
        try:
            self.workloads.remove(name, force=True)
        except (RuntimeError, OSError):
            pass

    def current_object(self, name):
        observation = observe.observe(self.store, name)
        return None if observation is None else observe.workload_object(observation, with_processes=False)

    @staticmethod
    def before(plan):
        return observe.workload_object(plan.current, with_processes=False) if plan.current is not None else None

    def record(self, plan, failed=False, changed=None, msg="", workload=None):
        """The result of one workload; ``workload``: the object afterwards (None: it does not exist)."""
        action = plan.action
        self.results[plan.name] = {
            "name": plan.name,
            "action": action,
            "changed": (action != "none" and not failed) if changed is None else changed,
            "failed": failed,
            "msg": msg or ("pruned" if plan.pruned else ""),
            "workload": workload,
            "before": self.before(plan),
        }


def restore(workloads, parallel=DEFAULT_PARALLEL):
    """After a boot: start every workload that was asked to run, or whose restart policy is always.

    State from an earlier boot is rewritten for this one (no stale "running"
    stays on disk for the agent to read). Returns the same document as apply.
    """
    store = workloads.store
    entries = []
    for name in store.names():
        observation = observe.observe(store, name)
        if observation is None:
            continue
        desired = store.read_desired(name) or {}
        if observation.spec["restart_policy"] == "always" or desired.get("state") == "started":
            entries.append(Entry(len(entries), name, "started", False, None))
        elif observation.status == "stale":
            with store.lock(name):
                store.update_state(name)
    return Apply(workloads, entries, parallel=parallel).run()
