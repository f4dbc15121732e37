"""UC-07 step 2: the PAT/public health route, as automation monitors it, agrees with JWT health."""

import pytest

from preflight.lifecycle.steps import pat_health

pytestmark = pytest.mark.preflight_step("pat_health")


def test_pat_health_agrees_with_jwt(step_run):
    """Automation (PAT) health agrees with the creator's (JWT) health."""
    jwt, pat = pat_health.check_agreement(step_run)
    step_run.artifacts.put("health", {"status": pat.status, "score": pat.score})


@pytest.mark.preflight_step("pat_readiness")
@pytest.mark.preflight_needs("test_variant_test_conversion", "test_draft_saved_and_published")
def test_pat_health_agrees_when_ready(step_run):
    """Once the campaign is wired, automation still sees the creator's verdict."""
    pat_health.check_agreement(step_run)
