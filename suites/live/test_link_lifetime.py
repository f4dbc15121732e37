"""The audit, A2: each live link answers through the flight (campaigns[].flight; without one, now)."""

import pytest

from preflight.audit import lifetime

pytestmark = pytest.mark.preflight_step("link_lifetime")


def test_link_lives_through_the_flight(live_run, audit_variant):
    """The live link answers from the flight's start to its end, for the clicks expected.

    No scheduledStartAt after the start (404 at launch), no scheduledEndAt or expiresAt before
    the end (410 mid-spend), no maxClicks below expected_clicks, no password page."""
    lifetime.link_lives_through_the_flight(live_run, audit_variant)
