"""Campaign Control CC-06/07: the platform's own funnel numbers, read once the lifecycle is done."""

import pytest

from preflight.lifecycle.steps import analytics

pytestmark = pytest.mark.preflight_step("analytics")


@pytest.mark.preflight_needs("test_click_redirect_carries_traffic_tags", "test_variant_test_conversion")
def test_funnel_counts_the_run_and_keeps_tests_apart(step_run):
    """The funnel counts the run's clicks and test conversions per variant, never as real ones.

    Analytics grouped by slug show each variant's clicks as bot clicks and its test conversions in
    testConversions; conversions, revenue and qualified clicks stay 0. Lagging (STALE) numbers are
    waited for, then the check is skipped with the reason."""
    funnel = analytics.check_throwaway(step_run)
    step_run.artifacts.put("funnel", {slug: funnel.of(slug) for slug in step_run.campaign.slugs})
