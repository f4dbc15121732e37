"""UC-07 step 3 (LEAD_CAPTURE funnels): submit one public lead and verify the creator's
review and export routes show it; invalid payloads are refused."""

import pytest

from preflight.lifecycle.steps import lead_capture

pytestmark = [pytest.mark.preflight_step("lead_capture"), pytest.mark.preflight_goal("LEAD_CAPTURE")]


def test_one_lead_captured_and_reviewed(step_run, fresh_ctx, lead_identity):
    """One real lead is captured for its variant and shows in the review list and the export.

    A campaign whose leads verify their email first (EMAIL_OTP, EMAIL_REPLY_YES) gets its lead
    PENDING_VERIFICATION, and it must not be listed for review until verified."""
    ctx = fresh_ctx()
    lead = lead_capture.capture_one(step_run, ctx, email=lead_identity.email, name=lead_identity.name)
    if lead.status == "CAPTURED":
        lead_capture.find_in_review(step_run, lead)
    else:
        lead_capture.pending_not_listed(step_run, lead)


def test_invalid_email_refused(step_run, fresh_ctx):
    """A lead with an invalid email is refused."""
    lead_capture.invalid_email_refused(step_run, fresh_ctx(), email="not-an-email@")


def test_tampered_ctx_refused(step_run, fresh_ctx, fake, run_config, run_id):
    """A lead with a tampered ctx is refused."""
    email = f"tampered+pf-{run_id}@{run_config.fake_data.email_domain}"
    lead_capture.tampered_ctx_refused(step_run, fresh_ctx(), email=email, name=fake.name())
