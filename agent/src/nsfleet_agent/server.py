"""The HTTP side: /metrics, /healthz and a landing page, with optional TLS and basic auth."""

import base64
import gzip
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .exposition import CONTENT_TYPE
from .web_config import WebConfig

LOG = logging.getLogger("nsfleet_agent")
# A client that stalls mid-request is dropped after this long.
REQUEST_TIMEOUT_SECONDS = 30

LANDING = """<html><head><title>nsfleet-agent</title></head><body>
<h1>nsfleet-agent</h1><p>PID namespaces of this host as Prometheus metrics.</p>
<ul><li><a href="{path}">{path}</a></li><li><a href="/healthz">/healthz</a></li></ul>
</body></html>
"""


def parse_listen_address(address):
    """'127.0.0.1:9633', ':9633' (all addresses) or '[::1]:9633' -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("--web.listen-address: %r is not HOST:PORT" % address)
    host = host.strip("[]")
    return host or "0.0.0.0", int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, family):
        self.address_family = family
        ThreadingHTTPServer.__init__(self, address, handler)


def make_server(listen_address, exporter, web_config=None, telemetry_path="/metrics"):
    """``exporter.render()`` gives the body of /metrics, in the text format."""
    web_config = web_config or WebConfig()
    host, port = parse_listen_address(listen_address)

    class Handler(BaseHTTPRequestHandler):
        server_version = "nsfleet-agent"
        timeout = REQUEST_TIMEOUT_SECONDS

        def log_message(self, fmt, *args):
            LOG.debug("%s %s", self.address_string(), fmt % args)

        def do_GET(self):
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
            try:
                body = exporter.render()
            except Exception:  # a failed scrape is a 500, never a dead agent
                LOG.exception("scrape failed")
                self._reply(500, b"scrape failed; see the agent's log\n", "text/plain; charset=utf-8")
                return
            headers = {}
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                body = gzip.compress(body, compresslevel=1)
                headers["Content-Encoding"] = "gzip"
            self._reply(200, body, CONTENT_TYPE, headers)

        def _reply(self, status, body, content_type, headers=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in list(web_config.headers.items()) + list((headers or {}).items()):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = _Server((host, port), Handler, family)
    if web_config.ssl_context is not None:
        server.socket = web_config.ssl_context.wrap_socket(server.socket, server_side=True,
                                                           do_handshake_on_connect=False)
    return server


def serve_in_thread(server):
    thread = threading.Thread(target=server.serve_forever, name="nsfleet-agent-http", daemon=True)
    thread.start()
    return thread
