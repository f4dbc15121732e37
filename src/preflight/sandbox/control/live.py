"""`POST /__sandbox/live-campaigns`: the campaigns an audit reads, set up as a marketer left them.

A sandbox target's audit needs live campaigns to read. This writes them straight into the
sandbox's state (not through the API: no request of the API's own is logged, no quota spent), each
one healthy: ACTIVE, its variant links enabled with their tags, its detail page published, and a
few hours of traffic (qualified and bot clicks, conversions with revenue), so health is PASS and
analytics has a funnel. A campaign that exists already is kept as it is: a test that planted a
finding through the API first is not overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from preflight.sandbox.campaigns import state as campaigns
from preflight.sandbox.campaigns.models import CAMPAIGN_ID_PATTERN, CampaignIn, GoalType
from preflight.sandbox.clicks import state as clicks
from preflight.sandbox.core.ids import new_id
from preflight.sandbox.core.web import StrictIn
from preflight.sandbox.links import state as links
from preflight.sandbox.links.models import LinkIn, PrimaryLinkIn, Tracking
from preflight.sandbox.sitestructure import state as pages
from preflight.sandbox.sitestructure.models import PAGE_SLUG, AccessMode, SiteStructureIn

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

PAGE_SCHEMA = {
    "sections": [
        {"type": "hero", "heading": "The offer"},
        {"type": "form", "formId": "lead", "fields": [{"name": "email", "type": "email", "required": True}]},
    ]
}
# The traffic each variant gets (index i of the campaign's variants: a little more each, so a
# chart tells them apart): qualified clicks, bot clicks and conversions, over the last hours.
QUALIFIED, BOTS, CONVERSIONS, VALUE = 40, 3, 4, 499.0


class LiveLinkIn(StrictIn):
    slug: str = Field(min_length=1, max_length=64)
    destinationUrl: str = Field(max_length=4096)
    title: str | None = Field(None, max_length=300)
    tracking: Tracking | None = None


class LivePageIn(StrictIn):
    detailsPageSlug: str = Field(pattern=PAGE_SLUG)
    accessMode: AccessMode = "FREE_WITH_LOGIN"


class LiveCampaignIn(StrictIn):
    campaignId: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    goalType: GoalType
    name: str | None = Field(None, max_length=200)
    status: Literal["DRAFT", "ACTIVE", "PAUSED"] = "ACTIVE"
    links: list[LiveLinkIn] = Field(min_length=1, max_length=50)
    detailPage: LivePageIn | None = None
    traffic: bool = True


class LiveIn(StrictIn):
    handle: str = Field(min_length=1, max_length=100)
    campaigns: list[LiveCampaignIn] = Field(max_length=1000)


class LiveOut(BaseModel):
    created: list[str]
    kept: list[str]


def seed(rt: Runtime, body: LiveIn, base_url: str) -> dict[str, Any]:
    created, kept = [], []
    for campaign in body.campaigns:
        if campaigns.get(rt, body.handle, campaign.campaignId) is not None:
            kept.append(campaign.campaignId)
            continue
        with rt.db.tx():
            _create(rt, body.handle, campaign, base_url)
        created.append(campaign.campaignId)
    return {"created": created, "kept": kept}


def _create(rt: Runtime, handle: str, campaign: LiveCampaignIn, base_url: str) -> None:
    first, *more = campaign.links
    primary = PrimaryLinkIn(
        slug=first.slug, destinationUrl=first.destinationUrl, title=first.title, enabled=True, tracking=first.tracking
    )
    campaigns.create(
        rt,
        handle,
        CampaignIn(
            campaignId=campaign.campaignId,
            goalType=campaign.goalType,
            status=campaign.status,
            name=campaign.name,
            primaryLink=primary,
        ),
    )
    for link in more:
        body = LinkIn(
            destinationUrl=link.destinationUrl,
            title=link.title,
            enabled=True,
            tracking=link.tracking,
            campaignId=campaign.campaignId,
        )
        links.put(rt, handle, link.slug, body)
    if campaign.detailPage is not None:
        page = SiteStructureIn(
            detailsPageSlug=campaign.detailPage.detailsPageSlug,
            accessMode=campaign.detailPage.accessMode,
            schema=PAGE_SCHEMA,
            schemaVersion=0,
        )
        pages.save_draft(rt, handle, campaign.campaignId, page)
        pages.publish(rt, handle, campaign.campaignId, base_url)  # the page's url: the sandbox's own
    # Live since yesterday: the traffic below falls inside the campaign's life.
    since = rt.clock.now() - 86400
    rt.db.run(
        "UPDATE campaigns SET created_at = ? WHERE handle = ? AND campaign_id = ?", (since, handle, campaign.campaignId)
    )
    rt.db.run(
        "UPDATE links SET created_at = ? WHERE handle = ? AND campaign_id = ?", (since, handle, campaign.campaignId)
    )
    if campaign.traffic and campaign.status == "ACTIVE":
        for index, link in enumerate(campaign.links):
            _traffic(rt, handle, campaign.campaignId, link.slug, index)


def _traffic(rt: Runtime, handle: str, campaign_id: str, slug: str, index: int) -> None:
    """Clicks and conversions of the last hours, as real visitors (and some bots) left them."""
    now = rt.clock.now()
    shopper = clicks.ClickVisit(
        country="IN", user_agent="Mozilla/5.0 (iPhone; Mobile)", referrer="https://m.facebook.com/"
    )
    crawler = clicks.ClickVisit(user_agent="Mozilla/5.0 (compatible; AdsBot-Google)")
    qualified = QUALIFIED + 10 * index
    made = [clicks.record(rt, handle, slug, campaign_id, now - 600 - 60 * n, shopper) for n in range(qualified)]
    for n in range(BOTS):
        clicks.record(rt, handle, slug, campaign_id, now - 900 - 60 * n, crawler)
    for click in made[: CONVERSIONS + index]:
        rt.db.run(
            "INSERT INTO conversions (conversion_id, handle, campaign_id, slug, click_id, event_type, value, "
            "currency, test, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'INR', 0, ?)",
            (new_id("cnv"), handle, campaign_id, slug, click.click_id, "purchase", VALUE, click.clicked_at + 120),
        )
