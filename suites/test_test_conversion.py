"""UC-07 step 4: issue a controlled test conversion for each campaign variant."""

import pytest

from preflight.steps import test_conversion

pytestmark = pytest.mark.preflight_step("test_conversion")


def test_variant_test_conversion(step_run, live_variant, fresh_ctx):
    """A fresh ctx from a click on this variant gives a 201 attributed to its slug."""
    test_conversion.record(step_run, live_variant, fresh_ctx(live_variant))


@pytest.mark.preflight_needs("test_variant_test_conversion")
def test_conversion_signal_passes(step_run):
    """With a test conversion for every variant, the conversion_signal check PASSes."""
    test_conversion.check_signal(step_run)


def test_foreign_ctx_refused(step_run, foreign_ctx):
    """A ctx from another campaign's click is refused as invalid_ctx wrong_campaign."""
    test_conversion.foreign_ctx_refused(step_run, foreign_ctx)
