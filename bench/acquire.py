"""The cost of the shared pace per request: one `acquire` plus one `observe`, in µs.

Not a test. Compares the bucket the harness used before (one pyrate-limiter SQLiteBucket for
every request, a file lock around each acquire) with the per-class pace of src/preflight/http/pacing.py,
with the state file on disk (the run's scratch folder) and on tmpfs (/dev/shm), in one process
and in two processes spending from the same file at once (as two xdist workers do). Between two
requests the loop sleeps 1 ms (a fast answer), and the rate is set far above what it asks, so
the figures are the bookkeeping alone (the calls are timed, not the sleeps), never a wait.

    .venv/bin/python bench/acquire.py [--n 2000] [--rounds 2]   (bench/throttle.py runs it too)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pyrate_limiter import Duration, limiter_factory  # noqa: E402

from preflight.http.pacing import Pacer  # noqa: E402

HEADERS = {
    "ratelimit-limit": "100000000",
    "ratelimit-remaining": "59990",
    "ratelimit-reset": "1",
    "ratelimit-policy": "100000000;w=1",
    "content-type": "application/json",
}
FAST = 1_000_000.0  # per second: never a wait


class Legacy:
    """The bucket before pacing: SQLite + a file lock per acquire, sliding-window log."""

    def __init__(self, path: str) -> None:
        self.limiter = limiter_factory.create_sqlite_limiter(
            rate_per_duration=int(FAST), duration=Duration.SECOND, db_path=path, use_file_lock=True
        )

    def request(self) -> None:
        self.limiter.try_acquire("platform", blocking=True)

    def close(self) -> None:
        self.limiter.close()


class Paced:
    def __init__(self, path: str) -> None:
        self.pacer = Pacer(path, {"read": FAST, "write": FAST, "public": FAST})

    def request(self) -> None:
        self.pacer.acquire("read")
        self.pacer.observe("read", 200, HEADERS)

    def close(self) -> None:
        self.pacer.close()


KINDS = {"legacy": Legacy, "paced": Paced}
LABELS = {"legacy": "before: one SQLiteBucket + file lock", "paced": "pacing.Pacer: acquire + observe"}


def _loop(kind: str, path: str, n: int, start: mp.Event | None, out: mp.Queue | None) -> float:
    subject = KINDS[kind](path)
    for _ in range(50):
        subject.request()
    if start is not None:
        start.wait()
    spent = 0.0
    for _ in range(n):
        time.sleep(0.001)
        began = time.perf_counter()
        subject.request()
        spent += time.perf_counter() - began
    per = spent / n * 1e6
    subject.close()
    if out is not None:
        out.put(per)
    return per


def measure(kind: str, where: str, n: int, processes: int) -> list[float]:
    folder = tempfile.mkdtemp(prefix="pace-bench-", dir=where)
    path = os.path.join(folder, "pace.sqlite")
    try:
        if processes == 1:
            return [_loop(kind, path, n, None, None)]
        KINDS[kind](path).close()  # create the file once, as the controller does
        start, out = mp.Event(), mp.Queue()
        procs = [mp.Process(target=_loop, args=(kind, path, n, start, out)) for _ in range(processes)]
        for proc in procs:
            proc.start()
        time.sleep(1.0)  # every process set up
        start.set()
        for proc in procs:
            proc.join()
        return [out.get() for _ in procs]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(n: int, rounds: int) -> list[str]:
    """The markdown table: per bucket and state-file place, µs per request (best of `rounds`)."""
    places = [("disk (scratch folder)", tempfile.gettempdir())]
    if os.path.isdir("/dev/shm"):
        places.append(("tmpfs (/dev/shm)", "/dev/shm"))
    lines = ["| bucket | state file | 1 process: µs/request | 2 processes at once: µs/request |", "|---|---|---:|---:|"]
    for kind in KINDS:
        for label, where in places:
            one = min(measure(kind, where, n, 1)[0] for _ in range(rounds))
            two = min(statistics.mean(measure(kind, where, n, 2)) for _ in range(rounds))
            lines.append(f"| {LABELS[kind]} | {label} | {one:.0f} | {two:.0f} |")
            print("  " + lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/acquire.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="requests per process (default 2000)")
    parser.add_argument("--rounds", type=int, default=2, help="best of (default 2)")
    args = parser.parse_args(argv)
    print("\n".join(table(args.n, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
