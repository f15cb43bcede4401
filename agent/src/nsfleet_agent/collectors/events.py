"""nsfleet_proc_*: the process events' metric families, labelled with each namespace's workload.

The counters of a namespace stay exported while the namespace lives and for
``retain_seconds`` after its last event, so the last exits of a namespace that
just died are still scraped; then its series go, like every other family's.
"""

import time

from ..exposition import Family

# Long enough for a few scrapes to see a dead namespace's final counts.
RETAIN_SECONDS = 600.0


class ProcEventsCollector:
    def __init__(self, events, retain_seconds=RETAIN_SECONDS):
        self.events = events
        self.retain_seconds = retain_seconds
        self.workload_of = {}  # pidns -> the workload name it last had, for the series of dead namespaces

    def families(self, snapshot):
        events, exits, signals, last_event, lost, up = self.events.counts()
        now = time.monotonic()
        names = snapshot.names
        live = snapshot.namespaces
        for pidns, name in names.items():
            self.workload_of[pidns] = name
        kept = set(pidns for pidns, when in last_event.items()
                   if pidns in live or now - when < self.retain_seconds)
        self.workload_of = dict((pidns, name) for pidns, name in self.workload_of.items() if pidns in kept)
        if len(kept) < len(last_event):
            self.events.forget_namespaces(kept)

        def pairs(pidns):
            return [("pidns", pidns), ("workload", names.get(pidns, self.workload_of.get(pidns, "")))]

        total = Family("nsfleet_proc_events_total", "counter",
                       "Process events (fork, exec, exit) in pidns, from the kernel's process connector. Threads are "
                       "not counted; a process gone before its event was handled counts in its parent's namespace.")
        for (event, pidns), count in sorted(events.items(), key=_key):
            if pidns in kept:
                total.add([("event", event)] + pairs(pidns), count)
        exited = Family("nsfleet_proc_exits_total", "counter",
                        "Processes of pidns that ended, by how: exited (a call to exit) or signaled (killed).")
        for (pidns, how), count in sorted(exits.items(), key=_key):
            if pidns in kept:
                exited.add(pairs(pidns) + [("how", how)], count)
        signaled = Family("nsfleet_proc_exit_signals_total", "counter",
                          "Processes of pidns killed by a signal, by signal.")
        for (pidns, name), count in sorted(signals.items(), key=_key):
            if pidns in kept:
                signaled.add(pairs(pidns) + [("signal", name)], count)
        lost_family = Family("nsfleet_proc_events_lost_total", "counter",
                             "Process events the agent missed (the kernel's buffer overflowed); each loss makes the "
                             "next scrape list /proc in full, so the gauges stay right.")
        lost_family.add([], lost)
        up_family = Family("nsfleet_proc_connector_up", "gauge",
                           "1 while process events flow from the kernel's process connector; 0 when the agent "
                           "cannot subscribe (not root, or outside the initial user or PID namespace) and polls.")
        up_family.add([], 1 if up else 0)
        return [total, exited, signaled, lost_family, up_family]


def _key(item):
    return tuple(str(part) for part in item[0])
