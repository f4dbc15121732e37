"""A8 · One real click, only when asked (`--click`): each live short link followed once as a
declared bot (the harness's User-Agent holds `campaign-preflight`: a bot click, never a qualified
one). The click answers 302, 307 or a bridge page, lands where routing sends such a visitor
(the variant's destination, unless a rule says otherwise) with its tags and a ctx that resolves to
this variant. The ctx-lifetime check (A3) uses the same click."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from preflight.audit import routing
from preflight.audit.live import LiveRun, appends_ctx, citing, dashboard_fix, known
from preflight.lifecycle import clicks
from preflight.lifecycle.failures import NotChecked
from preflight.lifecycle.model import PlatformVariant

NOT_ASKED = (
    "no real click without --click: left out are the click's answer (302, 307 or a bridge page), where it lands "
    "(ctx and tags), and the ctx's lifetime against the conversion window; run `preflight audit --click` (one bot "
    "click per variant, never a qualified one) to check them"
)
WOULD_CATCH = "a live link whose click lands elsewhere, drops its ctx or tags, or whose ctx dies before a conversion"
# The visitor a bot click is, as routing sees it: no country header, not a phone (gap).
BOT_DEVICE = "DESKTOP"


@dataclass
class Clicked:
    landing: clicks.Landing
    ctx: clicks.Ctx | None  # None when the link appends no ctx (appendContextParam: false)
    expected: routing.RouteTaken


def follow(run: LiveRun, variant: PlatformVariant) -> Clicked:
    """The variant's one real click (made on first use, then shared)."""
    if not run.click:
        raise NotChecked(NOT_ASKED, would_catch=WOULD_CATCH)
    return run.reads.click(variant.slug, lambda: _click(run, variant))


def _click(run: LiveRun, variant: PlatformVariant) -> Clicked:
    link, read = run.live_link(variant)
    rules = run.reads.personalization_rules(step=run.step)
    tags = run.tags_of(link)
    visitor = routing.Visitor(device=BOT_DEVICE, source=tags.get("utmSource"), campaign=tags.get("utmCampaign"))
    # Where the click should land and whether it carries a ctx, known before clicking: a click whose
    # answer cannot be judged is not made.
    with citing(read.exchanges + rules.exchanges):
        expected = routing.route(link, rules.body, visitor)
    appends = known(
        appends_ctx(link),
        what=f"the live link {variant.slug}'s trackingPolicy",
        exchanges=read.exchanges,
        fix=dashboard_fix(variant.slug, "tracking policy"),
    )
    ex = clicks.click(run.client, run.target.click_url_for(variant.slug), step=run.step)
    run.reads.saw(ex)
    landed = clicks.landing(ex, variant.slug, own_link=False)
    run.artifacts.put("click", {"how": landed.how, "landing": landed.url})
    # Where such a visitor should land, with the tags the live link carries (a tag the config sets
    # and the link lacks is live_config's finding, not the click's).
    clicks.check_landing(run, landed, replace(variant, destination_url=expected.destination_url, tracking=tags))
    ctx = clicks.resolved_ctx(run, variant, landed, run.campaign.campaign_id) if appends else None
    return Clicked(landed, ctx, expected)


def one_real_click(run: LiveRun, variant: PlatformVariant) -> dict[str, Any]:
    clicked = follow(run, variant)
    return {"how": clicked.landing.how, "landing": clicked.landing.url, "ctx": bool(clicked.ctx)}
