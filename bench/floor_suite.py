"""The pytest floor of bench/overhead.py (bench-only, not a test of the project): the requests
of a recorded harness run (PREFLIGHT_BENCH_TRACE_IN), replayed inside plain pytest, one test
per harness test with that test's requests, in the same order; the requests before the first
test and after the last in a session fixture. No harness: what pytest itself (with the run's
--alluredir and --junitxml) costs per test, to set against the harness.

Run from a folder whose pytest.ini keeps the preflight plugin disarmed (bench/overhead.py does).
The replay's summary (statuses, mismatches) goes to PREFLIGHT_BENCH_REPLAY_SUMMARY.
"""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
import replay

RECORDS = replay.load(os.environ["PREFLIGHT_BENCH_TRACE_IN"])
BEFORE, TESTS, AFTER = replay.by_test(RECORDS)


@pytest.fixture(scope="session")
def replayer():
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        player = replay.Replayer(RECORDS, client)
        started = time.perf_counter()
        for index in BEFORE:
            player.send(index)
        yield player
        for index in AFTER:
            player.send(index)
        summary = player.summary(time.perf_counter() - started)
    with open(os.environ["PREFLIGHT_BENCH_REPLAY_SUMMARY"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle)


@pytest.mark.parametrize("test", range(len(TESTS)), ids=[nodeid.rsplit("::", 1)[-1] for nodeid, _ in TESTS])
def test_harness_test(replayer, test):
    for index in TESTS[test][1]:
        replayer.send(index)
