"""What node_exporter users expect of the agent's web side: every address, HEAD, OpenMetrics, logs, mTLS, ciphers."""

import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from agent_process import Agent
from logfmt import parse_logfmt
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def http_get(url, method="GET", headers=None, context=None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30, context=context) as response:
        return response.status, dict(response.headers), response.read()


@pytest.mark.parametrize("listen_host", ["", "[::]"])
def test_every_address_is_ipv4_and_ipv6(tmp_path, listen_host):
    agent = Agent(str(tmp_path / "state"), listen_host=listen_host)
    try:
        for url in ("http://127.0.0.1:%d/healthz" % agent.port, "http://[::1]:%d/healthz" % agent.port):
            assert http_get(url)[0] == 200, url
    finally:
        agent.stop()


def test_head_answers_headers_without_a_body(agent):
    status, headers, body = http_get(agent.url + "/metrics", method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 0 and headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_openmetrics_when_the_scraper_asks(agent):
    status, headers, body = http_get(agent.url + "/metrics", headers={"Accept": PROMETHEUS_ACCEPT})
    assert status == 200
    assert headers["Content-Type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    text = body.decode()
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    families = {family.name: family for family in parse_openmetrics(text)}  # raises on anything invalid
    assert families["nsfleet_scrape_errors"].type == "counter"
    assert {sample.name for sample in families["nsfleet_scrape_errors"].samples} == {"nsfleet_scrape_errors_total"}
    assert families["process_cpu_seconds"].type == "counter"
    assert families["nsfleet_pidns_processes"].samples


def test_the_text_format_without_an_accept_header_stays_promtool_clean(agent):
    _status, headers, body = http_get(agent.url + "/metrics")
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8" and b"# EOF" not in body
    result = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
def test_log_lines_parse(tmp_path, log_format):
    agent = Agent(str(tmp_path / "state"), ["--log.level", "debug", "--log.format", log_format])
    http_get(agent.url + "/metrics")
    agent.stop()
    lines = agent.process.stderr.read().decode().splitlines()
    assert lines
    for line in lines:
        if log_format == "json":
            record = json.loads(line)
        else:
            record = parse_logfmt(line)
        assert record["level"] in ("debug", "info", "warn", "error") and record["ts"] and "msg" in record
    assert any("listening on" in line for line in lines) and any("shutting down" in line for line in lines)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA; a server certificate for 127.0.0.1; client certificates with SAN 'scraper' and 'intruder'."""
    directory = tmp_path_factory.mktemp("pki")

    def path(name):
        return str(directory / name)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=nsfleet test CA",
            "-keyout", path("ca.key"), "-out", path("ca.crt"))
    for name, san in (("server", "IP:127.0.0.1"), ("scraper", "DNS:scraper"), ("intruder", "DNS:intruder")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name, "-keyout", path(name + ".key"),
                "-out", path(name + ".csr"))
        (directory / (name + ".ext")).write_text("subjectAltName=%s\n" % san)
        openssl("x509", "-req", "-in", path(name + ".csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-days", "1", "-extfile", path(name + ".ext"), "-out", path(name + ".crt"))
    return path


def tls_agent(tmp_path, pki, tls_lines):
    config = tmp_path / "web.yml"
    config.write_text("tls_server_config:\n  cert_file: %s\n  key_file: %s\n%s"
                      % (pki("server.crt"), pki("server.key"), "".join("  %s\n" % line for line in tls_lines)))
    return Agent(str(tmp_path / "state"), ["--web.config.file", str(config)], scheme="https")


def client(pki, name=None):
    context = ssl.create_default_context(cafile=pki("ca.crt"))
    if name:
        context.load_cert_chain(pki(name + ".crt"), pki(name + ".key"))
    return context


def test_mtls_with_client_allowed_sans(tmp_path, pki):
    agent = tls_agent(tmp_path, pki, ["client_auth_type: RequireAndVerifyClientCert",
                                      "client_ca_file: %s" % pki("ca.crt"), "client_allowed_sans: [scraper]"])
    try:
        assert http_get(agent.url + "/metrics", context=client(pki, "scraper"))[0] == 200
        with pytest.raises(urllib.error.HTTPError) as caught:
            http_get(agent.url + "/metrics", context=client(pki, "intruder"))
        assert caught.value.code == 403
        with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            http_get(agent.url + "/metrics", context=client(pki))  # no certificate at all
    finally:
        agent.stop()


def test_cipher_suites_are_what_the_handshake_uses(tmp_path, pki):
    agent = tls_agent(tmp_path, pki, ["max_version: TLS12", "cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]"])
    try:
        with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as raw:
            with client(pki).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.cipher()[0] == "ECDHE-RSA-AES256-GCM-SHA384" and tls.version() == "TLSv1.2"
    finally:
        agent.stop()


def test_a_made_up_cipher_stops_the_agent_naming_the_key(tmp_path, pki):
    with pytest.raises(RuntimeError) as caught:
        tls_agent(tmp_path, pki, ["cipher_suites: [TLS_RSA_WITH_ROT13_SHA1]"])
    assert "tls_server_config.cipher_suites: unknown cipher suite 'TLS_RSA_WITH_ROT13_SHA1'" in str(caught.value)
