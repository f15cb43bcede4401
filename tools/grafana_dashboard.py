#!/usr/bin/env python3
"""Generate monitoring/grafana/nsfleet.json, the nsfleet Grafana dashboard, with grafana-foundation-sdk.

    .venv/bin/python tools/grafana_dashboard.py            # rewrite the checked-in file
    .venv/bin/python tools/grafana_dashboard.py --check    # exit 1 if the checked-in file is stale

Every query filters on the chained variables $job, $instance and (where the
family has the label) $workload, and rates use $__rate_interval.
"""

import argparse
import json
import os
import sys

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (BigValueColorMode, BigValueGraphMode, LegendDisplayMode,
                                                  LegendPlacement, SortOrder, TooltipDisplayMode)
from grafana_foundation_sdk.models.dashboard import (DataSourceRef, DashboardCursorSync, Threshold, ThresholdsMode,
                                                     VariableRefresh, VariableSort)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(TOP, "monitoring", "grafana", "nsfleet.json")
UID = "nsfleet-pidns"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
AGENT = 'job=~"$job", instance=~"$instance"'
WORKLOAD = AGENT + ', workload=~"$workload"'
FULL_WIDTH = 24


def query(expr, legend, instant=False, ref_id="A"):
    target = prometheus.Dataquery().ref_id(ref_id).expr(expr).legend_format(legend).datasource(DATASOURCE)
    if instant:
        target = target.instant().format("table")
    return target


def graph(title, description, unit, targets):
    panel = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE).unit(unit)
             .fill_opacity(10).span(12).height(8)
             .legend(common.VizLegendOptions().display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM)
                     .show_legend(True))
             .tooltip(common.VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)))
    for ref_id, target in zip("ABCDEFGH", targets):
        panel = panel.with_target(target.ref_id(ref_id))
    return panel


def single_stat(title, description, target, thresholds=None):
    """The last value of each series; coloured by ``thresholds`` [(from value, colour)], if given."""
    panel = (stat.Panel().title(title).description(description).span(12).height(8).datasource(DATASOURCE)
             .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
             .graph_mode(BigValueGraphMode.NONE).with_target(target))
    if thresholds:
        steps = [Threshold(value=value, color=colour) for value, colour in thresholds]
        panel = (panel.color_mode(BigValueColorMode.BACKGROUND)
                 .thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)))
    return panel


def instant_table(title, description, width, target):
    return (table.Panel().title(title).description(description).span(width).height(8).datasource(DATASOURCE)
            .show_header(True).with_target(target))


def variables():
    datasource = (dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))

    def label_variable(name, label, source, include_all):
        variable = (dashboard.QueryVariable(name).label(label).datasource(DATASOURCE)
                    .query({"query": "label_values(%s, %s)" % (source, name), "refId": "PrometheusVariableQueryEditor"})
                    .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
                    .multi(include_all).include_all(include_all))
        return variable.all_value(".*") if include_all else variable

    return [
        datasource,
        label_variable("job", "Job", "nsfleet_build_info", False),
        label_variable("instance", "Instance", 'nsfleet_build_info{job=~"$job"}', True),
        # ".*" for All also matches workload="", the namespaces nsfleet did not create.
        label_variable("workload", "Workload", 'nsfleet_workload_up{%s}' % AGENT, True),
    ]


def namespace_panels():
    per_namespace = '{{instance}} {{workload}} pidns={{pidns}}'
    return [
        graph("Processes per PID namespace", "nsfleet_pidns_processes: processes whose PID namespace is pidns.",
              "short", [query("sum by (instance, pidns, workload) (nsfleet_pidns_processes{%s})" % WORKLOAD,
                              per_namespace)]),
        graph("Threads per PID namespace", "nsfleet_pidns_threads.", "short",
              [query("sum by (instance, pidns, workload) (nsfleet_pidns_threads{%s})" % WORKLOAD, per_namespace)]),
        graph("Zombies per PID namespace", "nsfleet_pidns_zombies: exited, not yet reaped by their parent. "
                                           "A count that only grows is an init that does not reap.", "short",
              [query("sum by (instance, pidns, workload) (nsfleet_pidns_zombies{%s})" % WORKLOAD, per_namespace)]),
        instant_table("PID namespaces", "nsfleet_pidns_info: how namespaces nest, and the host PID of each one's "
                                        "init.", 12,
                      query("max by (instance, pidns, workload, parent_pidns, level, init_host_pid) "
                            "(nsfleet_pidns_info{%s})" % WORKLOAD, "", instant=True)),
        instant_table("PID mapping", "nsfleet_pid_mapping: each process's host PID next to its PID inside its "
                                     "namespace (capped; see nsfleet_series_dropped).", FULL_WIDTH,
                      query("max by (instance, workload, pidns, host_pid, ns_pid, comm) "
                            "(nsfleet_pid_mapping{%s})" % WORKLOAD, "", instant=True)),
    ]


def workload_panels():
    per_workload = "{{instance}} {{workload}}"
    return [
        single_stat("Workloads up", "nsfleet_workload_up: 1 while the workload's init runs.",
                    query("max by (instance, workload) (nsfleet_workload_up{%s})" % WORKLOAD, per_workload),
                    thresholds=[(None, "red"), (1, "green")]),
        graph("Workload restarts", "Restarts by the supervisor in each interval (nsfleet_workload_restarts_total).",
              "short", [query("sum by (instance, workload) (increase(nsfleet_workload_restarts_total{%s}"
                              "[$__rate_interval]))" % WORKLOAD, per_workload)]),
    ]


def event_panels():
    return [
        graph("Process events per workload", "fork, exec and exit per second, from the kernel's proc connector "
                                             "(nsfleet_proc_events_total; --collector.proc_events).", "ops",
              [query("sum by (instance, workload, event) (rate(nsfleet_proc_events_total{%s}[$__rate_interval]))"
                     % WORKLOAD, "{{instance}} {{workload}} {{event}}")]),
        graph("Process exits per workload", "Exits per second, by how: exited or signaled "
                                            "(nsfleet_proc_exits_total).", "ops",
              [query("sum by (instance, workload, how) (rate(nsfleet_proc_exits_total{%s}[$__rate_interval]))"
                     % WORKLOAD, "{{instance}} {{workload}} {{how}}")]),
        graph("Exit signals per workload", "Processes killed by a signal, per second, by signal "
                                           "(nsfleet_proc_exit_signals_total).", "ops",
              [query("sum by (instance, workload, signal) (rate(nsfleet_proc_exit_signals_total{%s}"
                     "[$__rate_interval]))" % WORKLOAD, "{{instance}} {{workload}} {{signal}}")]),
        graph("Proc connector", "Events the kernel dropped before the agent read them, per second "
                                "(nsfleet_proc_events_lost_total), and whether tracing runs (nsfleet_proc_connector_up).",
              "short",
              [query("sum by (instance) (rate(nsfleet_proc_events_lost_total{%s}[$__rate_interval]))" % AGENT,
                     "{{instance}} events lost/s"),
               query("max by (instance) (nsfleet_proc_connector_up{%s})" % AGENT, "{{instance}} connector up")]),
    ]


def resource_panels():
    per_workload = "{{instance}} {{workload}}"
    return [
        graph("CPU per workload", "CPU time per second, in cores (nsfleet_workload_cpu_seconds_total).", "short",
              [query("sum by (instance, workload) (rate(nsfleet_workload_cpu_seconds_total{%s}[$__rate_interval]))"
                     % WORKLOAD, per_workload)]),
        graph("Memory per workload", "Memory in use (nsfleet_workload_memory_bytes) and its limit "
                                     "(nsfleet_workload_memory_limit_bytes).", "bytes",
              [query("sum by (instance, workload) (nsfleet_workload_memory_bytes{%s})" % WORKLOAD, per_workload),
               query("sum by (instance, workload) (nsfleet_workload_memory_limit_bytes{%s})" % WORKLOAD,
                     per_workload + " limit")]),
        graph("PIDs per workload", "Tasks in the workload's cgroup (nsfleet_workload_pids) and its limit "
                                   "(nsfleet_workload_pids_limit).", "short",
              [query("sum by (instance, workload) (nsfleet_workload_pids{%s})" % WORKLOAD, per_workload),
               query("sum by (instance, workload) (nsfleet_workload_pids_limit{%s})" % WORKLOAD,
                     per_workload + " limit")]),
        graph("OOM kills per workload", "Processes the kernel's OOM killer ended in each interval "
                                        "(nsfleet_workload_oom_kills_total).", "short",
              [query("sum by (instance, workload) (increase(nsfleet_workload_oom_kills_total{%s}[$__rate_interval]))"
                     % WORKLOAD, per_workload)]),
    ]


def agent_panels():
    return [
        graph("Agent scrape duration", "Time the agent took to read /proc and the state dir "
                                       "(nsfleet_scrape_duration_seconds), and the whole scrape as Prometheus "
                                       "saw it (scrape_duration_seconds).", "s",
              [query("max by (instance) (nsfleet_scrape_duration_seconds{%s})" % AGENT, "{{instance}} agent"),
               query("max by (instance) (scrape_duration_seconds{%s})" % AGENT, "{{instance}} prometheus")]),
        graph("Agent scrape errors", "Processes or files skipped per second, by reason "
                                     "(nsfleet_scrape_errors_total); 'vanished' is normal churn.", "ops",
              [query("sum by (instance, reason) (rate(nsfleet_scrape_errors_total{%s}[$__rate_interval]))" % AGENT,
                     "{{instance}} {{reason}}")]),
        graph("Agent up and dropped series", "Whether Prometheus reaches the agent (up), and series left out by "
                                             "a cap (nsfleet_series_dropped).", "short",
              [query("max by (instance) (up{%s})" % AGENT, "{{instance}} up"),
               query("sum by (instance, family) (nsfleet_series_dropped{%s})" % AGENT, "{{instance}} {{family}} dropped")]),
        single_stat("Agent version", "nsfleet_build_info, by instance.",
                    query("max by (instance, version) (nsfleet_build_info{%s})" % AGENT, "{{instance}} {{version}}")),
    ]


def build():
    board = (dashboard.Dashboard("nsfleet: PID namespaces and workloads").uid(UID)
             .description("PID namespaces, nsfleet workloads and the nsfleet-agent, per host.")
             .tags(["nsfleet", "pidns"]).editable().tooltip(DashboardCursorSync.CROSSHAIR)
             .time("now-1h", "now").refresh("30s").timezone("browser").variables(variables()))
    rows = [("PID namespaces", namespace_panels()), ("Workloads", workload_panels()),
            ("Process events (--collector.proc_events)", event_panels()), ("Workload resources", resource_panels()),
            ("Agent", agent_panels())]
    panel_id = 0
    for title, panels in rows:
        panel_id += 1
        board = board.with_row(dashboard.Row(title).id(panel_id))
        for panel in panels:
            panel_id += 1
            board = board.with_panel(panel.id(panel_id))
    return board.build()


def render():
    """The dashboard as checked in: sorted keys, two-space indent, a final newline."""
    document = json.loads(json.dumps(build(), cls=JSONEncoder))
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if %s is not what this script makes" % OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        with open(OUTPUT) as current:
            if current.read() != text:
                print("%s is stale: run tools/grafana_dashboard.py" % OUTPUT, file=sys.stderr)
                return 1
        return 0
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w") as out:
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
