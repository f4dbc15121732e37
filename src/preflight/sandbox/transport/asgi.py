"""The ASGI plumbing of the layer in front of the app: sending an answer, reading a write's body
once (capped), and running the app either streamed (its answer goes out as it comes) or captured
(kept, for the idempotency record and for the faults that act after a commit)."""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import TYPE_CHECKING, Any, NamedTuple

from preflight.sandbox.core.errors import error_body

if TYPE_CHECKING:
    from preflight.sandbox.transport.call import Call

JSON_HEADERS = [(b"content-type", b"application/json")]


class ClientGone(Exception):
    """The client went away while its request body was being read: there is no one to answer."""


class AppAnswer(NamedTuple):
    """The app's answer, captured instead of sent."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


async def send_answer(send: Any, call: Call, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    call.status = status
    await send({"type": "http.response.start", "status": status, "headers": list(headers) + call.extra})
    await send({"type": "http.response.body", "body": body})


async def send_error(
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
    await send_answer(send, call, status, raw, body)


async def read_body(call: Call, receive: Any, send: Any, limit: int) -> bool:
    """Read a write's whole body into `call` (and its JSON, when it parses); False once a body over
    `limit` bytes was answered 413."""
    declared = call.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await _too_large(call, send, limit)
        return False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await _too_large(call, send, limit)
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


async def _too_large(call: Call, send: Any, limit: int) -> None:
    await send_error(send, call, 413, "payload_too_large", f"the request body is over {limit} bytes")


def replaying(body: bytes, receive: Any) -> Any:
    """A receive() that hands the app the body we already read."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def disconnected(receive: Any) -> None:
    """Wait until the client closes the connection (the request body is already read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def stream(app: Any, call: Call, scope: dict[str, Any], receive: Any, send: Any, delay: float = 0.0) -> None:
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
        await app(scope, receive, wrapped)
    except Exception:
        traceback.print_exc(file=sys.stderr)  # the 500 answer went out already


async def capture(app: Any, scope: dict[str, Any], receive: Any) -> AppAnswer:
    """Run the app and keep its answer instead of sending it."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def kept(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, kept)
    except Exception:
        traceback.print_exc(file=sys.stderr)
    if not start:
        body = json.dumps(
            error_body(scope["state"]["request_id"], "internal_error", "the sandbox failed to answer")
        ).encode()
        return AppAnswer(500, JSON_HEADERS + [(b"content-length", str(len(body)).encode())], body)
    return AppAnswer(start["status"], [tuple(h) for h in start.get("headers", [])], b"".join(chunks))
