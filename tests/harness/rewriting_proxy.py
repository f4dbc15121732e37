"""A small HTTP proxy for the tests: it forwards every request to a real sandbox and lets a test
rewrite the JSON answers on their way back, as a deployment that answers in another
representation (or wrongly) would. The harness under test talks to the proxy as to the platform.

    with RewritingProxy(sandbox.url) as proxy:
        proxy.rewrite = lambda method, path, status, body: (status, body)   # per test
        ... point a target's base_url at proxy.url ...

`rewrite(method, path, status, body)` gets each JSON answer (path without its query, the body
parsed) and returns the (status, body) to send instead. Other answers (HTML, redirects, CSV) pass
as they are. The sandbox's own request log (GET /__sandbox/requests) still sees every request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

Rewrite = Callable[[str, str, int, Any], tuple[int, Any]]
# Hop-by-hop headers, and those the proxy sets itself for the body it sends.
DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


def unchanged(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
    return status, body


class RewritingProxy:
    def __init__(self, upstream: str, rewrite: Rewrite = unchanged) -> None:
        self.upstream = upstream.rstrip("/")
        self.rewrite = rewrite
        self.client = httpx.Client(base_url=self.upstream, follow_redirects=False, timeout=30)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="rewriting-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RewritingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.client.close()

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        """The upstream's answer to one request, rewritten when it is JSON."""
        answer = self.client.request(method, target, headers=headers, content=body or None)
        out = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in DROPPED]
        if "json" not in answer.headers.get("content-type", "") or not answer.content:
            return answer.status_code, out, answer.content
        status, rewritten = self.rewrite(method, urlsplit(target).path, answer.status_code, answer.json())
        return status, out, json.dumps(rewritten).encode()


def _handler(proxy: RewritingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in DROPPED}
            status, out, content = proxy.forward(self.command, self.path, headers, body)
            # send_response_only: the upstream's own Date (the platform's clock) is the only one
            self.send_response_only(status)
            for key, value in out:
                self.send_header(key, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return

    return Handler
