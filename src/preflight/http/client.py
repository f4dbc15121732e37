"""The harness's HTTP client for one target.

It picks the credential per surface, sends an Idempotency-Key on every write,
retries only what the contract says is retryable (429, 5xx, network errors; reads
and keyed writes only), honours Retry-After, paces every attempt by its route class
(preflight.http.pacing: shared by every worker, tightened by the target's RateLimit headers),
and records every attempt as a redacted Exchange for the report.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from preflight.core.clock import retry_after_seconds
from preflight.core.routes import ROUTES
from preflight.http import pacing
from preflight.http.exchange import Exchange

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})
DEFAULT_REQUEST_ID_HEADERS = ("x-request-id",)


def idempotency_key(run_id: str, step: str, campaign: str = "", variant: str = "", purpose: str = "") -> str:
    """Same run, step, campaign, variant and purpose: same key, so a rerun never acts twice."""
    material = "\x1f".join((run_id, step, campaign, variant, purpose))
    return "pf-" + hashlib.sha256(material.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    backoff_seconds: float = 0.1
    max_wait_seconds: float = 5.0
    timeout_seconds: float = 10.0

    def wait_before_retry(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            # A Retry-After beyond our cap (e.g. a daily quota) means retrying is pointless.
            return retry_after if retry_after <= self.max_wait_seconds else None
        backoff = self.backoff_seconds * (2 ** (attempt - 1))
        return min(self.max_wait_seconds, backoff * (0.5 + random.random() / 2))


@dataclass
class Credentials:
    # repr=False: a traceback or an assertion that prints the client must not print a token.
    jwt: str | None = field(default=None, repr=False)
    pat: str | None = field(default=None, repr=False)

    def auth_for(self, surface: str) -> httpx.Auth | None:
        token = {"jwt": self.jwt, "pat": self.pat}.get(surface)
        return _Bearer(token) if token else None


class _Bearer(httpx.Auth):
    """The token lives only here, so no local variable of a request holds it (a traceback
    printed with locals shows the headers dict, never the token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "_Bearer([REDACTED])"

    def auth_flow(self, request: httpx.Request):
        request.headers["authorization"] = f"Bearer {self._token}"
        yield request


Observer = Callable[[Exchange], None]


class WriteRefused(RuntimeError):
    """A request other than GET or HEAD from a read-only client (the audit's): a bug of the harness,
    stopped before anything is sent."""


@dataclass
class PlatformClient:
    """The run's HTTP client for one target and handle.

    `call("route_name", step=…, key=…, json_body=…, **path_params)` sends one contract route
    (core.routes, overridable per target) with the credential its surface takes (JWT, PAT or
    none), an Idempotency-Key on every write given a `key`, retries what the contract says may
    be retried (429, 5xx, no answer; reads and keyed writes only) after Retry-After, waits for
    the run's shared pace first, and returns the last attempt as an `Exchange`. Every attempt
    is also handed to each of `observers` (the recorder that attaches it to the running test).
    `get_url` is a click: a public GET of an absolute URL whose redirect is not followed."""

    base_url: str
    handle: str
    credentials: Credentials
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    route_overrides: dict[str, str] = field(default_factory=dict)
    request_id_headers: Iterable[str] = DEFAULT_REQUEST_ID_HEADERS
    idempotency_key_in: str = "header"  # (gap) header or body
    pacer: pacing.Pacer | None = None  # the run's shared pace, when configured
    observers: list[Observer] = field(default_factory=list)
    # None: any route. A set of route names: the only ones that may send anything but GET or HEAD
    # (the audit's client: none, or route_preview where writes are allowed, support_report on --escalate).
    writes_allowed: frozenset[str] | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(
            timeout=self.retry.timeout_seconds, follow_redirects=False, headers={"user-agent": "campaign-preflight"}
        )

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        if self.pacer is not None:
            self.pacer.close()

    # -- the API, by route name -------------------------------------------------
    def call(
        self,
        route: str,
        *,
        step: str,
        key: str | None = None,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        surface: str | None = None,
        **path_params: str,
    ) -> Exchange:
        method, template, default_surface = ROUTES[route]
        if self.writes_allowed is not None and method not in READ_METHODS and route not in self.writes_allowed:
            raise WriteRefused(
                f"{method} {template} ({route}) from a read-only client: the audit sends only GET and HEAD, "
                "so this is a bug of campaign-preflight; nothing was sent"
            )
        path = self.route_overrides.get(route, template).format(handle=self.handle, **path_params)
        headers: dict[str, str] = {}
        auth = self.credentials.auth_for(surface or default_surface)
        if method in WRITE_METHODS and key:
            if self.idempotency_key_in == "body" and isinstance(json_body, dict):
                json_body = {**json_body, "idempotencyKey": key}
            else:
                headers["idempotency-key"] = key
        retryable = method not in WRITE_METHODS or bool(key)
        return self._send(
            method,
            self.base_url + path,
            path=path,
            surface=surface or default_surface,
            step=step,
            headers=headers,
            json_body=json_body,
            params=params,
            retryable=retryable,
            auth=auth,
            route=route,
            route_class=pacing.route_class(method, path),
        )

    def get_url(self, url: str, *, step: str, headers: dict[str, str] | None = None) -> Exchange:
        """A public GET of an absolute URL (a short-link click): redirects are not followed."""
        path = httpx.URL(url).path
        return self._send(
            "GET",
            url,
            path=path,
            surface="public",
            step=step,
            headers=dict(headers or {}),
            json_body=None,
            params=None,
            retryable=True,
            route_class="public",
        )

    def record(self, exchange: Exchange) -> Exchange:
        """Hand an exchange made elsewhere (a browser's click or form post) to the observers, so it
        is recorded and attached like the client's own."""
        for observe in self.observers:
            observe(exchange)
        return exchange

    def request_id_in(self, headers: dict[str, str], body: Any = None) -> str | None:
        """The request id of an answer, from the target's request-id headers (then the body)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        for name in self.request_id_headers:
            if lowered.get(name):
                return lowered[name]
        if isinstance(body, dict) and isinstance(body.get("requestId"), str):
            return body["requestId"]
        return None

    # -- transport ----------------------------------------------------------------
    def _send(
        self,
        method: str,
        url: str,
        *,
        path: str,
        surface: str,
        step: str,
        headers: dict[str, str],
        json_body: Any,
        params: dict[str, Any] | None,
        retryable: bool,
        auth: httpx.Auth | None = None,
        route: str | None = None,
        route_class: str = "read",
    ) -> Exchange:
        attempt = 0
        while True:
            attempt += 1
            exchange, retry_after = self._attempt(
                method,
                url,
                path=path,
                surface=surface,
                step=step,
                headers=headers,
                json_body=json_body,
                params=params,
                attempt=attempt,
                auth=auth,
                route=route,
                route_class=route_class,
            )
            for observe in self.observers:
                observe(exchange)
            if not (retryable and _is_retryable(exchange)):
                return exchange
            wait = self.retry.wait_before_retry(attempt, retry_after)
            if wait is None:
                return exchange
            time.sleep(wait)

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        path: str,
        surface: str,
        step: str,
        headers: dict[str, str],
        json_body: Any,
        params: dict[str, Any] | None,
        attempt: int,
        auth: httpx.Auth | None,
        route: str | None,
        route_class: str,
    ) -> tuple[Exchange, float | None]:
        if self.pacer is not None:
            self.pacer.acquire(route_class)
        request = self._http.build_request(
            method, url, headers=headers, params=params, json=json_body if json_body is not None else None
        )
        started = time.perf_counter()
        try:
            response = self._http.send(request, auth=auth)
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return Exchange.build(
                method=method,
                url=str(request.url),
                path=path,
                surface=surface,
                status=None,
                duration_ms=elapsed,
                request_id=None,
                request_headers=request.headers.items(),
                request_body=json_body,
                attempts=attempt,
                error=f"{type(exc).__name__}: {exc}",
                step=step,
                route=route,
            ), None
        elapsed = (time.perf_counter() - started) * 1000
        # The answer's headers read once (names lower-cased, repeated fields joined as httpx joins
        # them): each lookup in httpx's Headers scans and decodes every field again.
        answer = dict(response.headers.items())
        body = _parse_body(response, answer)
        exchange = Exchange.build(
            method=method,
            url=str(request.url),
            path=path,
            surface=surface,
            status=response.status_code,
            duration_ms=elapsed,
            request_id=self._request_id(answer, body),
            request_headers=request.headers.items(),
            request_body=json_body,
            response_headers=answer.items(),
            response_body=body,
            attempts=attempt,
            step=step,
            route=route,
        )
        if self.pacer is not None:
            self.pacer.observe(route_class, response.status_code, answer, exchange.body_field("reason"))
        return exchange, _retry_after(answer)

    def _request_id(self, headers: dict[str, str], body: Any) -> str | None:
        """`headers`: the answer's, names lower-cased."""
        for name in self.request_id_headers:
            value = headers.get(name.lower())
            if value:
                return value
        if isinstance(body, dict) and isinstance(body.get("requestId"), str):
            return body["requestId"]
        return None


def _is_retryable(exchange: Exchange) -> bool:
    if exchange.status is None:
        return True
    if exchange.status == 429:
        # A spent daily quota does not come back by retrying.
        return exchange.body_field("reason") != "daily_quota"
    if exchange.status == 409:
        # The same key still in flight (a retry overtook its first attempt): asking again replays it.
        return exchange.error_code == "idempotency_in_progress"
    return exchange.status >= 500


def _retry_after(headers: dict[str, str]) -> float | None:
    return retry_after_seconds(headers.get("retry-after"), headers.get("date"))


def _parse_body(response: httpx.Response, headers: dict[str, str]) -> Any:
    if not response.content:
        return None
    if "json" in headers.get("content-type", ""):
        try:
            return response.json()
        except json.JSONDecodeError:
            pass
    return response.text
