"""Bench-only pytest plugin (never shipped): `pytest suites -p bench_plugin`, bench/ on the path.

Three switches, by environment variable (bench/overhead.py and bench/scaling.py set them):

- PREFLIGHT_BENCH_PHASES=<file.json>: wall-clock timestamps (time.time()) of the run's phases,
  written at the end: configure, session start (begin/end), collection end, first test start,
  last test end, session finish (begin/end: the wrap-up, gate, summary, junit.xml), unconfigure.
  A few clock reads per run, so it stays on in timed runs.
- PREFLIGHT_BENCH_TRACE=<file.jsonl>: every request any httpx.Client of the run sends (the
  platform client, the readiness client, the sandbox control calls), in order, with its answer:
  the test it belongs to (None outside tests), method, URL, headers, body, status, response
  headers and body, one line each. Tokens never
  reach the file: each token the sandbox mints (POST /__sandbox/tokens) is written as a
  placeholder (`bench-token-1`, …) wherever it appears; bench/replay.py maps the placeholder to
  the token its replay mints. Only for a run without xdist (one process). Not for timed runs.
- PREFLIGHT_BENCH_BUCKET=off: the run's shared rate-limit bucket is left out, to measure its share
  of the per-request cost (the bucket is made in src/preflight/harness/session.py).
"""

from __future__ import annotations

import json
import os
import time

import pytest

TRACE = os.environ.get("PREFLIGHT_BENCH_TRACE")
PHASES = os.environ.get("PREFLIGHT_BENCH_PHASES")
BUCKET_OFF = os.environ.get("PREFLIGHT_BENCH_BUCKET") == "off"
# httpx sets these itself from the request; replaying them would duplicate or contradict.
TRANSPORT_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "accept", "user-agent"})

_stamps: dict[str, float] = {}
_current_test: list[str | None] = [None]  # the test whose requests the trace is recording


def _stamp(name: str, *, first: bool = False) -> None:
    if not first or name not in _stamps:
        _stamps[name] = time.time()


# -- the trace -------------------------------------------------------------------------------


class Tracer:
    def __init__(self, path: str) -> None:
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 -- open for the whole run
        self.tokens: dict[str, str] = {}  # token -> placeholder

    def mask(self, text: str) -> str:
        for token, placeholder in self.tokens.items():
            if token in text:
                text = text.replace(token, placeholder)
        return text

    def learn_tokens(self, request, response) -> None:
        if request.method == "POST" and request.url.path == "/__sandbox/tokens" and response.status_code == 201:
            token = response.json().get("token")
            if token and token not in self.tokens:
                self.tokens[token] = f"bench-token-{len(self.tokens) + 1}"

    def record(self, request, response) -> None:
        self.learn_tokens(request, response)
        entry = {
            "test": _current_test[0],
            "method": request.method,
            "url": self.mask(str(request.url)),
            "headers": {k: self.mask(v) for k, v in request.headers.items() if k.lower() not in TRANSPORT_HEADERS},
            "body": self.mask(request.content.decode("utf-8", "replace")) if request.content else None,
            "status": response.status_code,
            "responseHeaders": {k: self.mask(v) for k, v in response.headers.items()},
            "responseBody": self.mask(response.content.decode("utf-8", "replace")) if response.content else None,
        }
        self.file.write(json.dumps(entry) + "\n")
        self.file.flush()


def _install_tracer(path: str) -> None:
    import httpx

    tracer = Tracer(path)
    send = httpx.Client.send

    def traced_send(self, request, **kwargs):
        response = send(self, request, **kwargs)
        if not kwargs.get("stream"):
            # response.request is what went out (with the auth flow's header); the body is read.
            tracer.record(response.request, response)
        return response

    httpx.Client.send = traced_send


def _leave_out_bucket() -> None:
    from preflight.http import pacing

    # session builds each client's pacer with pacing.make_pacer: no pacer, no shared bucket.
    pacing.make_pacer = lambda *args, **kwargs: None


# -- hooks -------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    _stamp("configure")
    controller = not hasattr(config, "workerinput")
    if TRACE and controller:
        if config.getoption("numprocesses", None):
            raise pytest.UsageError("bench_plugin: a trace needs a run without xdist (-p no:xdist)")
        _install_tracer(TRACE)
    if BUCKET_OFF:
        _leave_out_bucket()


@pytest.hookimpl(wrapper=True)
def pytest_sessionstart(session: pytest.Session):
    _stamp("sessionstart")
    try:
        return (yield)
    finally:
        _stamp("sessionstarted")


def pytest_collection_finish(session: pytest.Session) -> None:
    _stamp("collected")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    _current_test[0] = item.nodeid
    try:
        return (yield)
    finally:
        _current_test[0] = None


def pytest_runtest_logstart(nodeid: str, location) -> None:
    _stamp("first_test", first=True)


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    _stamp("last_test")


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    _stamp("sessionfinish")
    try:
        return (yield)
    finally:
        _stamp("sessionfinished")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _stamp("unconfigure")
    if PHASES and not hasattr(config, "workerinput"):
        with open(PHASES, "w", encoding="utf-8") as handle:
            json.dump(_stamps, handle)
