"""The HTTP side: /metrics, /healthz and a landing page, with optional TLS, mTLS and basic auth."""

import base64
import errno
import gzip
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .exposition import CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE
from .web_config import WebConfig

LOG = logging.getLogger("nsfleet_agent")
# A client that stalls mid-request is dropped after this long.
REQUEST_TIMEOUT_SECONDS = 30

LANDING = """<html><head><title>nsfleet-agent</title></head><body>
<h1>nsfleet-agent</h1><p>PID namespaces of this host as Prometheus metrics.</p>
<ul><li><a href="{path}">{path}</a></li><li><a href="/healthz">/healthz</a></li></ul>
</body></html>
"""


# ':PORT' and '[::]:PORT' listen on every IPv4 and IPv6 address, as node_exporter does.
EVERY_ADDRESS = "::"
# Media types of the Accept header that mean the text format 0.0.4.
_TEXT_TYPES = ("text/plain", "text/*", "*/*")


def parse_listen_address(address):
    """'127.0.0.1:10146', '[::1]:10146', ':10146' or '[::]:10146' (every address) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("--web.listen-address: %r is not HOST:PORT" % address)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host or "[" in host or "]" in host:
        raise ValueError("--web.listen-address: %r: write an IPv6 address in brackets, [ADDRESS]:PORT" % address)
    return host or EVERY_ADDRESS, int(port)


def _accepted(accept_header):
    """[(media type, params dict, q)] of an Accept header."""
    accepted = []
    for entry in accept_header.split(","):
        media_type, *params = [part.strip() for part in entry.split(";")]
        options = dict(param.partition("=")[::2] for param in params if "=" in param)
        try:
            quality = float(options.pop("q", "1"))
        except ValueError:
            quality = 0.0
        if media_type:
            accepted.append((media_type.lower(), options, quality))
    return accepted


def wants_openmetrics(accept_header):
    """Whether the scraper prefers OpenMetrics 1.0.0 (or its 0.0.1 draft) to the text format."""
    best_openmetrics = best_text = 0.0
    for media_type, options, quality in _accepted(accept_header or ""):
        if media_type == "application/openmetrics-text" and options.get("version", "1.0.0") in ("1.0.0", "0.0.1"):
            best_openmetrics = max(best_openmetrics, quality)
        elif media_type in _TEXT_TYPES:
            best_text = max(best_text, quality)
    return best_openmetrics > 0 and best_openmetrics >= best_text


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, family):
        self.address_family = family
        ThreadingHTTPServer.__init__(self, address, handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6 and self.server_address[0] == EVERY_ADDRESS:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 too
        ThreadingHTTPServer.server_bind(self)

    def handle_error(self, request, client_address):
        # A client that fails the TLS handshake or hangs up (OSError) is its problem: a debug line. Anything
        # else is ours. Either way a log record, never a bare traceback on stderr.
        if isinstance(sys.exc_info()[1], OSError):
            LOG.debug("connection from %s failed", client_address[0], exc_info=True)
        else:
            LOG.error("request from %s failed", client_address[0], exc_info=True)


def _bind(host, port, handler):
    if host == EVERY_ADDRESS:
        try:
            return _Server((host, port), handler, socket.AF_INET6)
        except OSError as error:
            if error.errno not in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
                raise
            LOG.info("no IPv6 on this host: listening on every IPv4 address only")
            return _Server(("0.0.0.0", port), handler, socket.AF_INET)
    return _Server((host, port), handler, socket.AF_INET6 if ":" in host else socket.AF_INET)


def make_server(listen_address, exporter, web_config=None, telemetry_path="/metrics"):
    """``exporter.render(openmetrics)`` gives the body of /metrics, in the text format or OpenMetrics."""
    web_config = web_config or WebConfig()
    host, port = parse_listen_address(listen_address)

    class Handler(BaseHTTPRequestHandler):
        server_version = "nsfleet-agent"
        timeout = REQUEST_TIMEOUT_SECONDS
        send_body = True  # False while answering HEAD

        def log_message(self, fmt, *args):
            LOG.debug("%s %s", self.address_string(), fmt % args)

        def do_HEAD(self):
            self._serve(send_body=False)

        def do_GET(self):
            self._serve(send_body=True)

        def _serve(self, send_body):
            self.send_body = send_body
            if not web_config.client_allowed(self._peer_certificate()):
                self._reply(403, b"Forbidden: client certificate not allowed\n", "text/plain; charset=utf-8")
                return
            if web_config.users and not self._authorized():
                self._reply(401, b"Unauthorized\n", "text/plain; charset=utf-8",
                            {"WWW-Authenticate": 'Basic realm="nsfleet-agent"'})
                return
            path = self.path.split("?", 1)[0]
            if path == telemetry_path:
                self._metrics()
            elif path == "/healthz":
                self._reply(200, b"ok\n", "text/plain; charset=utf-8")
            elif path == "/":
                self._reply(200, LANDING.format(path=telemetry_path).encode(), "text/html; charset=utf-8")
            else:
                self._reply(404, b"Not Found\n", "text/plain; charset=utf-8")

        def _peer_certificate(self):
            getpeercert = getattr(self.connection, "getpeercert", None)
            return getpeercert() if getpeercert else None

        def _authorized(self):
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                user, _sep, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return web_config.check_password(user, password)

        def _metrics(self):
            openmetrics = wants_openmetrics(self.headers.get("Accept", ""))
            try:
                body = exporter.render(openmetrics=openmetrics)
            except Exception:  # a failed scrape is a 500, never a dead agent
                LOG.exception("scrape failed")
                self._reply(500, b"scrape failed; see the agent's log\n", "text/plain; charset=utf-8")
                return
            headers = {}
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept, Accept-Encoding"
            self._reply(200, body, OPENMETRICS_CONTENT_TYPE if openmetrics else CONTENT_TYPE, headers)

        def _reply(self, status, body, content_type, headers=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in list(web_config.headers.items()) + list((headers or {}).items()):
                self.send_header(name, value)
            self.end_headers()
            if self.send_body:
                self.wfile.write(body)

    server = _bind(host, port, Handler)
    if web_config.ssl_context is not None:
        server.socket = web_config.ssl_context.wrap_socket(server.socket, server_side=True,
                                                           do_handshake_on_connect=False)
    return server


def serve_in_thread(server):
    thread = threading.Thread(target=server.serve_forever, name="nsfleet-agent-http", daemon=True)
    thread.start()
    return thread
