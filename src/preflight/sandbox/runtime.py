"""Everything one sandbox process holds: settings, database, clock, keys, faults, throttles."""

from __future__ import annotations

import os
from collections import deque
from typing import Any

from preflight.sandbox.core.clock import Clock
from preflight.sandbox.core.ratelimit import Limiter
from preflight.sandbox.db import Database
from preflight.sandbox.faults import Faults
from preflight.sandbox.settings import Settings

REQUEST_LOG_SIZE = 10000


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_path)
        # Keys and the clock offset live in the database, so a restart with the same --db
        # still accepts the JWTs, PATs and ctx tokens it minted before.
        self.jwt_secret = self._secret("jwt_secret")
        self.ctx_key = bytes.fromhex(self._secret("ctx_key"))
        self.clock = Clock(float(self.db.get_meta("clock_offset") or 0.0))
        self.faults = Faults()
        self.limiter = Limiter(settings.throttles, settings.throttle_windows)
        self.requests: deque[tuple[str, str, int, str, float, tuple[str, ...]]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.plans: dict[str, str] = {}
        self.jwt_cache: dict[str, dict[str, Any]] = {}
        self.pat_cache: dict[str, tuple] = {}
        # Claims left pending by a process that died mid-request would block their keys.
        self.db.run("DELETE FROM idempotency WHERE state = 'pending'")

    def _secret(self, name: str) -> str:
        value = self.db.get_meta(name)
        if value is None:
            value = os.urandom(32).hex()
            self.db.set_meta(name, value)
        return value

    def advance_clock(self, seconds: float) -> float:
        now = self.clock.advance(seconds)
        self.db.set_meta("clock_offset", repr(self.clock.offset))
        return now

    def forget_caches(self) -> None:
        self.plans.clear()
        self.pat_cache.clear()

    def reset(self) -> None:
        """All data and faults cleared, the clock back to real time. Signing keys stay."""
        self.db.clear_data()
        self.clock.offset = 0.0
        self.db.set_meta("clock_offset", "0.0")
        self.faults.clear()
        self.limiter.reset()
        self.requests.clear()
        self.forget_caches()

    def close(self) -> None:
        self.db.close()
