"""TLS and basic auth from --web.config.file, over a real socket."""

import base64
import urllib.error

import bcrypt
import pytest

from agent_process import Agent, client_context


@pytest.fixture
def secured(tmp_path, certificate):
    cert, key = certificate
    hashed = bcrypt.hashpw(b"scrape-me", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$")
    config = tmp_path / "web.yml"
    config.write_text("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: '%s'\n"
                      % (cert, key, hashed))
    agent = Agent(str(tmp_path / "state"), ["--web.config.file", str(config)], scheme="https")
    yield agent, client_context(cert)
    agent.stop()


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}


def test_401_without_credentials(secured):
    agent, context = secured
    with pytest.raises(urllib.error.HTTPError) as caught:
        agent.get(context=context)
    assert caught.value.code == 401
    assert "Basic" in caught.value.headers["WWW-Authenticate"]


def test_401_with_wrong_password(secured):
    agent, context = secured
    with pytest.raises(urllib.error.HTTPError) as caught:
        agent.get(headers=basic("prometheus", "guess"), context=context)
    assert caught.value.code == 401


def test_200_with_credentials_over_tls(secured):
    agent, context = secured
    status, body = agent.get(headers=basic("prometheus", "scrape-me"), context=context)
    assert status == 200 and "nsfleet_pidns_processes" in body


def test_plain_http_is_refused(secured):
    agent, _context = secured
    plain = agent.url.replace("https://", "http://")
    with pytest.raises(OSError):
        import urllib.request
        urllib.request.urlopen(plain + "/metrics", timeout=10).read()


def test_a_bad_web_config_stops_the_agent_with_a_message(tmp_path):
    config = tmp_path / "web.yml"
    config.write_text("basic_auth_users:\n  prometheus: not-a-hash\n")
    with pytest.raises(RuntimeError) as caught:
        Agent(str(tmp_path / "state"), ["--web.config.file", str(config)])
    assert "bcrypt" in str(caught.value)
