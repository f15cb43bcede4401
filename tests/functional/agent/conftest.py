"""Fixtures: a running agent, nested namespaces, a TLS certificate."""

import subprocess

import pytest
from agent_process import Agent, NestedNamespaces


@pytest.fixture
def agent(tmp_path):
    running = Agent(str(tmp_path / "host" / "run" / "nsfleet"))
    yield running
    running.stop()


@pytest.fixture
def nested():
    namespaces = NestedNamespaces()
    yield namespaces
    namespaces.kill()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = str(directory / "agent.crt"), str(directory / "agent.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key
