"""UC-07 step 1: run campaign health (JWT) before spend ramp."""

import pytest

from preflight.lifecycle import clicks
from preflight.lifecycle.steps import health

pytestmark = pytest.mark.preflight_step("health")


def test_checks_present_and_traffic_tagged(step_run):
    """Health has its five checks and every variant link its UTM tags.

    The primary link is enabled and every variant link carries utmSource, utmMedium and
    utmCampaign."""
    verdict = health.check_wired(step_run)
    step_run.artifacts.put("health", {"status": verdict.status, "score": verdict.score})


def test_click_redirect_carries_traffic_tags(step_run, platform_variant, fresh_ctx):
    """A real click lands on the variant's page with its UTM tags and a ctx.

    The click answers 302, 307 or a bridge page; its ctx lives through the conversion window."""
    ctx = fresh_ctx(platform_variant)
    clicks.check_redirect_tags(step_run, ctx, platform_variant)
    clicks.check_ctx_lifetime(step_run, ctx, step_run.expectations.conversion_window_minutes)


@pytest.mark.preflight_step("readiness")
@pytest.mark.preflight_needs("test_variant_test_conversion", "test_draft_saved_and_published")
def test_ready_after_lifecycle(step_run):
    """Once every step has wired the campaign, health reaches the expected verdict."""
    verdict = health.check_ready(step_run)
    step_run.artifacts.put("health", {"status": verdict.status, "score": verdict.score})
