"""A real Prometheus (Debian's package) scrapes the agent; PromQL sees the namespaces."""

import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from support import free_port

CONFIG = """global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: nsfleet
    static_configs:
      - targets: ['127.0.0.1:{agent_port}']
"""


@pytest.fixture
def prometheus(tmp_path, agent):
    config = tmp_path / "prometheus.yml"
    config.write_text(CONFIG.format(agent_port=agent.port))
    port = free_port()
    process = subprocess.Popen(["prometheus", "--config.file", str(config), "--storage.tsdb.path",
                                str(tmp_path / "tsdb"), "--web.listen-address", "127.0.0.1:%d" % port,
                                "--log.level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield "http://127.0.0.1:%d" % port
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
