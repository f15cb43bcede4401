# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of nsfleet.pidns.workload: compare what exists with what was asked, then act.

Every action is recorded first and performed behind one check-mode gate, so
check mode predicts ``changed`` by running the same decisions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorClient, ExecutorError
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.schema import KNOWN_KEYS as SPEC_OPTIONS
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.spec.schema import UNHASHED_KEYS
ACTIVE_STATUSES = ("running", "orphaned")


def spec_from_params(params):
    """The executor spec: the spec options the user set (None means 'default')."""
    spec = dict((key, params[key]) for key in SPEC_OPTIONS if params.get(key) is not None)
    if spec.get("mounts"):
        spec["mounts"] = [dict((key, value) for key, value in mount.items() if value is not None)
                          for mount in spec["mounts"]]
    return spec


class WorkloadManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        self.client = ExecutorClient(module, self.params["state_dir"])
        self.actions = []
        self.current = None
        self.wanted = None  # {"spec": normalised, "spec_hash": ...} when a command was given

    def run(self):
        try:
            self.current = self.read_current()
            handler = {
                "present": self.make_present,
                "started": self.make_started,
                "stopped": self.make_stopped,
                "restarted": self.make_restarted,
                "absent": self.make_absent,
            }[self.params["state"]]
            handler()
            workload = self.apply()
        except ExecutorError as error:
            self.module.fail_json(msg=str(error), actions=self.actions)
        result = {"changed": bool(self.actions), "actions": self.actions, "workload": workload}
        if self.module._diff:
            result["diff"] = self.diff(workload)
        self.module.exit_json(**result)

    def read_current(self):
        """The workload as it is and, if a spec was given, the spec validated: one executor start."""
        if self.params["state"] == "absent" or self.params["command"] is None:
            return self.client.inspect(self.name)
        answer = self.client.inspect_with_spec(self.name, spec_from_params(self.params))
        self.wanted = {"spec": answer["spec"], "spec_hash": answer["spec_hash"]}
        return answer["workload"]

    # Decisions: each appends actions, nothing touches the host yet.

    def ensure_exists(self):
        if self.wanted is None:
            if self.current is None:
                raise ExecutorError("command: required to create workload %r" % self.name, bad_input=True)
            return  # act on the workload as it is
        if self.current is None:
            self.actions.append("create")
        elif self.current["spec_hash"] != self.wanted["spec_hash"] or self.params["recreate"]:
            self.actions.extend(["remove", "create"])
        elif any(self.current["spec"].get(key) != self.wanted["spec"].get(key) for key in UNHASHED_KEYS):
            self.actions.append("update")  # labels only: stored in place, the workload keeps running

    def recreating(self):
        return "create" in self.actions

    def make_present(self):
        self.ensure_exists()
        if self.recreating() and self.current is not None and self.current["status"] in ACTIVE_STATUSES:
            self.actions.append("start")  # a recreated workload keeps running if it was

    def make_started(self):
        self.ensure_exists()
        if self.recreating() or self.current["status"] != "running":
            self.actions.append("start")

    def make_stopped(self):
        self.ensure_exists()
        if not self.recreating() and self.current["status"] in ACTIVE_STATUSES:
            self.actions.append("stop")

    def make_restarted(self):
        self.ensure_exists()
        self.actions.append("start" if self.recreating() else "restart")

    def make_absent(self):
        if self.current is not None:
            self.actions.append("remove")

    # The one place that changes the host.

    def apply(self):
        if self.module.check_mode:
            return self.predicted()
        workload = self.current
        for action in self.actions:
            if action in ("create", "update"):
                workload = self.client.call(["create", "--spec", "-"], self.wanted["spec"])
            elif action == "remove":
                self.client.call(["rm", self.name])
                workload = None
            else:
                try:
                    workload = self.client.call([action, self.name])
                except ExecutorError:
                    if self.recreating():
                        # Leave nothing half-made: a workload this run created goes again.
                        self.client.call(["rm", "--force", self.name])
                    raise
        if workload is not None:
            workload.pop("changed", None)
        return workload

    def predicted(self):
        """What the workload object will look like, as far as check mode can know."""
        if not self.recreating() and ("remove" in self.actions or self.current is None):
            return None  # removed, or absent and staying so
        workload = dict(self.current or {}, name=self.name)
        if "update" in self.actions:
            workload["spec"] = self.wanted["spec"]
        if self.recreating():
            workload.update(spec=self.wanted["spec"], status="created", init_host_pid=None, processes=[],
                            namespaces={}, exit_code=None, restart_count=0)
        if self.actions and self.actions[-1] in ("start", "restart"):
            workload["status"] = "running"
        elif "stop" in self.actions:
            workload["status"] = "stopped"
        return workload

    def diff(self, workload):
        def view(item):
            if item is None:
                return {}
            return {"status": item.get("status"), "spec": item.get("spec")}
        return {"before": view(self.current), "after": view(workload)}
