"""The audit, A8: one real click per variant, only with --click, as a declared bot."""

import pytest

from preflight.audit import live_click

pytestmark = pytest.mark.preflight_step("live_click")


def test_one_real_click(live_run, audit_variant):
    """A real click answers 302, 307 or a bridge page and lands with the link's tags and a ctx.

    Made once per variant with --click, as a declared bot (User-Agent campaign-preflight): a bot
    click, never a qualified one. Without --click it is skipped, saying what that leaves out."""
    live_run.artifacts.put("click", live_click.one_real_click(live_run, audit_variant))
