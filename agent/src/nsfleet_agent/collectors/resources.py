"""Per-workload resource families: CPU, memory, PIDs, their limits and OOM kills.

A workload with a cgroup of ours gets the cgroup's figures. Every other PID
namespace, and one whose workload's cgroup lacks a figure, gets CPU and
memory summed over its processes from the scan's /proc/PID/stat reads,
labelled with the workload that names it, or "".
"""

import os

from ..exposition import Family


class ResourceCollector:
    def __init__(self, clock_ticks=None, page_size=None):
        """``clock_ticks`` per second and ``page_size`` in bytes: the host's, unless a test says otherwise."""
        self.clock_ticks = clock_ticks or os.sysconf("SC_CLK_TCK")
        self.page_size = page_size or os.sysconf("SC_PAGE_SIZE")

    def families(self, snapshot):
        cpu = Family("nsfleet_workload_cpu_seconds_total", "counter",
                     "CPU time of the workload: its cgroup's usage, else its PID namespace's processes' user and "
                     "system time, with that of the children they reaped.")
        memory = Family("nsfleet_workload_memory_bytes", "gauge",
                        "Memory of the workload: its cgroup's usage (memory.current, memory.usage_in_bytes), "
                        "else the resident set summed over its PID namespace's processes.")
        memory_limit = Family("nsfleet_workload_memory_limit_bytes", "gauge",
                              "The workload cgroup's memory limit; no series when it has none.")
        pids = Family("nsfleet_workload_pids", "gauge", "Tasks (processes and threads) in the workload's cgroup.")
        pids_limit = Family("nsfleet_workload_pids_limit", "gauge",
                            "The workload cgroup's task limit; no series when it has none.")
        oom_kills = Family("nsfleet_workload_oom_kills_total", "counter",
                           "Processes of the workload's cgroup killed by the OOM killer.")
        from_cgroup = {}  # workload name -> CgroupUsage, of running workloads only
        for name, usage in sorted(snapshot.cgroups.items()):
            running = snapshot.running.get(name)
            pidns = snapshot.workloads[name].pidns if running else None
            if running:
                from_cgroup[name] = usage
            pairs = [("workload", name), ("pidns", "" if pidns is None else pidns)]
            for family, figure in ((cpu, usage.cpu_seconds), (memory, usage.memory_bytes),
                                   (memory_limit, usage.memory_limit_bytes), (pids, usage.pids),
                                   (pids_limit, usage.pids_limit), (oom_kills, usage.oom_kills)):
                if figure is not None:
                    family.add(pairs, figure)
        for inode, namespace in sorted(snapshot.namespaces.items()):
            name = snapshot.names.get(inode, "")
            usage = from_cgroup.get(name)
            pairs = [("workload", name), ("pidns", inode)]
            if usage is None or usage.cpu_seconds is None:
                cpu.add(pairs, namespace.cpu_ticks / self.clock_ticks)
            if usage is None or usage.memory_bytes is None:
                memory.add(pairs, namespace.rss_pages * self.page_size)
        return [cpu, memory, memory_limit, pids, pids_limit, oom_kills]
