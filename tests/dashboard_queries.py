"""Run a Grafana dashboard's queries against a real Prometheus, as Grafana would, for one or many hosts.

Grafana substitutes the dashboard's variables before it sends a query; here
$job, $instance and $workload take the values given, ${datasource} needs
none, and $__rate_interval a fixed window that spans several scrapes.
"""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

FAMILY = re.compile(r"\b(nsfleet_[a-z_]+|up|scrape_duration_seconds)\b")


def load(path):
    with open(path) as dashboard_file:
        return json.load(dashboard_file)


def panels(dashboard):
    """Every panel, those inside collapsed rows too."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard):
    """(panel title, refId, expr) for every Prometheus target of every panel."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel["title"], target.get("refId", ""), target["expr"]


def families(expr):
    """The metric families a query reads (nsfleet_*, and Prometheus's own up and scrape_duration_seconds)."""
    return set(FAMILY.findall(expr))


def regex_literal(value):
    """``value`` as a regex inside a PromQL double-quoted string: regex escapes, then string escapes."""
    return re.escape(value).replace("\\", "\\\\")


def any_of(values):
    """A regex for =~ matching exactly these values, as Grafana writes a multi-value variable."""
    return "|".join(regex_literal(value) for value in values)


def substitute(expr, job, instances, workload=".*", rate_interval="1m"):
    values = {"job": regex_literal(job), "instance": any_of(instances), "workload": workload,
              "__rate_interval": rate_interval, "__interval": rate_interval, "datasource": ""}
    return re.sub(r"\$\{?(__rate_interval|__interval|job|instance|workload|datasource)\}?",
                  lambda match: values[match.group(1)], expr)


def instant_query(prometheus_url, promql, timeout=5):
    url = "%s/api/v1/query?%s" % (prometheus_url, urllib.parse.urlencode({"query": promql}))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            document = json.load(response)
    except urllib.error.HTTPError as error:  # a query Prometheus refuses never gets better by waiting
        raise ValueError("%s: %s" % (promql, error.read().decode(errors="replace")))
    if document.get("status") != "success":
        raise ValueError("%s: %s" % (promql, document))
    return document["data"]["result"]


def label_values(prometheus_url, label, selector, timeout=5):
    """What a label_values(selector, label) variable offers."""
    url = "%s/api/v1/label/%s/values?%s" % (prometheus_url, label, urllib.parse.urlencode({"match[]": selector}))
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)["data"]


def dashboard_gaps(prometheus_url, dashboard, instances, job="nsfleet", only_families=None, workload=".*",
                   rate_interval="1m"):
    """{(panel, refId, expr): sorted instances the query returns no data for}, for queries with gaps only.

    Queries that read a family outside ``only_families`` (when given) are left
    out. Every query keeps the instance label, so one query answers for all
    hosts.
    """
    gaps = {}
    for title, ref_id, expr in queries(dashboard):
        if only_families is not None and not families(expr) <= set(only_families):
            continue
        promql = substitute(expr, job, instances, workload, rate_interval)
        result = instant_query(prometheus_url, promql)
        answered = set(series["metric"].get("instance") for series in result)
        missing = sorted(set(instances) - answered)
        if missing:
            gaps[(title, ref_id, promql)] = missing
    return gaps


def wait_for_dashboard(prometheus_url, dashboard, instances, timeout=120, **options):
    """dashboard_gaps() until every query has answered for every instance, or ``timeout`` seconds passed.

    A query counts as answered for an instance once it has returned data for
    it, so a scrape that fails now and then (a loaded machine) does not make
    every query start over. The gaps left.
    """
    deadline = time.monotonic() + timeout
    remaining = None
    while True:
        gaps = dashboard_gaps(prometheus_url, dashboard, instances, **options)
        if remaining is None:
            remaining = gaps
        else:
            remaining = dict((query, sorted(set(missing) & set(gaps.get(query, ()))))
                             for query, missing in remaining.items())
            remaining = dict((query, missing) for query, missing in remaining.items() if missing)
        if not remaining or time.monotonic() > deadline:
            return remaining
        time.sleep(1)
