"""Pacing by the target's own RateLimit headers, shared by every worker (preflight.http.pacing).

Both tests read what happened from the sandbox's request log (its own timestamps), never from
the test's clock."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from harness_helpers import make_project

from preflight.http.pacing import route_class
from preflight.sandbox.process import SandboxProcess

PER_SECOND = {"read": "10/s", "write": "10/s", "public": "10/s"}


def _at(entry: dict) -> float:
    return dt.datetime.strptime(entry["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


def _api(log: list[dict]) -> list[dict]:
    return [entry for entry in log if not entry["path"].startswith("/__sandbox")]


@pytest.mark.parametrize("workers", ["2", "0"], ids=["two workers: the pace in a file", "one process: in memory"])
def test_a_run_on_a_throttled_target_paces_itself_and_gets_no_429(tmp_path, workers):
    # 10 requests/s per class with a burst of 10. The run's ceiling stays the shipped 100/s: the
    # RateLimit headers alone bring it down (with the pace fixed at 100/s, the same run gets 429s:
    # see the fixed-rate rows of bench/RESULTS.md, "Throttle efficiency").
    with SandboxProcess(db=tmp_path / "sandbox.db", throttle=PER_SECOND) as sb:  # type: ignore[arg-type]
        project = make_project(tmp_path / "project", sandbox=sb)
        result = project.run("-n", workers)
        log = _api(sb.requests(10000))
    assert result.code == 0 and result.gate["verdict"] == "PASS", (
        f"expected verdict PASS, got exit {result.code}:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    )
    refused = [f"{e['method']} {e['path']} (request {e['requestId']}, at {e['at']})" for e in log if e["status"] == 429]
    assert not refused, (
        f"expected no 429 from a target throttled to 10/s per class, got {len(refused)}: "
        + "; ".join(refused[:5])
        + " - the pace did not follow the RateLimit headers "
        "(see preflight.http.pacing)"
    )
    per_class = Counter(route_class(e["method"], e["path"]) for e in log)
    assert per_class["public"] > 30, f"the run hardly used the throttled class: {dict(per_class)}"


WORKER = """
import json, sys
from collections import Counter
from preflight.http.client import Credentials, PlatformClient
from preflight.http.pacing import Pacer

url, handle, pace, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = PlatformClient(url, handle, Credentials(jwt=sys.stdin.read().strip()))
client.pacer = Pacer(pace, {"read": 200, "write": 200, "public": 200})
statuses = Counter(str(client.call("list_campaigns", step="pace").status) for _ in range(n))
client.close()
print(json.dumps(statuses))
"""


def test_a_429_pauses_the_class_for_every_worker(tmp_path):
    """Two worker processes on one pace file; every 8th request gets a 429 throttle with
    Retry-After 1 (fault throttle_storm). While one worker's pause runs, the other sends
    nothing of that class but the one request it may already have had on the way."""
    pace = str(tmp_path / "pace.sqlite")
    handles = ("alpha", "beta")
    with SandboxProcess(db=tmp_path / "sandbox.db") as sb:
        sb.set_faults({"throttle_storm": {"rate": 0.125, "retryAfter": 1}})
        workers = []
        for handle in handles:
            proc = subprocess.Popen(
                [sys.executable, "-c", WORKER, sb.url, handle, pace, "24"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            proc.stdin.write(sb.mint_jwt(handle))
            proc.stdin.close()
            workers.append(proc)
        outputs = [(proc.stdout.read(), proc.stderr.read(), proc.wait(timeout=120)) for proc in workers]
        log = _api(sb.requests(10000))
    for _, err, code in outputs:
        assert code == 0, f"a worker failed (exit {code}): {err[-2000:]}"
    done = [json.loads(out) for out, _, _ in outputs]
    assert all(statuses.get("200") == 24 for statuses in done), f"every request ends answered: {done}"

    def worker_of(entry: dict) -> str:
        return entry["path"].split("/")[3]  # /v2/handles/<handle>/campaigns

    storms = [e for e in log if e["status"] == 429]
    assert len(storms) >= 4, f"expected the storm to hit several times, got {len(storms)}: {log}"
    for storm in storms:
        start = _at(storm)
        end = start + 1.0 - 0.01  # Retry-After 1; the log's times are whole milliseconds
        other = [e for e in log if worker_of(e) != worker_of(storm) and start < _at(e) < end]
        # The other worker may have had one request on the way as the 429 went out (and, in a
        # race narrower than its own round trip, one more): never a steady stream.
        assert len(other) <= 2, (
            f"after the 429 to {storm['path']} (request {storm['requestId']} at {storm['at']}, Retry-After 1) "
            f"the other worker sent {len(other)} requests of the read class before the pause ended, "
            f"expected at most the one or two already on their way: "
            + ", ".join(f"{e['requestId']} at {e['at']}" for e in other)
            + " - the pause is not shared (see preflight.http.pacing)"
        )
