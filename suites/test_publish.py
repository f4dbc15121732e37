"""UC-07 step 5: the campaign detail page is published with FREE_WITH_LOGIN and the
schema fetch succeeds."""

import pytest

from preflight.lifecycle.steps import publish

pytestmark = pytest.mark.preflight_step("publish")


def test_draft_saved_and_published(step_run):
    """The detail page saves and publishes as FREE_WITH_LOGIN."""
    publish.save_and_publish(step_run)


@pytest.mark.preflight_needs("test_draft_saved_and_published")
def test_schema_fetch_matches_publish(step_run):
    """The published schema fetch works and serves what was published."""
    publish.fetch_schema(step_run)
