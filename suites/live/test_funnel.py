"""The audit, A9: the platform's own funnel numbers (CC-06/07) of each live variant."""

import pytest

from preflight.audit import funnel

pytestmark = pytest.mark.preflight_step("funnel")


def test_variant_funnels(live_run):
    """Each variant's funnel, side by side; after the flight starts, conversions follow clicks.

    Clicks, qualified and bot clicks, conversions, revenue and freshness per variant (the summary's
    table, the report's chart). Qualified clicks and no conversion for signal_after_minutes
    after the flight started is no_conversion_signal."""
    funnel.variant_funnels(live_run)
