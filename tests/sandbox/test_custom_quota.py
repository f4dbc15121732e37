"""`preflight sandbox --writes-per-day N`: a big customer's custom daily write quota."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sandbox_helpers import Api, error_of

from preflight.sandbox.process import SandboxProcess


@pytest.fixture(scope="module")
def custom(tmp_path_factory: pytest.TempPathFactory):
    with SandboxProcess(db=tmp_path_factory.mktemp("custom") / "sandbox.db", plan="PRO", writes_per_day=3) as sb:
        yield sb


def test_the_default_plan_gets_the_custom_quota_and_usage_meters_say_so(custom):
    custom.reset()
    api = Api(custom)
    try:
        assert api.get("/v2/handles/{h}/usage-meters").json()["writesPerDay"] == 3  # PRO alone would be 10
        for slug in ("link-one", "link-two", "link-three"):
            assert api.link(slug).status_code == 201
        refused = api.put("/v2/handles/{h}/links/link-four", json={"destinationUrl": "https://x.example/"})
        error_of(refused, 429, "rate_limited", reason="daily_quota", plan="PRO", limits={"writesPerDay": 3})
        meters = api.get("/v2/handles/{h}/usage-meters").json()
        assert (meters["plan"], meters["writesPerDay"], meters["writesToday"]) == ("PRO", 3, 3)
    finally:
        api.close()


def test_a_handle_moved_to_another_plan_keeps_that_plans_quota(custom):
    custom.reset()
    api = Api(custom)
    try:
        custom.set_plan("gharart", "FREE")
        assert api.get("/v2/handles/{h}/usage-meters").json()["writesPerDay"] == 2
        custom.set_plan("gharart", "ENTERPRISE")
        assert api.get("/v2/handles/{h}/usage-meters").json()["writesPerDay"] == 500
    finally:
        api.close()


@pytest.mark.parametrize("value", ["0", "-5", "lots"])
def test_a_bad_writes_per_day_is_one_line_exit_2(value):
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "sandbox", "--writes-per-day", value],
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"invalid writes per day '{value}'" in lines[0] and "1 or more" in lines[0]
