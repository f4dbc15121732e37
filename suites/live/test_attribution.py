"""The audit, A3: attribution can work: a ctx on every click, living through the conversion window."""

import pytest

from preflight.audit import attribution

pytestmark = pytest.mark.preflight_step("live_attribution")


def test_link_appends_ctx(live_run, audit_variant):
    """The live link appends a ctx to its clicks (trackingPolicy.appendContextParam)."""
    attribution.link_appends_ctx(live_run, audit_variant)


def test_ctx_outlives_the_conversion_window(live_run, audit_variant):
    """A real click's ctx lives through the conversion window (with --click)."""
    minutes = attribution.ctx_outlives_the_window(live_run, audit_variant)
    live_run.artifacts.put("ctxLifetimeMinutes", round(minutes, 1))
