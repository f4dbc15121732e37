"""The transport faults: what a fault does to a request on its way through the platform. Before the
route: server_error_blips (503) and throttle_storm (429); to the answer's timing: slow_answers;
after a write committed: commit_then_503 and commit_then_timeout, never to an idempotent replay
(the platform answers that from its record). Never to an exempt request (`Call.exempt`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.transport.asgi import AppAnswer, disconnected, send_answer, send_error

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime
    from preflight.sandbox.transport.call import Call


async def refused(rt: Runtime, call: Call, send: Any) -> bool:
    """True when a fault answered the request instead of the platform: a blip's 503 or a storm's 429."""
    if not rt.faults.active:
        return False
    targets = call.targets(rt)
    blip = rt.faults.hit(FaultName.SERVER_ERROR_BLIPS, *targets)
    if blip:
        await send_error(
            send,
            call,
            503,
            "service_unavailable",
            "the platform is briefly unavailable (fault server_error_blips)",
            {"Retry-After": str(blip["retryAfter"])},
        )
        return True
    storm = rt.faults.hit(FaultName.THROTTLE_STORM, *targets)
    if storm:
        wait = str(storm["retryAfter"])
        await send_error(
            send,
            call,
            429,
            "rate_limited",
            f"throttled: retry after {wait}s (fault throttle_storm)",
            {"Retry-After": wait},
            reason="throttle",
        )
        return True
    return False


def delay_of(rt: Runtime, call: Call) -> float:
    """The seconds slow_answers holds this request's answer back (0.0 when not hit)."""
    if not rt.faults.active:
        return 0.0
    slow = rt.faults.hit(FaultName.SLOW_ANSWERS, *call.targets(rt))
    return slow["delayMs"] / 1000.0 if slow else 0.0


async def deliver_write(rt: Runtime, call: Call, receive: Any, send: Any, answer: AppAnswer) -> None:
    """A write's fresh answer, unless a fault loses it after the commit (a 2xx: nothing else committed)."""
    committed = 200 <= answer.status < 300
    lost = rt.faults.hit(FaultName.COMMIT_THEN_503, *call.targets(rt)) if committed else None
    if lost:
        await send_error(
            send,
            call,
            503,
            "service_unavailable",
            "the write committed but the answer failed (fault commit_then_503)",
            {"Retry-After": str(lost["retryAfter"])},
        )
        return
    held = rt.faults.hit(FaultName.COMMIT_THEN_TIMEOUT, *call.targets(rt)) if committed else None
    if held:
        await _no_answer(call, receive, held["holdMs"] / 1000.0)
        return
    await send_answer(send, call, answer.status, answer.headers, answer.body)


async def _no_answer(call: Call, receive: Any, hold: float) -> None:
    """A network timeout after the commit: the answer is held until the client gives up (at most
    `hold` seconds), and a client still waiting then has its connection closed mid-answer. Logged
    with status 0: no answer reached the client."""
    call.status = 0
    try:
        await asyncio.wait_for(disconnected(receive), hold)
        return  # the client timed out and went away: there is no one to answer
    except TimeoutError:
        pass
    # An answer started and never finished (past any reshaping): the server closes the connection after it.
    await call.raw_send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    await call.raw_send({"type": "http.response.body", "body": b"", "more_body": True})
