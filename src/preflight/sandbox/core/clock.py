"""The sandbox clock: real time plus an offset that `POST /__sandbox/clock` moves for everyone.

Everything that expires (ctx tokens, JWTs, idempotency records, the quota day) reads this
clock, so a test can make a ctx stale or turn the quota day without waiting.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> float:
        self.offset += seconds
        return self.now()


def rfc3339(ts: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2026-11-01T12:00:00.123Z."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def utc_day(ts: float) -> str:
    """The UTC day of a timestamp as YYYYMMDD (the quota day)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d")


def next_midnight(ts: float) -> float:
    dt = datetime.fromtimestamp(ts, UTC)
    midnight = datetime(dt.year, dt.month, dt.day, tzinfo=UTC) + timedelta(days=1)
    return midnight.timestamp()


def parse_rfc3339(text: str) -> float:
    """An RFC 3339 time (with Z or an offset) as epoch seconds; ValueError when it is not one."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if value.tzinfo is None or "T" not in text.upper():
        raise ValueError("an RFC 3339 time with a zone, e.g. 2026-11-27T12:00:00Z")
    return value.timestamp()
