"""The audit, A1: the live campaign is the configured one: ACTIVE, its goal, each variant bound,
enabled, with its destination and tags, and no unplanned variant."""

import pytest

from preflight.audit import live_config

pytestmark = pytest.mark.preflight_step("live_config")


def test_campaign_is_active_as_configured(live_run):
    """The live campaign exists, is ACTIVE and has the configured goal."""
    body = live_config.campaign_active(live_run)
    live_run.artifacts.put("status", body.get("status"))


def test_variant_is_bound_as_configured(live_run, audit_variant):
    """The variant's live link is bound, enabled, with the configured destination and tags."""
    live_config.variant_bound(live_run, audit_variant)


def test_no_unplanned_variant(live_run):
    """No enabled link the config does not plan is bound to the campaign."""
    live_config.no_unplanned_variant(live_run)
