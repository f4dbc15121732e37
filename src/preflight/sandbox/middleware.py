"""The one pure-ASGI layer in front of the app (cheap: no BaseHTTPMiddleware), composed of the
platform (transport/platform.py) and the faults that break it (transport/faults.py, reshape.py).

In order, for every request:
1. a request id (`x-request-id` on every answer, `requestId` in error bodies) and the sandbox's `date`;
2. the body of a write, capped at 1 MiB (413 payload_too_large);
3. the throttle of its route class (read, write, public) and the IETF RateLimit headers;
4. the transport faults: server_error_blips, throttle_storm, slow_answers, then commit_then_503 and
   commit_then_timeout once a write committed;
5. idempotency for writes under /v2 (claim, run, store or release, replay);
6. the request log behind GET /__sandbox/requests.
`/__sandbox/*`, `/_site/*`, `GET /v2/system/health` and the API docs are never throttled or faulted.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

from preflight.sandbox.runtime import Runtime
from preflight.sandbox.transport import asgi, faults, platform
from preflight.sandbox.transport.call import Call
from preflight.sandbox.transport.reshape import reshaping


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
        except asgi.ClientGone:
            pass
        finally:
            platform.log(self.rt, call)

    async def _handle(self, call: Call, scope: dict[str, Any], receive: Any, send: Any) -> None:
        rt = self.rt
        call.raw_send = send  # a held answer (commit_then_timeout) bypasses any reshaping
        send = reshaping(rt.faults, send, call)
        if call.is_write:
            if not await asgi.read_body(call, receive, send, rt.settings.max_body_bytes):
                return
            receive = asgi.replaying(call.body, receive)
        if call.exempt:
            platform.peek_throttle(rt, call, scope)
            await asgi.stream(self.app, call, scope, receive, send)
            return
        if await platform.throttled(rt, call, scope, send) or await faults.refused(rt, call, send):
            return
        delay = faults.delay_of(rt, call)
        if not (call.is_write and call.path.startswith("/v2/")):
            await asgi.stream(self.app, call, scope, receive, send, delay)
            return
        fresh = await platform.write(self.app, rt, call, scope, receive, send, delay)
        if fresh is not None:  # a refusal or a replay went out already: no fault loses it
            await faults.deliver_write(rt, call, receive, send, fresh)
