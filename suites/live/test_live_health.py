"""The audit, A7: health, read-only, as UC-07 steps 1 and 2 read it."""

import pytest

from preflight.audit import live_health

pytestmark = pytest.mark.preflight_step("live_health")


def test_jwt_health_has_no_fail(live_run):
    """Campaign health (JWT) has no FAIL check.

    Before the flight a PENDING click_seen or a WARN conversion_signal is expected."""
    live_health.jwt_health_has_no_fail(live_run)


def test_pat_health_agrees(live_run):
    """The PAT/public health route agrees with JWT health."""
    live_health.pat_health_agrees(live_run)
