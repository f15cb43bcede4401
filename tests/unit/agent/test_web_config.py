import ssl
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


@pytest.mark.parametrize("text, expected", [("127.0.0.1:10146", ("127.0.0.1", 10146)), (":10146", ("::", 10146)),
                                            ("[::1]:10146", ("::1", 10146)), ("[::]:10146", ("::", 10146)),
                                            ("0.0.0.0:10146", ("0.0.0.0", 10146))])
def test_listen_addresses(text, expected):
    assert parse_listen_address(text) == expected


def test_bad_listen_address():
    with pytest.raises(ValueError):
        parse_listen_address("localhost")


@pytest.mark.parametrize("address", ["localhost", "::1:10146", ":0", ":70000", "[::1:10146"])
def test_listen_addresses_that_are_refused(address):
    with pytest.raises(ValueError) as caught:
        parse_listen_address(address)
    assert "--web.listen-address" in str(caught.value)


def tls_config(cert, key, extra=""):
    return "tls_server_config:\n  cert_file: %s\n  key_file: %s\n%s" % (cert, key, extra)


def test_cipher_suites_choose_what_openssl_offers(tmp_path, certificate):
    config = load(write(tmp_path, tls_config(*certificate, "  max_version: TLS12\n  cipher_suites:\n"
                                                           "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n")))
    offered = [cipher["name"] for cipher in config.ssl_context.get_ciphers() if cipher["protocol"] == "TLSv1.2"]
    assert offered == ["ECDHE-RSA-AES128-GCM-SHA256"]


def test_prefer_server_cipher_suites_false_lets_the_client_choose(tmp_path, certificate):
    config = load(write(tmp_path, tls_config(*certificate, "  prefer_server_cipher_suites: false\n")))
    assert not config.ssl_context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    config = load(write(tmp_path, tls_config(*certificate)))
    assert config.ssl_context.options & ssl.OP_CIPHER_SERVER_PREFERENCE


@pytest.mark.parametrize("extra, message", [
    ("  cipher_suites: [TLS_MADE_UP_WITH_ROT13_SHA1]\n", "cipher_suites: unknown cipher suite 'TLS_MADE_UP_WITH_ROT13_SHA1'"),
    ("  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "cipher_suites: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite"),
    ("  cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n", "cipher_suites: must be a non-empty list"),
    ("  curve_preferences: [X25519]\n", "curve_preferences: not supported"),
    ("  cert: '-----BEGIN CERTIFICATE-----'\n", "tls_server_config.cert: not supported"),
    ("  client_auth_type: RequireAnyClientCert\n", "client_auth_type: RequireAnyClientCert is not supported"),
    ("  client_auth_type: RequestClientCert\n", "client_auth_type: RequestClientCert is not supported"),
    ("  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"),
    ("  client_allowed_sans: [prometheus]\n", "client_allowed_sans: needs client_auth_type RequireAndVerifyClientCert"),
    ("  min_version: TLS14\n", "min_version: 'TLS14' is not one of"),
    ("  prefer_server_cipher_suites: maybe\n", "prefer_server_cipher_suites: must be true or false"),
])
def test_tls_keys_not_honoured_are_refused_by_name(tmp_path, certificate, extra, message):
    with pytest.raises(WebConfigError) as caught:
        load(write(tmp_path, tls_config(*certificate, extra)))
    assert message in str(caught.value)


def test_http2_is_refused_headers_are_kept(tmp_path):
    with pytest.raises(WebConfigError) as caught:
        load(write(tmp_path, "http_server_config:\n  http2: true\n"))
    assert "http2" in str(caught.value)
    config = load(write(tmp_path, "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n"))
    assert config.headers == {"X-Frame-Options": "deny"}


def test_client_allowed_sans(tmp_path, certificate):
    cert, key = certificate
    mtls = ("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n"
            "  client_allowed_sans: [scraper.example, 10.0.0.7]\n" % cert)
    config = load(write(tmp_path, tls_config(cert, key, mtls)))
    assert config.client_allowed({"subjectAltName": (("DNS", "other.example"), ("DNS", "scraper.example"))})
    assert config.client_allowed({"subjectAltName": (("IP Address", "10.0.0.7"),)})
    assert not config.client_allowed({"subjectAltName": (("DNS", "other.example"),)})
    assert not config.client_allowed({"subject": ((("commonName", "scraper.example"),),)})  # SANs only
    assert not config.client_allowed(None)
    assert load(write(tmp_path, tls_config(cert, key))).client_allowed(None)
