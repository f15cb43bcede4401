"""--web.config.file: TLS and basic auth, in the Prometheus exporter-toolkit format.

    tls_server_config:
      cert_file: /etc/nsfleet/agent.crt
      key_file: /etc/nsfleet/agent.key
      client_auth_type: NoClientCert   # or RequireAndVerifyClientCert, VerifyClientCertIfGiven
      client_ca_file: /etc/nsfleet/ca.crt
      min_version: TLS12
    basic_auth_users:
      prometheus: $2y$10$...          # bcrypt hash, as htpasswd -nBC 10 makes

Like the toolkit, unknown keys are an error, so a typo never turns security off.
"""

import hashlib
import hmac
import ssl
import threading

import bcrypt
import yaml

_TOP_KEYS = {"tls_server_config", "basic_auth_users", "http_server_config"}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
             "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_TLS_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
                 "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


class WebConfigError(ValueError):
    pass


class WebConfig:
    def __init__(self, ssl_context=None, users=None, headers=None):
        self.ssl_context = ssl_context
        self.users = users or {}
        self.headers = headers or {}
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


def _tls_context(tls, path):
    _check_keys(tls, _TLS_KEYS, "tls_server_config")
    if not tls.get("cert_file") or not tls.get("key_file"):
        raise WebConfigError("tls_server_config: cert_file and key_file are both required")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _TLS_VERSIONS.get(tls.get("min_version", "TLS12"))
    if context.minimum_version is None:
        raise WebConfigError("tls_server_config.min_version: %r is not one of %s"
                             % (tls.get("min_version"), ", ".join(sorted(_TLS_VERSIONS))))
    if tls.get("max_version"):
        if tls["max_version"] not in _TLS_VERSIONS:
            raise WebConfigError("tls_server_config.max_version: %r is not one of %s"
                                 % (tls["max_version"], ", ".join(sorted(_TLS_VERSIONS))))
        context.maximum_version = _TLS_VERSIONS[tls["max_version"]]
    try:
        context.load_cert_chain(tls["cert_file"], tls["key_file"])
    except (OSError, ssl.SSLError) as error:
        raise WebConfigError("tls_server_config: cannot load %s / %s: %s" % (tls["cert_file"], tls["key_file"], error))
    client_auth = tls.get("client_auth_type", "NoClientCert")
    if client_auth not in _CLIENT_AUTH:
        raise WebConfigError("tls_server_config.client_auth_type: %r is not one of %s"
                             % (client_auth, ", ".join(sorted(_CLIENT_AUTH))))
    context.verify_mode = _CLIENT_AUTH[client_auth]
    if tls.get("client_ca_file"):
        try:
            context.load_verify_locations(tls["client_ca_file"])
        except (OSError, ssl.SSLError) as error:
            raise WebConfigError("tls_server_config.client_ca_file: %s" % error)
    elif client_auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        raise WebConfigError("tls_server_config: client_auth_type %s needs client_ca_file" % client_auth)
    return context


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
    http = _mapping(document.get("http_server_config"), "http_server_config")
    _check_keys(http, {"headers", "http2"}, "http_server_config")
    headers = _mapping(http.get("headers"), "http_server_config.headers")
    return WebConfig(_tls_context(tls, path) if tls else None, dict((str(k), v) for k, v in users.items()),
                     dict((str(k), str(v)) for k, v in headers.items()))
