"""Times as the reports write them: RFC 3339 UTC, to the second."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from preflight.core.readings import read_time


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def retry_after_seconds(value: str | None, date: str | None = None) -> float | None:
    """A Retry-After header in seconds: delay-seconds, or an HTTP-date (RFC 9110) counted from the
    answer's own Date when it has one (the platform's clock), else from ours. None when absent or
    unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    when = _http_date(text)
    if when is None:
        return None
    sent = _http_date(date) if date else None
    now = sent.timestamp() if sent is not None else time.time()
    return max(0.0, when.timestamp() - now)


def _http_date(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """A time from an answer (RFC 3339, or epoch seconds or milliseconds: core.readings.read_time),
    or None when it is absent or unreadable. A check that must tell those apart reads it with
    read_time itself."""
    parsed = read_time(value)
    return parsed if isinstance(parsed, datetime) else None
