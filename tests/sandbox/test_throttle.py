"""`--throttle` per minute and per second: the token buckets and the RateLimit headers they send."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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


def _until_throttled(client: httpx.Client, path: str, headers: dict[str, str], most: int = 200) -> list[httpx.Response]:
    answers = []
    for _ in range(most):
        answers.append(client.get(path, headers=headers))
        if answers[-1].status_code == 429:
            return answers
    raise AssertionError(
        f"no 429 in {most} quick GETs of {path}: the throttle did not bite (last headers {dict(answers[-1].headers)})"
    )


def test_per_second_throttle_has_a_burst_of_n_and_a_one_second_window():
    with SandboxProcess(throttle={"read": "3/s", "public": "50/m"}) as sb:  # type: ignore[dict-item]
        info = sb.info()
        assert info["throttles"] == {"read": 3, "write": 60000, "public": 50}
        assert info["throttleWindows"] == {"read": 1, "write": 60, "public": 60}
        token = sb.mint_jwt("gharart")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=sb.url) as client:
            answers = _until_throttled(client, "/v2/handles/gharart/campaigns", headers)
            # A burst of 3 (more only if a token came back in between): never fewer.
            assert len(answers) >= 4, [a.status_code for a in answers]
            assert all(a.headers["ratelimit-policy"] == "3;w=1" for a in answers)
            assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
            # Remaining counts down from 2 and is 0 on the refusal; a token may come back between two
            # requests on a busy machine (a third of a second each), so the steps in between are not fixed.
            remaining = [int(a.headers["ratelimit-remaining"]) for a in answers]
            assert remaining[0] == 2 and remaining[-1] == 0 and all(0 <= r <= 2 for r in remaining), remaining
            assert all(int(a.headers["ratelimit-reset"]) <= 1 for a in answers)  # full again within 1 s
            throttled = answers[-1]
            error_of(throttled, 429, "rate_limited", reason="throttle")
            assert throttled.headers["retry-after"] == "1"  # whole seconds: a token is due sooner
            # Refilled per second, not per minute: after the Retry-After the class answers again.
            time.sleep(int(throttled.headers["retry-after"]))
            again = client.get("/v2/handles/gharart/campaigns", headers=headers)
            assert again.status_code == 200, again.text
            # The other classes keep their own windows.
            public = client.get("/v2/public/context", params={"ctx": "x"})
            assert public.headers["ratelimit-policy"] == "50;w=60"
            assert client.post("/__sandbox/reset").headers["ratelimit-policy"] == "3;w=1"  # peeks read


def test_per_minute_forms_keep_working():
    with SandboxProcess(throttle={"read": 4, "write": "2/m"}) as sb:  # type: ignore[dict-item]
        assert sb.info()["throttleWindows"] == {"read": 60, "write": 60, "public": 60}
        token = sb.mint_jwt("gharart")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=sb.url) as client:
            answers = [client.get("/v2/handles/gharart/campaigns", headers=headers) for _ in range(5)]
            # A token comes back every 15 s: the fifth quick GET is over the limit.
            assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
            assert answers[0].headers["ratelimit-policy"] == "4;w=60"
            assert int(answers[-1].headers["retry-after"]) >= 14
            write = client.post("/v2/handles/gharart/campaigns", headers=headers, json={})
            assert write.headers["ratelimit-policy"] == "2;w=60"
