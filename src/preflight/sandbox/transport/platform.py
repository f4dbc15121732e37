"""What the platform does to every request around its route: the throttle of its route class (and
the IETF RateLimit headers on every answer), idempotent writes under /v2 (claim, run, store or
release, replay; the record itself is core/idempotency.py), and the request log behind
GET /__sandbox/requests. What a fault does to a request is faults.py and reshape.py."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.core import idempotency
from preflight.sandbox.transport.asgi import AppAnswer, capture, send_answer, send_error

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime
    from preflight.sandbox.transport.call import Call

PUBLIC_CONVERSIONS = "/v2/public/conversions"
# 429 and 5xx are never stored for replay; nor a 401, which proves no caller.
NOT_STORED = (401, 429)


# --- the throttle ---------------------------------------------------------------------------


def peek_throttle(rt: Runtime, call: Call, scope: dict[str, Any]) -> None:
    """An exempt request spends no token, and still carries the caller's read headers."""
    call.extra += rt.limiter.peek("read", call.caller(scope)).headers()


async def throttled(rt: Runtime, call: Call, scope: dict[str, Any], send: Any) -> bool:
    """Spend a token of the request's route class; True when none was left (answered 429)."""
    verdict = rt.limiter.take(call.route_class, call.caller(scope))
    call.extra += verdict.headers()
    if verdict.allowed:
        return False
    await send_error(
        send,
        call,
        429,
        "rate_limited",
        f"{call.route_class} throttle exceeded: retry after {verdict.retry_after}s",
        {"Retry-After": str(verdict.retry_after)},
        reason="throttle",
    )
    return True


# --- the request log --------------------------------------------------------------------------


def log(rt: Runtime, call: Call) -> None:
    """The request's line in the log: answered, or held without an answer (status 0); a request
    whose client went away before any answer is not logged."""
    if call.status is not None:
        rt.requests.append((call.method, call.path, call.status, call.rid, rt.clock.now(), tuple(call.hits)))


# --- idempotent writes ------------------------------------------------------------------------


async def write(
    app: Any, rt: Runtime, call: Call, scope: dict[str, Any], receive: Any, send: Any, delay: float
) -> AppAnswer | None:
    """A write under /v2, through its Idempotency-Key (header, or the body's field). Returns the
    app's fresh answer, for the caller to deliver (a fault may still lose it after the commit), or
    None when the answer went out already: a refusal, a replay, or a fault's second run."""
    key, field = _key_of(call)
    if key is not None and not (isinstance(key, str) and 0 < len(key) <= idempotency.MAX_KEY_LENGTH):
        message = f"must be a string of 1 to {idempotency.MAX_KEY_LENGTH} characters"
        await send_error(
            send, call, 400, "validation_error", f"{field}: {message}", fields=[{"field": field, "message": message}]
        )
        return None
    if key is None:
        return await _without_key(app, call, scope, receive, send, delay)
    idem_scope = idempotency.scope_of(call.headers, call.method, call.path)
    print_ = idempotency.fingerprint(call.method, call.path, call.body, call.parsed)
    stored = idempotency.claim(rt, idem_scope, key, print_)
    if stored is None:
        return await _first_run(app, rt, scope, receive, delay, idem_scope, key)
    await _seen_before(app, rt, call, scope, receive, send, delay, stored, print_)
    return None


def _key_of(call: Call) -> tuple[Any, str]:
    """The key (not yet checked: the body's field may hold anything) and where it came from."""
    key = call.headers.get(idempotency.KEY_HEADER.lower())
    if key is None and isinstance(call.parsed, dict) and idempotency.BODY_FIELD in call.parsed:
        return call.parsed[idempotency.BODY_FIELD], idempotency.BODY_FIELD
    return key, idempotency.KEY_HEADER


async def _without_key(
    app: Any, call: Call, scope: dict[str, Any], receive: Any, send: Any, delay: float
) -> AppAnswer | None:
    """A write without a key just runs (a public conversion, which must carry one, is refused)."""
    if call.path == PUBLIC_CONVERSIONS:
        await send_error(
            send, call, 400, "idempotency_key_required", "public conversions need an Idempotency-Key header"
        )
        return None
    answer = await capture(app, scope, receive)
    if delay:
        await asyncio.sleep(delay)
    return answer


async def _first_run(
    app: Any, rt: Runtime, scope: dict[str, Any], receive: Any, delay: float, idem_scope: str, key: str
) -> AppAnswer:
    """The key's first request: run it, then store its answer for replay, or free the key."""
    try:
        answer = await capture(app, scope, receive)
        if delay:
            await asyncio.sleep(delay)
    except BaseException:
        idempotency.release(rt, idem_scope, key)  # a request cancelled mid-run leaves its key free
        raise
    if answer.status in NOT_STORED or answer.status >= 500:
        idempotency.release(rt, idem_scope, key)
    else:
        kept = [
            [k.decode("latin-1"), v.decode("latin-1")] for k, v in answer.headers if k.lower() != b"idempotent-replayed"
        ]
        idempotency.store(rt, idem_scope, key, answer.status, kept, answer.body)
    return answer


async def _seen_before(
    app: Any,
    rt: Runtime,
    call: Call,
    scope: dict[str, Any],
    receive: Any,
    send: Any,
    delay: float,
    stored: idempotency.Stored,
    print_: str,
) -> None:
    """A key claimed before: still in flight (409), used with another body (422), or replayed. Two
    faults break the platform's promise here: key_reuse_accepted and replay_counted_twice."""
    if stored.state == "pending":
        await send_error(
            send,
            call,
            409,
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still in flight",
            {"Retry-After": "1"},
        )
    elif stored.fingerprint != print_ and rt.faults.hit(FaultName.KEY_REUSE_ACCEPTED, *call.targets(rt)):
        await _run_again(app, call, scope, receive, send)
    elif stored.fingerprint != print_:
        await send_error(
            send, call, 422, "idempotency_key_reused", "this Idempotency-Key was used with a different request body"
        )
    elif call.path == PUBLIC_CONVERSIONS and rt.faults.hit(FaultName.REPLAY_COUNTED_TWICE, *call.targets(rt)):
        await _run_again(app, call, scope, receive, send)
    else:
        if delay:
            await asyncio.sleep(delay)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
        headers.append((b"idempotent-replayed", b"true"))
        await send_answer(send, call, stored.status or 200, headers, stored.body)


async def _run_again(app: Any, call: Call, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A fault's doing: the write runs anew instead of being refused or replayed."""
    scope[idempotency.FORCE_NEW] = True
    answer = await capture(app, scope, receive)
    await send_answer(send, call, answer.status, answer.headers, answer.body)
