"""Pacing: per route class (read, write, public), one request budget shared by every worker.

Each class is a pyrate-limiter StateBucket running GCRA (a token bucket kept as one number,
the "theoretical arrival time"). The number lives in one row of a small SQLite file every
xdist worker opens, next to what the target taught about that class, so every worker spends
from the same budget and learns from every other worker's answers:

- the configured rate (`run.pacing.<class>`, else `run.rate_limit_per_second`) is the ceiling;
- `RateLimit-Limit` over the policy window (`RateLimit-Policy: 10;w=1`; without a policy,
  `run.pacing.window_seconds`) sets the class's rate to MARGIN of it, for every worker;
- `RateLimit-Remaining` below the bucket's burst holds the class back (0: until a token is due);
- a 429 `throttle` (not `daily_quota`) with Retry-After pauses the class for every worker.

A run in one process (no xdist worker) shares its pace with no one: the rows are kept in memory
(`IN_PROCESS`), without the file and its lock.

`RateLimit-Reset` is read but not paced on: a token bucket's Reset is "until full again",
a fixed window's is "until the window turns", and waiting for the first would stall a class
for a whole window.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyrate_limiter import GCRA, Limiter, Rate, SingleBucketFactory, StateBucket, StateStore

from preflight.core.clock import retry_after_seconds

try:
    import fcntl
except ImportError:  # Windows: filelock's LockFileEx (imported there alone: ~70 ms of start-up)
    fcntl = None

if TYPE_CHECKING:
    from filelock import FileLock

    from preflight.config.run import RunSettings

ROUTE_CLASSES = ("read", "write", "public")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PREFIXES = ("/v2/public/", "/_edge/")
# Pace a little under what the target allows: two workers' requests reach it with some jitter.
MARGIN = 0.95
DEFAULT_WINDOW_SECONDS = 60.0  # (gap) the contract sends no RateLimit-Policy: see DESIGN
# Requests a class may send at once: 10 ms worth of its rate, and at least 2 (which absorbs a
# worker waking a little late); none when the target allows fewer than SMALL_LIMIT a window.
BURST = 2
BURST_SECONDS = 0.01
SMALL_LIMIT = 10
# A ceiling no run reaches (requests per second): a class paced only by what the target says.
UNPACED = 1e6
# The pace file of a run in one process (no xdist worker): its state kept in memory, nothing shared.
IN_PROCESS = ":in-process:"
# How often a worker waiting for another one's pace update looks again (the update takes ~30 µs).
POLL_SECONDS = 0.0001
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


def route_class(method: str, path: str, *, click: bool = False) -> str:
    """The platform's route class of a request (the sandbox middleware's rule)."""
    if click or path.startswith(PUBLIC_PREFIXES):
        return "public"
    return "write" if method.upper() in WRITE_METHODS else "read"


# -- what one answer says ---------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """The IETF RateLimit fields of one answer; None where absent or unreadable."""

    limit: float | None = None
    remaining: float | None = None
    reset: float | None = None  # seconds
    window: float | None = None  # seconds, from a policy

    def per_second(self, default_window: float) -> float | None:
        if not self.limit:
            return None
        return self.limit / (self.window or default_window)


def read_quota(headers: Mapping[str, str]) -> Quota:
    """Tolerant: separate fields (RateLimit-Limit, -Remaining, -Reset, -Policy), the draft-03
    policies inside RateLimit-Limit (`10, 10;w=1`), and the combined RateLimit field in its
    two draft shapes (`limit=10, remaining=5, reset=3` and `"default";r=5;t=3`)."""
    limit_items = _items(headers.get("ratelimit-limit"))
    limit = _number(limit_items[0][0]) if limit_items else None
    remaining = _first_number(headers.get("ratelimit-remaining"))
    reset = _first_number(headers.get("ratelimit-reset"))
    policies = _policies(_items(headers.get("ratelimit-policy"))) or _policies(limit_items[1:])
    combined = _items(headers.get("ratelimit"))
    for token, params in combined:
        key, eq, value = token.partition("=")
        if eq:  # limit=10, remaining=5, reset=3
            key = key.strip().lower()
            if key == "limit" and limit is None:
                limit = _number(value)
            elif key == "remaining" and remaining is None:
                remaining = _number(value)
            elif key == "reset" and reset is None:
                reset = _number(value)
        else:  # "default";r=5;t=3
            remaining = remaining if remaining is not None else _number(params.get("r"))
            reset = reset if reset is not None else _number(params.get("t"))
    window = None
    if policies:  # the tightest sustained rate is the one to pace by; its quota is the limit
        limit, window = min(policies, key=lambda p: p[0] / p[1])
    return Quota(limit=limit or None, remaining=remaining, reset=reset, window=window)


def _items(value: str | None) -> list[tuple[str, dict[str, str]]]:
    """`a;k=v, b;k=v` as [(a, {k: v}), (b, {k: v})] (a loose structured-field list)."""
    if not value:
        return []
    items = []
    for item in value.split(","):
        token, *params = item.split(";")
        pairs = dict(p.strip().lower().partition("=")[::2] for p in params)
        items.append((token.strip(), {k: v.strip().strip('"') for k, v in pairs.items()}))
    return items


def _policies(items: list[tuple[str, dict[str, str]]]) -> list[tuple[float, float]]:
    """(quota, window seconds) of each readable policy: `10;w=1` or `"name";q=10;w=1`."""
    found = []
    for token, params in items:
        quota = _number(params.get("q")) or _number(token)
        window = _number(params.get("w"))
        if quota and window:
            found.append((quota, window))
    return found


def _number(value: str | None) -> float | None:
    match = _NUMBER.match(value) if value else None
    return float(match.group(1)) if match else None


def _first_number(value: str | None) -> float | None:
    items = _items(value)
    return _number(items[0][0]) if items else None


# -- the shared state ---------------------------------------------------------------------


class _Queue:
    """The lock file the run's processes queue on before a pace transaction.

    POSIX: the file is opened once per process and held open, and each acquire is one
    `fcntl.flock` (the kernel wakes the next waiter as the lock is released; about 1 µs when
    nobody holds it). filelock, which opens, checks and closes the file around every acquire,
    cost 0.1 to 0.3 ms a request (bench/acquire.py, bench/overhead.py). Elsewhere (Windows):
    filelock's LockFileEx, polled every POLL_SECONDS. Threads of one process are kept apart
    by the caller's own lock (flock is per open file, not per thread)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: int | None = None
        self._pid = 0
        self._portable: FileLock | None = None
        if fcntl is None:
            from filelock import FileLock

            self._portable = FileLock(path, poll_interval=POLL_SECONDS)

    def __enter__(self) -> None:
        if self._portable is not None:
            self._portable.acquire()
            return
        if self._pid != os.getpid():  # first use, or a forked child: a lock of its own, not its parent's
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._portable is not None:
            self._portable.release()
        else:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd, self._pid = None, 0


@dataclass
class _Row:
    """One class's shared pace: GCRA's theoretical arrival time (µs), what the target taught."""

    tat: int
    per_second: float | None = None
    quota: float | None = None

    def values(self) -> tuple[int, float | None, float | None]:
        return self.tat, self.per_second, self.quota


class _LocalRows:
    """The pace of a run in one process: the rows in memory, a lock for its threads. A run without
    xdist workers shares its pace with no one, and a file and its lock cost about 0.2 ms a request
    (bench/overhead.py)."""

    def __init__(self) -> None:
        self._rows = {name: _Row(0) for name in ROUTE_CLASSES}
        self._lock = threading.Lock()

    @contextmanager
    def row(self, route_class: str) -> Iterator[_Row]:
        with self._lock:
            yield self._rows[route_class]

    def close(self) -> None:
        pass


class _Db:
    """One connection per process to the run's pace file; every change in a write
    transaction (BEGIN IMMEDIATE), so two workers never spend the same slot.

    Workers queue on a lock file beside it first (`_Queue`: flock on a file held open on Linux
    and macOS, filelock's LockFileEx on Windows): a worker waits about as long as the other one
    holds the lock (tens of µs), where SQLite's own busy handler would sleep a millisecond or more."""

    def __init__(self, path: str) -> None:
        self._queue = _Queue(path + ".lock")
        # Autocommit mode: transactions are ours. The file is scratch: no fsync (synchronous OFF).
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._queue:  # the first worker creates the table; the others find it
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS pace (class TEXT PRIMARY KEY, tat INTEGER NOT NULL, "
                "per_second REAL, quota REAL)"
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO pace (class, tat) VALUES (?, 0)", [(c,) for c in ROUTE_CLASSES]
            )

    @contextmanager
    def row(self, route_class: str) -> Iterator[_Row]:
        """The class's row in one write transaction; what the caller changes in it is saved."""
        with self._lock, self._queue:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                tat, per_second, quota = cur.execute(
                    "SELECT tat, per_second, quota FROM pace WHERE class = ?", (route_class,)
                ).fetchone()
                row = _Row(int(tat), per_second, quota)
                before = row.values()
                yield row
                if row.values() != before:
                    cur.execute(
                        "UPDATE pace SET tat = ?, per_second = ?, quota = ? WHERE class = ?",
                        (*row.values(), route_class),
                    )
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._queue.close()


class SharedClassState(StateStore):
    """pyrate-limiter's StateStore for one route class: GCRA's state in the shared row, stepped
    at the class's current rate: the ceiling, or lower when the target taught so."""

    def __init__(self, db: _Db | _LocalRows, route_class: str, ceiling: float) -> None:
        self.db = db
        self.route_class = route_class
        self.ceiling = ceiling

    def rate(self, taught: float | None, quota: float | None) -> Rate:
        per_second = min(self.ceiling, taught) if taught else self.ceiling
        burst = 1 if quota and quota < SMALL_LIMIT else max(BURST, int(per_second * BURST_SECONDS))
        # GCRA spends interval / limit per request: 1000 per (1e6 / rate) ms is 1 / rate s each.
        return Rate(1000, max(1, round(1e6 / per_second)), burst=burst)

    def check(self, algorithm: Any, rates: Any, now: int, weight: int) -> Any:
        with self.db.row(self.route_class) as row:
            state, decision = algorithm.step([self.rate(row.per_second, row.quota)], (row.tat,), now, weight)
            if decision.allowed:
                row.tat = int(state[0])
        return decision

    def read(self, algorithm: Any, rates: Any) -> Any:
        with self.db.row(self.route_class) as row:
            return (row.tat,)

    def reset(self) -> None:
        with self.db.row(self.route_class) as row:
            row.tat = 0

    def teach(self, per_second: float, quota: float | None) -> float:
        """Lower the class's rate for every worker (never raise it); answer the rate in force."""
        with self.db.row(self.route_class) as row:
            if row.per_second is None or row.per_second > per_second:
                row.per_second = per_second
                # As SQL's min(coalesce(quota, new), new): an unknown new quota forgets the old one.
                row.quota = None if quota is None else min(quota if row.quota is None else row.quota, quota)
            return row.per_second

    def hold(self, now_ms: int, *, until_ms: float | None = None, credit: float | None = None) -> None:
        """Push the class's next slot back: no request before `until_ms`, or at most `credit` at once."""
        with self.db.row(self.route_class) as row:
            rate = self.rate(row.per_second, row.quota)
            emission = max(1, math.ceil(rate.interval * 1000 / rate.limit))  # µs per request, as GCRA counts
            floor = row.tat
            if until_ms is not None:  # the first slot at until_ms, then the usual pace
                floor = max(floor, int(until_ms * 1000) + (rate.burst - 1) * emission)
            if credit is not None and credit < rate.burst:
                floor = max(floor, now_ms * 1000 + int((rate.burst - credit) * emission))
            row.tat = max(row.tat, floor)


# -- what the client uses -----------------------------------------------------------------


class Pacer:
    """`acquire(route_class)` before each attempt; `observe(...)` with each answer."""

    def __init__(
        self,
        path: str,
        ceilings: Mapping[str, float],
        *,
        from_headers: bool = True,
        default_window: float = DEFAULT_WINDOW_SECONDS,
        max_pause: float = 60.0,
    ) -> None:
        self.from_headers = from_headers
        self.default_window = default_window
        self.max_pause = max_pause
        self._db = _LocalRows() if path == IN_PROCESS else _Db(path)
        self._states: dict[str, SharedClassState] = {}
        self._buckets: dict[str, StateBucket] = {}
        self._limiters: dict[str, Limiter] = {}
        self._taught: dict[str, float] = {}  # what this process last saw in force, to skip writes
        for name in ROUTE_CLASSES:
            state = self._states[name] = SharedClassState(self._db, name, ceilings[name])
            bucket = self._buckets[name] = StateBucket([state.rate(None, None)], algorithm=GCRA(), store=state)
            # No leak thread (a state bucket has nothing to leak); a 1 ms wake-up buffer, not 50. The
            # clock is pyrate's monotonic one: the same for every process on the machine (Linux, macOS).
            self._limiters[name] = Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=1)

    def acquire(self, route_class: str) -> None:
        self._limiters[route_class].try_acquire(route_class, blocking=True)

    def observe(self, route_class: str, status: int | None, headers: Mapping[str, str], reason: Any = None) -> None:
        state = self._states[route_class]
        if status == 429 and reason != "daily_quota":
            pause = retry_after_seconds(headers.get("retry-after"), headers.get("date"))
            if pause is not None and pause <= self.max_pause:
                now = self._buckets[route_class].now()
                state.hold(now, until_ms=now + pause * 1000)
        if not self.from_headers or status is None:
            return
        quota = read_quota(headers)
        per_second = quota.per_second(self.default_window)
        if per_second and per_second * MARGIN < self._taught.get(route_class, math.inf):
            self._taught[route_class] = state.teach(per_second * MARGIN, quota.limit)
        if quota.remaining is not None and quota.remaining < BURST:  # (a larger burst: a fast target)
            # One less than it says: another worker may have a request on the way already.
            state.hold(self._buckets[route_class].now(), credit=quota.remaining - 1)

    def close(self) -> None:
        for limiter in self._limiters.values():
            limiter.close()
        self._db.close()


def ceilings(run_settings: RunSettings, *, embedded: bool = False) -> dict[str, float]:
    """Per class: `run.pacing.<class>` when set, else `run.rate_limit_per_second`. The embedded
    sandbox is the run's own, started for it alone: no politeness ceiling (UNPACED), only what its
    RateLimit headers and 429s say when it is throttled."""
    if embedded:
        return dict.fromkeys(ROUTE_CLASSES, UNPACED)
    pacing = getattr(run_settings, "pacing", None)
    return {name: (getattr(pacing, name, None) or run_settings.rate_limit_per_second) for name in ROUTE_CLASSES}


def describe(run_settings: RunSettings, *, embedded: bool = False) -> dict[str, Any]:
    """The pace a run uses, as the gate records it: the ceiling per class (None: none), and whether
    the target's RateLimit headers may tighten it."""
    pacing = getattr(run_settings, "pacing", None)
    return {
        "ceilings": {k: (None if v >= UNPACED else v) for k, v in ceilings(run_settings, embedded=embedded).items()},
        "fromHeaders": getattr(pacing, "from_headers", True),
        "why": "the embedded sandbox is the run's own: paced only by its RateLimit headers and 429s"
        if embedded
        else "run.pacing / run.rate_limit_per_second, tightened by the target's RateLimit headers",
    }


def make_pacer(path: str | None, run_settings: RunSettings, *, embedded: bool = False) -> Pacer | None:
    if not path:
        return None
    pacing = getattr(run_settings, "pacing", None)
    return Pacer(
        path,
        ceilings(run_settings, embedded=embedded),
        from_headers=getattr(pacing, "from_headers", True),
        default_window=getattr(pacing, "window_seconds", DEFAULT_WINDOW_SECONDS),
        max_pause=run_settings.retry.max_wait_seconds,
    )
