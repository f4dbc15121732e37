"""The audit, A6: the live links' traffic tags follow the configured policy (policy.utm)."""

import pytest

from preflight.audit import utm

pytestmark = pytest.mark.preflight_step("utm_policy")


def test_tags_follow_the_policy(live_run, audit_variant):
    """The live link's tags follow the UTM policy."""
    utm.tags_follow_policy(live_run, audit_variant)


def test_one_utm_campaign(live_run):
    """The campaign's variants share one utmCampaign (policy.utm.one_utm_campaign)."""
    utm.one_utm_campaign(live_run)
