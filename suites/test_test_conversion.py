"""UC-07 step 4: issue a controlled test conversion for each campaign variant."""

import pytest

from preflight.lifecycle.steps import controlled_conversion

pytestmark = pytest.mark.preflight_step("test_conversion")


def test_variant_test_conversion(step_run, platform_variant, fresh_ctx):
    """A controlled test conversion from a fresh click is credited to its variant."""
    controlled_conversion.record(step_run, platform_variant, fresh_ctx(platform_variant))


@pytest.mark.preflight_needs("test_variant_test_conversion")
def test_conversion_signal_passes(step_run):
    """With a test conversion per variant, the conversion signal passes."""
    controlled_conversion.check_signal(step_run)


def test_foreign_ctx_refused(step_run, foreign_ctx):
    """A ctx from another campaign's click is refused (invalid_ctx)."""
    controlled_conversion.foreign_ctx_refused(step_run, foreign_ctx)
