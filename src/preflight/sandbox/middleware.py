"""The one pure-ASGI layer in front of the app (cheap: no BaseHTTPMiddleware).

In order, for every request:
1. a request id (`x-request-id` on every answer, `requestId` in error bodies);
2. the body of a write, capped at 1 MiB (413 payload_too_large);
3. the throttle of its route class (read, write, public) and the IETF RateLimit headers;
4. the transport faults: server_error_blips, throttle_storm, slow_answers, commit_then_503,
   commit_then_timeout;
5. idempotency for writes under /v2 (claim, run, store or release, replay);
6. the request log behind GET /__sandbox/requests.
`/__sandbox/*`, `GET /v2/system/health` and the API docs are never throttled or faulted.
"""

from __future__ import annotations

import asyncio
import csv
import fnmatch
import io
import json
import sys
import traceback
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from preflight.core.faults import FaultName
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core import idempotency
from preflight.sandbox.core.errors import error_body
from preflight.sandbox.core.ids import request_id
from preflight.sandbox.faults import RESHAPING, collect_hits
from preflight.sandbox.runtime import Runtime

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
PUBLIC_CONVERSIONS = "/v2/public/conversions"
JSON_HEADERS = [(b"content-type", b"application/json")]
MAX_KEY_LENGTH = 255


class _Stop(Exception):
    """The client went away, or the answer was already sent."""


class Call:
    """What the middleware knows about one request."""

    __slots__ = (
        "rid",
        "method",
        "path",
        "headers",
        "query",
        "status",
        "extra",
        "exempt",
        "parsed",
        "body",
        "raw_send",
        "hits",
        "_targets",
    )

    def __init__(self, scope: dict[str, Any]) -> None:
        self.rid = request_id()
        scope.setdefault("state", {})["request_id"] = self.rid
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.query: bytes = scope.get("query_string", b"")
        self.status: int | None = None
        self.extra: list[tuple[bytes, bytes]] = [(b"x-request-id", self.rid.encode())]
        self.parsed: Any = None
        self.body = b""
        self.raw_send: Any = None  # the server's own send(), under any reshaping
        self.hits: list[str] = collect_hits()  # the faults that hit this request, for the request log
        self._targets: tuple[str | None, str | None] | None = None
        path = self.path
        # The customer's landing pages (/_site/) are not the platform: no throttle, no transport fault.
        self.exempt = (
            path.startswith(("/__sandbox", "/_site/"))
            or path in DOC_PATHS
            or (path == "/v2/system/health" and self.method in ("GET", "HEAD"))
        )

    @property
    def route_class(self) -> str:
        if self.path.startswith(("/v2/public/", "/_edge/")):
            return "public"
        return "write" if self.method in WRITE_METHODS else "read"

    def caller(self, scope: dict[str, Any]) -> str:
        credential = self.headers.get("authorization") or self.headers.get("x-api-key")
        if credential:
            return credential
        client = scope.get("client")
        return f"ip:{client[0]}" if client else "ip:unknown"

    def targets(self, rt: Runtime) -> tuple[str | None, str | None]:
        """The campaign and slug a request is about, for faults limited to one of them."""
        if self._targets is None:
            self._targets = _targets(rt, self)
        return self._targets


def _targets(rt: Runtime, call: Call) -> tuple[str | None, str | None]:
    campaign: str | None = None
    slug: str | None = None
    parts = call.path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "campaigns":
            campaign = parts[i + 1]
        elif part == "links":
            slug = parts[i + 1]
    if call.path.startswith("/_edge/redirect/") and len(parts) >= 5:
        slug = parts[4]
        campaign = rt.db.scalar("SELECT campaign_id FROM links WHERE handle = ? AND slug = ?", (parts[3], slug))
    sources = [{k: v[0] for k, v in parse_qs(call.query.decode("latin-1")).items()}]
    if isinstance(call.parsed, dict):
        sources.append(call.parsed)
    for source in sources:
        if campaign is None and isinstance(source.get("campaignId"), str):
            campaign = source["campaignId"]
        if slug is None and isinstance(source.get("slug"), str):
            slug = source["slug"]
        token = source.get("ctx")
        if isinstance(token, str):
            click = ctx_tokens.peek(token)
            if click is not None:
                campaign = campaign or click.campaign_id
                slug = slug or click.slug
    return campaign, slug


class SandboxMiddleware:
    def __init__(self, app: Any, rt: Runtime) -> None:
        self.app = app
        self.rt = rt

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = Call(scope)
        # The sandbox's own clock (which tests may move): what a client compares its clock with.
        call.extra.append((b"date", formatdate(self.rt.clock.now(), usegmt=True).encode()))
        try:
            await self._handle(call, scope, receive, send)
        except _Stop:
            pass
        finally:
            if call.status is not None:
                entry = (call.method, call.path, call.status, call.rid, self.rt.clock.now(), tuple(call.hits))
                self.rt.requests.append(entry)

    # --- answering -------------------------------------------------------------------------

    async def _send(self, send: Any, call: Call, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        call.status = status
        await send({"type": "http.response.start", "status": status, "headers": list(headers) + call.extra})
        await send({"type": "http.response.body", "body": body})

    async def _error(
        self,
        send: Any,
        call: Call,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        body = json.dumps(error_body(call.rid, code, message, **extra), separators=(",", ":")).encode()
        raw = JSON_HEADERS + [(b"content-length", str(len(body)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await self._send(send, call, status, raw, body)

    # --- the flow ---------------------------------------------------------------------------

    async def _handle(self, call: Call, scope: dict[str, Any], receive: Any, send: Any) -> None:
        rt = self.rt
        call.raw_send = send
        if rt.faults.active and not call.exempt and any(name in rt.faults.active for name in RESHAPING):
            send = _reshaping(rt.faults, send, call)
        is_write = call.method in WRITE_METHODS
        if is_write:
            if not await self._read_body(call, receive, send):
                return
            receive = _replaying(call.body, receive)
        if call.exempt:
            call.extra += rt.limiter.peek("read", call.caller(scope)).headers()
            await self._pass(call, scope, receive, send, delay=0.0)
            return
        verdict = rt.limiter.take(call.route_class, call.caller(scope))
        call.extra += verdict.headers()
        if not verdict.allowed:
            await self._error(
                send,
                call,
                429,
                "rate_limited",
                f"{call.route_class} throttle exceeded: retry after {verdict.retry_after}s",
                {"Retry-After": str(verdict.retry_after)},
                reason="throttle",
            )
            return
        delay = 0.0
        if rt.faults.active:
            if not await self._transport_faults(call, send):
                return
            slow = rt.faults.hit(FaultName.SLOW_ANSWERS, *self._fault_targets(call))
            delay = slow["delayMs"] / 1000.0 if slow else 0.0
        if is_write and call.path.startswith("/v2/"):
            await self._write(call, scope, receive, send, delay)
        else:
            await self._pass(call, scope, receive, send, delay)

    def _fault_targets(self, call: Call) -> tuple[str | None, str | None]:
        # Only faults limited to a campaign or slug need to know what a request is about.
        if any("campaignId" in o or "slug" in o for o in self.rt.faults.active.values()):
            return call.targets(self.rt)
        return None, None

    async def _transport_faults(self, call: Call, send: Any) -> bool:
        faults = self.rt.faults
        targets = self._fault_targets(call)
        blip = faults.hit(FaultName.SERVER_ERROR_BLIPS, *targets)
        if blip:
            await self._error(
                send,
                call,
                503,
                "service_unavailable",
                "the platform is briefly unavailable (fault server_error_blips)",
                {"Retry-After": str(blip["retryAfter"])},
            )
            return False
        storm = faults.hit(FaultName.THROTTLE_STORM, *targets)
        if storm:
            wait = str(storm["retryAfter"])
            await self._error(
                send,
                call,
                429,
                "rate_limited",
                f"throttled: retry after {wait}s (fault throttle_storm)",
                {"Retry-After": wait},
                reason="throttle",
            )
            return False
        return True

    async def _read_body(self, call: Call, receive: Any, send: Any) -> bool:
        limit = self.rt.settings.max_body_bytes
        declared = call.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(call, send, limit)
            return False
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Stop()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(call, send, limit)
                return False
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        call.body = b"".join(chunks)
        if call.body:
            try:
                call.parsed = json.loads(call.body)
            except (ValueError, UnicodeDecodeError):
                call.parsed = None  # the app answers the malformed body itself
        return True

    async def _too_large(self, call: Call, send: Any, limit: int) -> None:
        await self._error(send, call, 413, "payload_too_large", f"the request body is over {limit} bytes")

    async def _pass(self, call: Call, scope: dict[str, Any], receive: Any, send: Any, delay: float) -> None:
        """Stream the app's answer, adding our headers (and a late start for slow_answers)."""

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if delay:
                    await asyncio.sleep(delay)
                call.status = message["status"]
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + call.extra
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except Exception:
            traceback.print_exc(file=sys.stderr)  # the 500 answer went out already

    async def _run(self, scope: dict[str, Any], receive: Any) -> tuple[int, list, bytes]:
        """Run the app and keep its answer instead of sending it."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except Exception:
            traceback.print_exc(file=sys.stderr)
        if not start:
            body = json.dumps(
                error_body(scope["state"]["request_id"], "internal_error", "the sandbox failed to answer")
            ).encode()
            return 500, JSON_HEADERS + [(b"content-length", str(len(body)).encode())], body
        return start["status"], [tuple(h) for h in start.get("headers", [])], b"".join(chunks)

    async def _write(self, call: Call, scope: dict[str, Any], receive: Any, send: Any, delay: float) -> None:
        rt = self.rt
        key = call.headers.get("idempotency-key")
        field = "Idempotency-Key"
        if key is None and isinstance(call.parsed, dict) and idempotency.BODY_FIELD in call.parsed:
            key, field = call.parsed[idempotency.BODY_FIELD], idempotency.BODY_FIELD
        if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH):
            message = f"must be a string of 1 to {MAX_KEY_LENGTH} characters"
            await self._error(
                send,
                call,
                400,
                "validation_error",
                f"{field}: {message}",
                fields=[{"field": field, "message": message}],
            )
            return
        if key is None:
            if call.path == PUBLIC_CONVERSIONS:
                await self._error(
                    send, call, 400, "idempotency_key_required", "public conversions need an Idempotency-Key header"
                )
                return
            status, headers, body = await self._run(scope, receive)
            if delay:
                await asyncio.sleep(delay)
            await self._answer_write(call, send, receive, status, headers, body)
            return

        idem_scope = idempotency.scope_of(call.headers, call.method, call.path)
        print_ = idempotency.fingerprint(call.method, call.path, call.body, call.parsed)
        stored = idempotency.claim(rt, idem_scope, key, print_)
        if stored is None:
            try:
                status, headers, body = await self._run(scope, receive)
                if delay:
                    await asyncio.sleep(delay)
            except BaseException:
                idempotency.release(rt, idem_scope, key)
                raise
            if status in (401, 429) or status >= 500:
                # 429 and 5xx are never stored for replay; nor a 401, which proves no caller.
                idempotency.release(rt, idem_scope, key)
            else:
                kept = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in headers
                    if k.lower() != b"idempotent-replayed"
                ]
                idempotency.store(rt, idem_scope, key, status, kept, body)
            await self._answer_write(call, send, receive, status, headers, body)
        elif stored.state == "pending":
            await self._error(
                send,
                call,
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still in flight",
                {"Retry-After": "1"},
            )
        elif stored.fingerprint != print_ and rt.faults.hit(FaultName.KEY_REUSE_ACCEPTED, *self._fault_targets(call)):
            scope["sandbox.force_new"] = True
            status, headers, body = await self._run(scope, receive)
            await self._send(send, call, status, headers, body)
        elif stored.fingerprint != print_:
            await self._error(
                send, call, 422, "idempotency_key_reused", "this Idempotency-Key was used with a different request body"
            )
        elif call.path == PUBLIC_CONVERSIONS and rt.faults.hit(
            FaultName.REPLAY_COUNTED_TWICE, *self._fault_targets(call)
        ):
            scope["sandbox.force_new"] = True
            status, headers, body = await self._run(scope, receive)
            await self._send(send, call, status, headers, body)
        else:
            if delay:
                await asyncio.sleep(delay)
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
            headers.append((b"idempotent-replayed", b"true"))
            await self._send(send, call, stored.status or 200, headers, stored.body)

    async def _answer_write(self, call: Call, send: Any, receive: Any, status: int, headers: list, body: bytes) -> None:
        committed = 200 <= status < 300
        fault = self.rt.faults.hit(FaultName.COMMIT_THEN_503, *self._fault_targets(call)) if committed else None
        if fault:
            await self._error(
                send,
                call,
                503,
                "service_unavailable",
                "the write committed but the answer failed (fault commit_then_503)",
                {"Retry-After": str(fault["retryAfter"])},
            )
            return
        held = self.rt.faults.hit(FaultName.COMMIT_THEN_TIMEOUT, *self._fault_targets(call)) if committed else None
        if held:
            await self._no_answer(call, receive, held["holdMs"] / 1000.0)
            return
        await self._send(send, call, status, headers, body)

    async def _no_answer(self, call: Call, receive: Any, hold: float) -> None:
        """A network timeout after the commit: the answer is held until the client gives up (at
        most `hold` seconds), and a client still waiting then has its connection closed mid-answer.
        Logged with status 0: no answer reached the client."""
        call.status = 0
        try:
            await asyncio.wait_for(_disconnected(receive), hold)
            return  # the client timed out and went away: there is no one to answer
        except TimeoutError:
            pass
        # An answer started and never finished: the server closes the connection after it.
        await call.raw_send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
        await call.raw_send({"type": "http.response.body", "body": b"", "more_body": True})


def _reshaping(faults: Any, send: Any, call: Call) -> Any:
    """A send() that buffers one answer and rewrites it as the reshaping faults say."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def reshaped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body" or not start:
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        headers, body = reshape(
            faults, start["status"], list(start.get("headers", [])), b"".join(chunks), call.method, call.path
        )
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return reshaped


def reshape(
    faults: Any, status: int, headers: list, body: bytes, method: str = "GET", path: str = ""
) -> tuple[list, bytes]:
    """Rewrite one answer: the request-id header's name, the error shape, extra fields, a field said wrong."""
    renamed = faults.hit(FaultName.REQUEST_ID_HEADER)
    if renamed:
        headers = [((renamed["header"].encode() if k.lower() == b"x-request-id" else k), v) for k, v in headers]
    rewrite = _rewrite_of(faults, method, path)
    if rewrite and rewrite["contentType"]:
        headers = [(k, rewrite["contentType"].encode() if k.lower() == b"content-type" else v) for k, v in headers]
    is_json = any(k.lower() == b"content-type" and b"json" in v for k, v in headers)
    if rewrite and not is_json and body and rewrite["field"]:
        return _sized(headers, _rewrite_csv(body.decode(), rewrite).encode())
    if not is_json or not body:
        return headers, body
    try:
        doc = json.loads(body)
    except ValueError:
        return headers, body
    if rewrite and rewrite["field"]:
        doc = _rewritten(doc, rewrite["field"].replace("[]", ".[]").split("."), rewrite)
    shape = faults.hit(FaultName.ERROR_SHAPE) if status >= 400 else None
    if shape and isinstance(doc, dict) and isinstance(doc.get("error"), str):
        doc = _error_shape(doc, status, shape["shape"])
    if isinstance(doc, dict) and faults.hit(FaultName.EXTRA_FIELDS):
        doc = {**doc, "_links": {"self": "about:blank"}, "x-sandbox-note": "an unknown field"}
        if isinstance(doc.get("items"), list):
            doc["items"] = [{**item, "extra": True} if isinstance(item, dict) else item for item in doc["items"]]
    return _sized(headers, json.dumps(doc, separators=(",", ":")).encode())


def _sized(headers: list, body: bytes) -> tuple[list, bytes]:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return headers + [(b"content-length", str(len(body)).encode())], body


def _rewrite_of(faults: Any, method: str, path: str) -> dict[str, Any] | None:
    """answer_rewritten's options when this answer is one it rewrites (counted only then)."""
    options = faults.options(FaultName.ANSWER_REWRITTEN)
    if options is None or not fnmatch.fnmatchcase(path, options["path"]):
        return None
    if options["method"] not in ("*", method):
        return None
    return faults.hit(FaultName.ANSWER_REWRITTEN)


def _rewritten(doc: Any, parts: list[str], rewrite: dict[str, Any]) -> Any:
    """`doc` with the field at `parts` set to the fault's value, or removed ("[]": every list item)."""
    if not parts:
        return doc
    head, rest = parts[0], parts[1:]
    if head == "" and rest:
        return _rewritten(doc, rest, rewrite)
    if head == "[]":
        return [_rewritten(item, rest, rewrite) for item in doc] if isinstance(doc, list) else doc
    if not isinstance(doc, dict):
        return doc
    if rest:
        return {**doc, head: _rewritten(doc.get(head), rest, rewrite)} if head in doc else doc
    if rewrite["remove"]:
        return {k: v for k, v in doc.items() if k != head}
    return {**doc, head: rewrite["value"]}


def _rewrite_csv(text: str, rewrite: dict[str, Any]) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return text
    if rewrite["field"] == "header":
        rows[0] = str(rewrite["value"] or "").split(",")
    elif rewrite["field"] in rows[0]:
        column = rows[0].index(rewrite["field"])
        for row in rows[1:]:
            if column < len(row):
                row[column] = "" if rewrite["value"] is None else str(rewrite["value"])
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _error_shape(doc: dict[str, Any], status: int, shape: str) -> dict[str, Any]:
    code, message = doc.pop("error"), doc.pop("message", "")
    if shape == "nested":  # {"error": {"code", "message", …extra}, "requestId"}
        request_id = doc.pop("requestId", None)
        return {"error": {"code": code, "message": message, **doc}, "requestId": request_id}
    # RFC 9457 problem details, with the code and the extras as extension members
    return {
        "type": f"https://docs.10x.in/errors/{code}",
        "title": message,
        "status": status,
        "detail": message,
        "code": code,
        **doc,
    }


async def _disconnected(receive: Any) -> None:
    """Wait until the client closes the connection (the request body is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _replaying(body: bytes, receive: Any) -> Any:
    """A receive() that hands the app the body we already read."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
