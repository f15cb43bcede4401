"""Per-PID-namespace families: processes, threads, zombies, and how the namespaces nest."""

from ..exposition import Family


class PidnsCollector:
    def families(self, snapshot):
        processes = Family("nsfleet_pidns_processes", "gauge", "Processes whose PID namespace is pidns.")
        threads = Family("nsfleet_pidns_threads", "gauge", "Threads of the processes in pidns.")
        zombies = Family("nsfleet_pidns_zombies", "gauge", "Processes in pidns that exited and wait to be reaped.")
        info = Family("nsfleet_pidns_info", "gauge", "A PID namespace: its parent, its nesting level below the "
                                                     "agent's namespace, and its init's host PID.")
        for inode, namespace in sorted(snapshot.namespaces.items()):
            pairs = [("pidns", inode), ("workload", snapshot.names.get(inode, ""))]
            processes.add(pairs, namespace.processes)
            threads.add(pairs, namespace.threads)
            zombies.add(pairs, namespace.zombies)
            info.add(pairs + [("parent_pidns", "" if namespace.parent is None else namespace.parent),
                              ("level", namespace.level),
                              ("init_host_pid", "" if namespace.init_host_pid is None else namespace.init_host_pid)],
                     1)
        return [processes, threads, zombies, info]
