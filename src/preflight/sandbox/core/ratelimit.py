"""Per-route-class throttles (read, write, public): a token bucket per class and caller.

A bucket holds `limit` tokens (the burst) and refills `limit` per window: 60 s for the
`read=600` form of `--throttle`, 1 s for `read=20/s`. Every answer carries the IETF headers
RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (seconds until the bucket is full
again) and RateLimit-Policy (`limit;w=window`). Real (monotonic) time, not the sandbox clock:
throttles are about load. A test may stop that time and move it by hand
(`POST /__sandbox/throttle-clock`), so a window is exact on a loaded machine.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

MINUTE = 60


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int = 0
    window: int = MINUTE

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
            (b"ratelimit-policy", f"{self.limit};w={self.window}".encode()),
        ]


class Limiter:
    MAX_CALLERS = 50000  # buckets kept; past it they are dropped (all start full again)

    def __init__(self, limits: dict[str, int], windows: dict[str, int] | None = None) -> None:
        self.limits = dict(limits)
        self.windows = {name: (windows or {}).get(name, MINUTE) for name in self.limits}
        self._buckets: dict[tuple[str, str], list[float]] = {}
        self.stopped_at: float | None = None  # the throttles' time, stopped by a test
        self.moved = 0.0  # seconds a test moved it on

    def now(self) -> float:
        return (time.monotonic() if self.stopped_at is None else self.stopped_at) + self.moved

    def set_clock(self, stopped: bool | None, advance: float) -> float:
        """Stop (True) or restart (False) the throttles' time, then move it on `advance` seconds."""
        if stopped is True and self.stopped_at is None:
            self.stopped_at = time.monotonic()
        elif stopped is False and self.stopped_at is not None:
            self.moved += self.stopped_at - time.monotonic()  # running again from where it stood
            self.stopped_at = None
        self.moved += advance
        return self.now()

    def _bucket(self, route_class: str, caller: str, now: float) -> tuple[list[float], int, float]:
        limit = self.limits[route_class]
        rate = limit / self.windows[route_class]
        key = (route_class, caller)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_CALLERS:
                self._buckets.clear()
            bucket = self._buckets[key] = [float(limit), now]
        else:
            bucket[0] = min(limit, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
        return bucket, limit, rate

    def _verdict(
        self, allowed: bool, route_class: str, bucket: list[float], limit: int, rate: float, retry_after: int = 0
    ) -> Verdict:
        return Verdict(
            allowed,
            limit,
            int(bucket[0]),
            math.ceil((limit - bucket[0]) / rate),
            retry_after,
            self.windows[route_class],
        )

    def take(self, route_class: str, caller: str) -> Verdict:
        bucket, limit, rate = self._bucket(route_class, caller, self.now())
        if bucket[0] >= 1:
            bucket[0] -= 1
            return self._verdict(True, route_class, bucket, limit, rate)
        # Retry-After is whole seconds: at least 1, even when a token is due sooner.
        wait = max(1, math.ceil((1 - bucket[0]) / rate))
        return self._verdict(False, route_class, bucket, limit, rate, wait)

    def peek(self, route_class: str, caller: str) -> Verdict:
        bucket, limit, rate = self._bucket(route_class, caller, self.now())
        return self._verdict(True, route_class, bucket, limit, rate)

    def reset(self) -> None:
        self._buckets.clear()
        self.stopped_at, self.moved = None, 0.0
