# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of nsfleet.pidns.workloads: a host's whole list of workloads in one executor start.

The executor's ``apply`` plans and acts (``--check`` only plans); this turns
the module's parameters into its input and its answer into the module's
result: one entry per workload, a diff per changed workload, and a failure
that names every workload that failed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.nsfleet.pidns.plugins.module_utils._executor_client import ExecutorClient, ExecutorError
from ansible_collections.nsfleet.pidns.plugins.module_utils._workload_manager import spec_from_params


def entry_from_params(params):
    """One workload of the list as ``nsfleet apply`` takes it: its spec, plus ``state`` and ``recreate``."""
    entry = spec_from_params(params)
    entry["name"] = params["name"]
    entry["state"] = params.get("state") or "started"
    entry["recreate"] = bool(params.get("recreate"))
    return entry


def diff_view(workload):
    if workload is None:
        return {}
    return {"status": workload.get("status"), "spec": workload.get("spec")}


class BatchManager:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.client = ExecutorClient(module, self.params["state_dir"])

    def run(self):
        entries = [entry_from_params(item) for item in self.params["workloads"] or []]
        self.refuse_duplicates(entries)
        try:
            outcome = self.client.apply(entries, prune=self.params["prune"], selector=self.params["selector"],
                                        check=self.module.check_mode)
        except ExecutorError as error:
            self.module.fail_json(msg=str(error), changed=False, results=[])
        results = outcome["results"]
        diffs = [self.diff(result) for result in results]
        for result, diff in zip(results, diffs):
            del result["before"]
            if self.module._diff:
                result["diff"] = {"before": diff["before"], "after": diff["after"]}
        summary = {"changed": outcome["changed"], "results": results}
        if self.module._diff:
            # Ansible shows a list of diffs one by one: the changed workloads, each headed by its name.
            summary["diff"] = [diff for result, diff in zip(results, diffs) if result["changed"]]
        if outcome["failed"]:
            failures = ["%s (%s)" % (result["name"], result["msg"]) for result in results if result["failed"]]
            self.module.fail_json(msg="%d of %d workloads failed: %s" % (len(failures), len(results), "; ".join(failures)),
                                  **summary)
        self.module.exit_json(**summary)

    def refuse_duplicates(self, entries):
        seen = set()
        for index, entry in enumerate(entries):
            if entry["name"] in seen:
                self.module.fail_json(msg="workloads[%d].name: workload %r is listed twice" % (index, entry["name"]))
            seen.add(entry["name"])

    @staticmethod
    def diff(result):
        """Before and after of one workload, headed by its name: Ansible shows a list of these one by one."""
        return {"before_header": result["name"], "after_header": result["name"],
                "before": diff_view(result.get("before")), "after": diff_view(result["workload"])}
