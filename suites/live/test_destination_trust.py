"""The audit, A5: no destination is on a domain that is listed and not VERIFIED."""

import pytest

from preflight.audit import trust

pytestmark = pytest.mark.preflight_step("destination_trust")


def test_destinations_are_trusted(live_run, audit_variant):
    """Every destination a visitor of the link may reach is VERIFIED or not listed."""
    trust.destinations_are_trusted(live_run, audit_variant)
