"""The audit, A4: each configured audience is routed to the variant's destination."""

import pytest

from preflight.audit import routing

pytestmark = pytest.mark.preflight_step("routing")


def test_audiences_reach_the_variant(live_run, audit_variant):
    """Each configured audience lands on the variant's destination.

    The link's routing rules, then the handle's personalization rules, in the documented order;
    with --allow-writes, route-preview confirms each evaluation."""
    routing.audiences_reach_the_variant(live_run, audit_variant)
