import subprocess

import bcrypt
import pytest

from nsfleet_agent.server import parse_listen_address
from nsfleet_agent.web_config import WebConfigError, load


def write(tmp_path, text):
    path = tmp_path / "web.yml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = str(directory / "agent.crt"), str(directory / "agent.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def test_basic_auth_users_with_bcrypt(tmp_path):
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2y$")
    config = load(write(tmp_path, "basic_auth_users:\n  prometheus: '%s'\n" % hashed))
    assert config.ssl_context is None
    assert config.check_password("prometheus", "s3cret")
    assert config.check_password("prometheus", "s3cret")  # the cached path
    assert not config.check_password("prometheus", "wrong")
    assert not config.check_password("nobody", "s3cret")


def test_tls(tmp_path, certificate):
    cert, key = certificate
    config = load(write(tmp_path, "tls_server_config:\n  cert_file: %s\n  key_file: %s\n" % (cert, key)))
    assert config.ssl_context is not None


@pytest.mark.parametrize("text, message", [
    ("tls_server_config:\n  cert_file: /x\n", "cert_file and key_file"),
    ("basic_auth_users:\n  u: plain-text\n", "bcrypt"),
    ("basic_auth_user:\n  u: x\n", "unknown key"),
    ("tls_server_config:\n  cert_fil: /x\n", "unknown key"),
    ("- a list\n", "must be a mapping"),
    ("key: [unclosed\n", "not valid YAML"),
    ("tls_server_config:\n  cert_file: /no/such.crt\n  key_file: /no/such.key\n", "cannot load"),
])
def test_bad_web_configs_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(WebConfigError) as caught:
        load(write(tmp_path, text))
    assert message in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(WebConfigError):
        load(str(tmp_path / "absent.yml"))


@pytest.mark.parametrize("text, expected", [("127.0.0.1:9633", ("127.0.0.1", 9633)), (":9633", ("0.0.0.0", 9633)),
                                            ("[::1]:9633", ("::1", 9633))])
def test_listen_addresses(text, expected):
    assert parse_listen_address(text) == expected


def test_bad_listen_address():
    with pytest.raises(ValueError):
        parse_listen_address("localhost")
