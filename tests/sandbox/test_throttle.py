"""`--throttle` per minute and per second: the token buckets and the RateLimit headers they send."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from sandbox_helpers import error_of

from preflight.sandbox.process import SandboxProcess


@pytest.mark.parametrize("value", ["read=20/h", "read=0/s", "read=/s", "read=2.5/s", "read=20/s/s"])
def test_bad_throttle_is_one_line(value):
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "sandbox", "--throttle", value],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid throttle" in lines[0] and "read=20/s" in lines[0], done.stderr


def test_per_second_throttle_has_a_burst_of_n_and_a_one_second_window():
    with SandboxProcess(throttle={"read": "3/s", "public": "50/m"}) as sb:  # type: ignore[dict-item]
        info = sb.info()
        assert info["throttles"] == {"read": 3, "write": 60000, "public": 50}
        assert info["throttleWindows"] == {"read": 1, "write": 60, "public": 60}
        token = sb.mint_jwt("gharart")
        headers = {"Authorization": f"Bearer {token}"}
        # The throttles' time stopped: no token comes back between two requests, however slow the machine.
        assert sb.throttle_clock(stopped=True)["stopped"] is True
        with httpx.Client(base_url=sb.url) as client:
            answers = [client.get("/v2/handles/gharart/campaigns", headers=headers) for _ in range(4)]
            assert [a.status_code for a in answers] == [200, 200, 200, 429], [a.text for a in answers]
            assert all(a.headers["ratelimit-policy"] == "3;w=1" for a in answers)
            assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
            assert [int(a.headers["ratelimit-remaining"]) for a in answers] == [2, 1, 0, 0]
            assert [int(a.headers["ratelimit-reset"]) for a in answers] == [1, 1, 1, 1]  # full again within 1 s
            throttled = answers[-1]
            error_of(throttled, 429, "rate_limited", reason="throttle")
            assert throttled.headers["retry-after"] == "1"  # whole seconds: a token is due sooner
            # Refilled per second, not per minute: a second on, the class answers again, its burst whole.
            sb.throttle_clock(advance=0.999)
            early = client.get("/v2/handles/gharart/campaigns", headers=headers)
            assert early.status_code == 200 and early.headers["ratelimit-remaining"] == "1", early.headers
            sb.throttle_clock(advance=1)
            again = client.get("/v2/handles/gharart/campaigns", headers=headers)
            assert again.status_code == 200 and again.headers["ratelimit-remaining"] == "2", again.headers
            # The other classes keep their own windows.
            public = client.get("/v2/public/context", params={"ctx": "x"})
            assert public.headers["ratelimit-policy"] == "50;w=60"
            assert client.post("/__sandbox/reset").headers["ratelimit-policy"] == "3;w=1"  # peeks read


def test_per_minute_forms_keep_working():
    with SandboxProcess(throttle={"read": 4, "write": "2/m"}) as sb:  # type: ignore[dict-item]
        assert sb.info()["throttleWindows"] == {"read": 60, "write": 60, "public": 60}
        token = sb.mint_jwt("gharart")
        headers = {"Authorization": f"Bearer {token}"}
        sb.throttle_clock(stopped=True)  # exact, however slow the machine
        with httpx.Client(base_url=sb.url) as client:
            answers = [client.get("/v2/handles/gharart/campaigns", headers=headers) for _ in range(5)]
            # A token comes back every 15 s: the fifth GET is over the limit.
            assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
            assert answers[0].headers["ratelimit-policy"] == "4;w=60"
            assert answers[-1].headers["retry-after"] == "15"
            write = client.post("/v2/handles/gharart/campaigns", headers=headers, json={})
            assert write.headers["ratelimit-policy"] == "2;w=60"
