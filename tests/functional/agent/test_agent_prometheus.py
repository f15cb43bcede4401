"""A real Prometheus (Debian's package) scrapes the agent; PromQL sees the namespaces."""

import json
import time
import urllib.parse
import urllib.request

import pytest
from prometheus_server import Prometheus


@pytest.fixture
def prometheus(tmp_path, agent):
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    with Prometheus(workdir, ["127.0.0.1:%d" % agent.port]) as server:
        yield server.url


def query(base, promql):
    url = "%s/api/v1/query?%s" % (base, urllib.parse.urlencode({"query": promql}))
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            document = json.load(response)
    except OSError:
        return None  # not up yet
    results = document["data"]["result"]
    return results[0]["value"][1] if results else None


def eventually(base, promql, expected, timeout=60):
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = query(base, promql)
        if value == expected:
            return value
        time.sleep(0.5)
    return value


def test_prometheus_counts_the_namespaces(prometheus, nested):
    selector = 'pidns=~"%s|%s"' % (nested.outer, nested.inner)
    assert eventually(prometheus, 'up{job="nsfleet"}', "1") == "1"
    assert eventually(prometheus, "count(nsfleet_pidns_info{%s})" % selector, "2") == "2"
    assert eventually(prometheus, "sum(nsfleet_pidns_processes{%s})" % selector, "8") == "8"
    inner_mapping = 'count(nsfleet_pid_mapping{pidns="%s"})' % nested.inner
    assert eventually(prometheus, inner_mapping, "4") == "4"
