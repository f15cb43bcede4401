"""nsfleet_pid_mapping: each process's host PID beside its PID in its own namespace, capped."""

from ..exposition import Family, labels

MAPPING_FAMILY = "nsfleet_pid_mapping"


class MappingCollector:
    """One series per process outside the agent's own namespace, at most ``max_series``.

    A series' text is built once and kept here, by PID, while its labels stay
    the same: with one series per process, formatting was most of a scrape.
    """

    def __init__(self, max_series=10000):
        self.max_series = max_series
        self.lines = {}  # host PID -> (labels that can change, the sample line)

    def families(self, snapshot):
        mapping = Family(MAPPING_FAMILY, "gauge",
                         "A process's host PID and its PID inside its own namespace (the last NSpid field).")
        exported = dropped = 0
        own = snapshot.scan.own_pidns
        names = snapshot.names
        previous = self.lines
        lines = {}
        for process in snapshot.scan.processes:
            if process.pidns == own:
                continue  # the host's own processes get no mapping series
            if exported >= self.max_series:
                dropped += 1
                continue
            # A reused PID differs in pidns or ns_pid; workload and comm can change in a process's life.
            key = (process.pidns, process.ns_pid, names.get(process.pidns, ""), process.comm)
            cached = previous.get(process.pid)
            if cached is None or cached[0] != key:
                cached = (key, "%s%s 1\n" % (MAPPING_FAMILY, labels(
                    [("pidns", key[0]), ("workload", key[2]), ("host_pid", process.pid), ("ns_pid", key[1]),
                     ("comm", key[3])])))
            lines[process.pid] = cached
            mapping.add_line(cached[1])
            exported += 1
        self.lines = lines  # exited processes' lines go
        dropped_family = Family("nsfleet_series_dropped", "gauge",
                                "Series left out of this scrape by a cap, by metric family.")
        dropped_family.add([("family", MAPPING_FAMILY)], dropped)
        return [mapping, dropped_family]
