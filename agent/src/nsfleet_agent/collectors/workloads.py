"""Per-workload families from the executor's state: up, restarts."""

from ..exposition import Family


class WorkloadCollector:
    def families(self, snapshot):
        up = Family("nsfleet_workload_up", "gauge", "1 if the nsfleet workload's init is running.")
        restarts = Family("nsfleet_workload_restarts_total", "counter", "Restarts of the workload by its supervisor.")
        for name, workload in sorted(snapshot.workloads.items()):
            up.add([("workload", name)], 1 if snapshot.running[name] else 0)
            restarts.add([("workload", name)], workload.restart_count)
        return [up, restarts]
