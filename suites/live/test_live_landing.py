"""The audit, A10: the shopper's journey on each live link, only with --click --browser."""

import pytest

from preflight.audit import live_landing

pytestmark = pytest.mark.preflight_step("live_landing")


def test_shopper_lands_on_the_live_page(live_run, audit_variant, request, landing_evidence, run_config):
    """A shopper's click on the live link lands on the variant's working page on every viewport.

    The ctx and tags are kept; screenshots are attached. Without --click --browser it is skipped,
    saying what that leaves out; no lead is sent from a live page."""
    live_landing.asked(live_run)
    shopper = request.getfixturevalue("shopper")  # the browser is launched only when asked for
    looks = request.getfixturevalue("approved_looks")
    live_landing.journey(live_run, audit_variant, shopper, landing_evidence, run_config.browser, looks)
