"""What /metrics serves: the enabled collectors' families from one snapshot, then the agent's own process_*."""

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_latest_openmetrics

from .collectors.events import ProcEventsCollector
from .collectors.mapping import MappingCollector
from .collectors.pidns import PidnsCollector
from .collectors.resources import ResourceCollector
from .collectors.scrape import ScrapeCollector
from .collectors.workloads import WorkloadCollector
from .exposition import OPENMETRICS_EOF, render
from .snapshot import Scraper


class Exporter:
    """Fresh families on every call, so a namespace that died has no series left."""

    def __init__(self, scraper, collectors):
        self.scraper = scraper
        self.collectors = list(collectors) + [ScrapeCollector()]
        # The agent's own process_* metrics, on a registry of its own (never the global one).
        self.registry = CollectorRegistry(auto_describe=False)
        ProcessCollector(registry=self.registry)

    def families(self):
        snapshot = self.scraper.snapshot()
        families = []
        for collector in self.collectors:
            families += collector.families(snapshot)
        return families

    def prime(self):
        """One scrape's work before the first scrape: the process table, the namespaces, the series' text."""
        self.render()

    def render(self, openmetrics=False):
        """The whole exposition, text format or OpenMetrics: nsfleet's families, then process_*."""
        if not openmetrics:
            return render(self.families()) + generate_latest(self.registry)
        own = generate_latest_openmetrics(self.registry)
        if own.endswith(OPENMETRICS_EOF):
            own = own[:-len(OPENMETRICS_EOF)]
        return render(self.families(), openmetrics=True) + own + OPENMETRICS_EOF


def make_exporter(proc_root="/proc", state_dir="/run/nsfleet", collect_pidns=True, collect_mapping=True,
                  collect_workloads=True, mapping_max_series=10000, collect_resources=True, parent_of=None,
                  descriptor_budget=None, proc_events=None, stat_max_age=None):
    """The exporter with the collectors the --collector.* flags switch on.

    ``proc_events``: a started ProcEvents (--collector.proc_events), or None. With it, the processes' CPU time
    and memory that the resources collector sums are at most ``stat_max_age`` seconds old (None: read on
    every scrape).
    """
    scraper = Scraper.of_host(proc_root, state_dir, read_states=collect_workloads or collect_resources,
                              read_cgroups=collect_resources, parent_of=parent_of,
                              descriptor_budget=descriptor_budget, proc_events=proc_events,
                              stat_max_age=stat_max_age)
    collectors = []
    if collect_pidns:
        collectors.append(PidnsCollector())
    if collect_mapping:
        collectors.append(MappingCollector(mapping_max_series))
    if collect_workloads:
        collectors.append(WorkloadCollector())
    if proc_events is not None:
        collectors.append(ProcEventsCollector(proc_events))
    if collect_resources:
        collectors.append(ResourceCollector())
    return Exporter(scraper, collectors)
