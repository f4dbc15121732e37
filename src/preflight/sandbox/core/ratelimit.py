"""Per-route-class throttles (read, write, public): a token bucket per class and caller.

A bucket holds `limit` tokens and refills `limit` per minute. Every answer carries the IETF
headers RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds until the bucket is
full again). Real (monotonic) time, not the sandbox clock: throttles are about load.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int = 0

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"ratelimit-limit", str(self.limit).encode()),
                (b"ratelimit-remaining", str(self.remaining).encode()),
                (b"ratelimit-reset", str(self.reset).encode()),
                (b"ratelimit-policy", f"{self.limit};w=60".encode())]


class Limiter:
    MAX_CALLERS = 50000  # buckets kept; past it they are dropped (all start full again)

    def __init__(self, per_minute: dict[str, int]) -> None:
        self.per_minute = dict(per_minute)
        self._buckets: dict[tuple[str, str], list[float]] = {}

    def _bucket(self, route_class: str, caller: str, now: float) -> tuple[list[float], int, float]:
        limit = self.per_minute[route_class]
        rate = limit / 60.0
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

    def take(self, route_class: str, caller: str) -> Verdict:
        bucket, limit, rate = self._bucket(route_class, caller, time.monotonic())
        if bucket[0] >= 1:
            bucket[0] -= 1
            return Verdict(True, limit, int(bucket[0]), math.ceil((limit - bucket[0]) / rate))
        wait = max(1, math.ceil((1 - bucket[0]) / rate))
        return Verdict(False, limit, 0, math.ceil((limit - bucket[0]) / rate), wait)

    def peek(self, route_class: str, caller: str) -> Verdict:
        bucket, limit, rate = self._bucket(route_class, caller, time.monotonic())
        return Verdict(True, limit, int(bucket[0]), math.ceil((limit - bucket[0]) / rate))

    def reset(self) -> None:
        self._buckets.clear()
