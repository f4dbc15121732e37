"""A real HTTP receiver of webhooks on loopback, for the tests of a run's message (report.notify).

Each POST it gets is put on `received` (a queue: tests wait on it, never on a sleep). It answers
each request with the next status of `answers` (then 200), or holds it unanswered until it is closed
(`hang=True`: a receiver that never answers). Its URL carries a random token, as Slack's do, so a test
can look for that token in every output."""

from __future__ import annotations

import json
import queue
import secrets
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class Receiver:
    def __init__(self, answers: tuple[int, ...] = (), hang: bool = False) -> None:
        self.token = secrets.token_urlsafe(24)
        self.received: queue.Queue[Received] = queue.Queue()
        self.requests = 0  # every request, answered or not
        self._answers = list(answers)
        self._hang = hang
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/{self.token}"

    def next(self, timeout: float = 60) -> Received:
        """The next message it got (waits for it)."""
        return self.received.get(timeout=timeout)

    def messages(self) -> list[Received]:
        """Every message it got so far (the senders are done: a run's message is sent before it exits)."""
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait())
        return out

    def go_down(self) -> None:
        """From now on its port refuses every connection, and stays this receiver's: a socket bound to
        it without listening holds it (a closed port could be reused by another test's server)."""
        port = self._server.server_address[1]
        self.close()
        self._held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._held.bind(("127.0.0.1", port))

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        if held := getattr(self, "_held", None):
            held.close()

    def _status(self) -> int | None:
        with self._lock:
            self.requests += 1
            if self._hang:
                return None
            return self._answers.pop(0) if self._answers else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                status = receiver._status()
                if status is None:
                    receiver._release.wait(120)
                    return
                if status < 300:
                    body = json.loads(raw) if raw else None
                    receiver.received.put(Received(self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver trouble")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
