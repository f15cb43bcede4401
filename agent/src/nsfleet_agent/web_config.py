"""--web.config.file: TLS and basic auth, in the Prometheus exporter-toolkit format.

    tls_server_config:
      cert_file: /etc/nsfleet/agent.crt
      key_file: /etc/nsfleet/agent.key
      client_auth_type: NoClientCert   # or RequireAndVerifyClientCert, VerifyClientCertIfGiven
      client_ca_file: /etc/nsfleet/ca.crt
      client_allowed_sans: [prometheus.example.org]   # with RequireAndVerifyClientCert
      min_version: TLS12
      max_version: TLS13
      cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # Go's names; TLS 1.2 only
      prefer_server_cipher_suites: true
    basic_auth_users:
      prometheus: $2y$10$...          # bcrypt hash, as htpasswd -nBC 10 makes
    http_server_config:
      headers: {Strict-Transport-Security: max-age=31536000}

Like the toolkit, unknown keys are an error, so a typo never turns security off;
and a key of the toolkit's format that this agent cannot honour
(curve_preferences, inline cert/key, http2: true) is an error too, never ignored.
"""

import hashlib
import hmac
import ssl
import threading

import bcrypt
import yaml

_TOP_KEYS = {"tls_server_config", "basic_auth_users", "http_server_config"}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "client_allowed_sans", "min_version",
             "max_version", "cipher_suites", "prefer_server_cipher_suites"}
# Keys of the exporter-toolkit format this agent cannot honour: refused by name, never ignored.
_TLS_UNSUPPORTED = {
    "curve_preferences": "Python's ssl module cannot set a list of key exchange curves",
    "cert": "inline certificates are not supported; use cert_file",
    "key": "inline keys are not supported; use key_file",
    "client_ca": "an inline client CA is not supported; use client_ca_file",
}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# Python's ssl verifies every client certificate it asks for, so these two cannot be honoured.
_CLIENT_AUTH_UNSUPPORTED = ("RequestClientCert", "RequireAnyClientCert")
_TLS_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
                 "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# cipher_suites takes Go's (IANA) names, as the exporter-toolkit does; OpenSSL knows them by other names.
# They choose TLS 1.2 suites only: TLS 1.3's are fixed.
_CIPHER_SUITES = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}
_TLS13_SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
# A client certificate's subjectAltName entries, as Python's ssl names them, that client_allowed_sans matches.
_SAN_KINDS = ("DNS", "IP Address", "email", "URI")


class WebConfigError(ValueError):
    pass


class WebConfig:
    def __init__(self, ssl_context=None, users=None, headers=None, allowed_sans=None):
        self.ssl_context = ssl_context
        self.users = users or {}
        self.headers = headers or {}
        # None: any client certificate the CA signed; else one of its SANs must be in this set.
        self.allowed_sans = allowed_sans
        self._verified = set()
        self._lock = threading.Lock()

    def check_password(self, user, password):
        """bcrypt is slow on purpose; a pair that passed once is remembered by its digest."""
        hashed = self.users.get(user)
        if hashed is None:
            return False
        key = hashlib.sha256(("%s\0%s\0%s" % (user, password, hashed)).encode("utf-8")).digest()
        with self._lock:
            if any(hmac.compare_digest(key, known) for known in self._verified):
                return True
        try:
            ok = bcrypt.checkpw(password.encode("utf-8"), hashed.encode("utf-8"))
        except ValueError:
            return False
        if ok:
            with self._lock:
                self._verified.add(key)
        return ok

    def client_allowed(self, peer_certificate):
        """Whether a verified client certificate (``SSLSocket.getpeercert()``) may scrape."""
        if self.allowed_sans is None:
            return True
        sans = (peer_certificate or {}).get("subjectAltName", ())
        return any(kind in _SAN_KINDS and value in self.allowed_sans for kind, value in sans)


def _mapping(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebConfigError("%s must be a mapping" % where)
    return value


def _check_keys(section, allowed, where):
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise WebConfigError("%s: unknown key %r (known: %s)" % (where, unknown[0], ", ".join(sorted(allowed))))


def _version(tls, key, default=None):
    name = tls.get(key, default)
    if name is None:
        return None
    if name not in _TLS_VERSIONS:
        raise WebConfigError("tls_server_config.%s: %r is not one of %s" % (key, name, ", ".join(sorted(_TLS_VERSIONS))))
    return _TLS_VERSIONS[name]


def _string_list(tls, key):
    value = tls.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise WebConfigError("tls_server_config.%s: must be a non-empty list of strings" % key)
    return value


def _set_cipher_suites(context, tls):
    names = _string_list(tls, "cipher_suites")
    if names is None:
        return
    for name in names:
        if name in _TLS13_SUITES:
            raise WebConfigError("tls_server_config.cipher_suites: %s is a TLS 1.3 suite; TLS 1.3 suites are fixed, "
                                 "cipher_suites chooses among TLS 1.2 ones" % name)
        if name not in _CIPHER_SUITES:
            raise WebConfigError("tls_server_config.cipher_suites: unknown cipher suite %r (known: %s)"
                                 % (name, ", ".join(sorted(_CIPHER_SUITES))))
    try:
        context.set_ciphers(":".join(_CIPHER_SUITES[name] for name in names))
    except ssl.SSLError as error:
        raise WebConfigError("tls_server_config.cipher_suites: this OpenSSL offers none of them: %s" % error)


def _client_auth(context, tls):
    client_auth = tls.get("client_auth_type", "NoClientCert")
    if client_auth in _CLIENT_AUTH_UNSUPPORTED:
        raise WebConfigError("tls_server_config.client_auth_type: %s is not supported (Python's ssl verifies every "
                             "client certificate it asks for); use VerifyClientCertIfGiven or "
                             "RequireAndVerifyClientCert with client_ca_file" % client_auth)
    if client_auth not in _CLIENT_AUTH:
        raise WebConfigError("tls_server_config.client_auth_type: %r is not one of %s"
                             % (client_auth, ", ".join(sorted(_CLIENT_AUTH))))
    context.verify_mode = _CLIENT_AUTH[client_auth]
    if tls.get("client_ca_file"):
        try:
            context.load_verify_locations(tls["client_ca_file"])
        except (OSError, ssl.SSLError) as error:
            raise WebConfigError("tls_server_config.client_ca_file: %s" % error)
    elif client_auth != "NoClientCert":
        raise WebConfigError("tls_server_config: client_auth_type %s needs client_ca_file" % client_auth)
    allowed_sans = _string_list(tls, "client_allowed_sans")
    if allowed_sans is not None and client_auth != "RequireAndVerifyClientCert":
        raise WebConfigError("tls_server_config.client_allowed_sans: needs client_auth_type "
                             "RequireAndVerifyClientCert")
    return None if allowed_sans is None else frozenset(allowed_sans)


def _tls_context(tls):
    """The server's SSLContext and the client SANs allowed (None: any verified client)."""
    unsupported = sorted(set(tls) & set(_TLS_UNSUPPORTED))
    if unsupported:
        raise WebConfigError("tls_server_config.%s: not supported: %s"
                             % (unsupported[0], _TLS_UNSUPPORTED[unsupported[0]]))
    _check_keys(tls, _TLS_KEYS, "tls_server_config")
    if not tls.get("cert_file") or not tls.get("key_file"):
        raise WebConfigError("tls_server_config: cert_file and key_file are both required")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _version(tls, "min_version", "TLS12")
    maximum = _version(tls, "max_version")
    if maximum is not None:
        context.maximum_version = maximum
    try:
        context.load_cert_chain(tls["cert_file"], tls["key_file"])
    except (OSError, ssl.SSLError) as error:
        raise WebConfigError("tls_server_config: cannot load %s / %s: %s" % (tls["cert_file"], tls["key_file"], error))
    _set_cipher_suites(context, tls)
    prefer_server = tls.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer_server, bool):
        raise WebConfigError("tls_server_config.prefer_server_cipher_suites: must be true or false")
    if prefer_server:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    allowed_sans = _client_auth(context, tls)
    return context, allowed_sans


def _http_headers(document):
    http = _mapping(document.get("http_server_config"), "http_server_config")
    _check_keys(http, {"headers", "http2"}, "http_server_config")
    if http.get("http2", False) is not False:
        raise WebConfigError("http_server_config.http2: the agent serves HTTP/1.1 only; remove the key or set false")
    headers = _mapping(http.get("headers"), "http_server_config.headers")
    return dict((str(name), str(value)) for name, value in headers.items())


def load(path):
    """Parse and check a web config file; WebConfigError says what is wrong and where."""
    try:
        with open(path) as config_file:
            document = yaml.safe_load(config_file)
    except OSError as error:
        raise WebConfigError("%s: %s" % (path, error.strerror))
    except yaml.YAMLError as error:
        raise WebConfigError("%s: not valid YAML: %s" % (path, error))
    document = _mapping(document, path)
    _check_keys(document, _TOP_KEYS, path)
    tls = _mapping(document.get("tls_server_config"), "tls_server_config")
    users = _mapping(document.get("basic_auth_users"), "basic_auth_users")
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError("basic_auth_users.%s: must be a bcrypt hash ($2y$...)" % user)
    headers = _http_headers(document)
    context, allowed_sans = _tls_context(tls) if tls else (None, None)
    return WebConfig(context, dict((str(k), v) for k, v in users.items()), headers, allowed_sans)
