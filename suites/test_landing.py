"""UC-07's flow, "validate expected state in UI and API after each step": the shopper's journey.
Each variant's click followed in a real browser on every viewport (a phone and a desktop by
default), and the published detail page as a visitor without a session sees it."""

import pytest

from preflight.lifecycle.steps import detail_page, landing

pytestmark = pytest.mark.preflight_step("landing")


def test_shopper_lands_on_the_variant_page(
    step_run, platform_variant, shopper, landing_evidence, run_config, lead_identity, approved_looks
):
    """A shopper's click lands on the variant's working page, ctx and tags kept, on every viewport.

    Its first screen looks as approved (`preflight approve`)."""
    local, domain = lead_identity.email.split("@", 1)
    landing.journey(
        step_run,
        platform_variant,
        shopper,
        landing_evidence,
        run_config.browser,
        lead_email=f"{local}-{platform_variant.name}@{domain}",  # one lead per variant: no email dedupe between them
        lead_name=lead_identity.name,
        looks=approved_looks,
    )


@pytest.mark.preflight_needs("test_draft_saved_and_published")
def test_detail_page_asks_for_login(step_run, shopper, landing_evidence, run_config):
    """The published detail page shows its login gate to a visitor without a session."""
    detail_page.detail_page_gated(step_run, shopper, landing_evidence, run_config.browser)
