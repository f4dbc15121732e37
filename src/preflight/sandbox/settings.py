"""What a sandbox process is started with (the CLI flags, as one object)."""

from __future__ import annotations

from dataclasses import dataclass, field

PLANS = ("FREE", "PRO", "ENTERPRISE")
ROUTE_CLASSES = ("read", "write", "public")
# Generous by default so a preflight run and the benchmarks are never throttled.
DEFAULT_THROTTLE_PER_MINUTE = 60000
MAX_BODY_BYTES = 1024 * 1024


def default_throttles() -> dict[str, int]:
    return {name: DEFAULT_THROTTLE_PER_MINUTE for name in ROUTE_CLASSES}


def default_throttle_windows() -> dict[str, int]:
    return {name: 60 for name in ROUTE_CLASSES}


@dataclass
class Settings:
    db_path: str
    plan: str = "ENTERPRISE"
    ctx_ttl: int = 1800
    throttles: dict[str, int] = field(default_factory=default_throttles)  # requests per window (the burst)
    throttle_windows: dict[str, int] = field(default_factory=default_throttle_windows)  # seconds
    max_body_bytes: int = MAX_BODY_BYTES
    writes_per_day: int | None = None  # a custom daily write quota for the default plan
    analytics_lag_seconds: int = 0  # analytics count only events older than this, and say STALE
