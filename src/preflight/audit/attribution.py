"""A3 · Attribution can work: the live link appends its ctx (`trackingPolicy.appendContextParam`),
and a real click's ctx lives through `expectations.conversion_window_minutes` (with --click)."""

from __future__ import annotations

from preflight.audit import live_click
from preflight.audit.live import LiveRun, appends_ctx, dashboard_fix, known
from preflight.core.categories import Category
from preflight.lifecycle import clicks
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged
from preflight.lifecycle.model import PlatformVariant


def link_appends_ctx(run: LiveRun, variant: PlatformVariant) -> None:
    link, read = run.live_link(variant)
    appends = known(
        appends_ctx(link),
        what=f"the live link {variant.slug}'s trackingPolicy",
        exchanges=read.exchanges,
        fix=dashboard_fix(variant.slug, "tracking policy (append the context parameter)"),
    )
    if not appends:
        raise fail(
            Category.ATTRIBUTION,
            f"the live link {variant.slug} appends no ctx (trackingPolicy.appendContextParam: false): no lead or "
            "conversion after its clicks can be attributed",
            expected="trackingPolicy.appendContextParam true (or absent)",
            actual=link.get("trackingPolicy"),
            exchanges=read.exchanges,
            cause="a live link's tracking policy appends no ctx",
            party="marketer",
            next_step=f"in the dashboard, set link {variant.slug}'s tracking policy to append the context parameter "
            "(appendContextParam: true), then re-run the audit",
        )


def ctx_outlives_the_window(run: LiveRun, variant: PlatformVariant) -> float:
    clicked = live_click.follow(run, variant)
    if clicked.ctx is None:
        raise Unjudged(f"the live link {variant.slug} appends no ctx (test_link_appends_ctx reports it)")
    return clicks.check_ctx_lifetime(run, clicked.ctx, run.expectations.conversion_window_minutes)
