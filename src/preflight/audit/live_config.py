"""A1 · Live = config: the campaign exists and is ACTIVE with its goal; each configured variant is
bound, enabled, with its destination and tags; no other enabled link is bound to it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from preflight.audit.live import LiveRun, dashboard_fix, request_ids
from preflight.core.categories import Category
from preflight.core.readings import Unreadable, read_bool
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged
from preflight.lifecycle.model import PlatformVariant

TAGS = ("utmSource", "utmMedium", "utmCampaign")


def campaign_active(run: LiveRun) -> dict[str, Any]:
    campaign_id, config = run.campaign.campaign_id, run.campaign.config
    read = run.reads.campaign(campaign_id, step=run.step)
    if read.body is None:
        raise fail(
            Category.LIVE_CONFIG,
            f"the live campaign {campaign_id} does not exist on handle {run.campaign.handle}",
            expected=f"GET …/campaigns/{campaign_id} → 200",
            actual="404 not_found",
            exchanges=read.exchanges,
            cause="a configured live campaign does not exist",
            next_step=f"create campaign {campaign_id} in the dashboard, or set campaigns[].live.campaignId to the id "
            "of the campaign the ads point at",
        )
    body = read.body
    problems = []
    if body.get("status") != "ACTIVE":
        problems.append(
            f"status {body.get('status')}: it must be ACTIVE before the flight (a DRAFT or PAUSED campaign "
            "tracks no click and mints no ctx)"
        )
    if body.get("goalType") != config.goalType:
        problems.append(f"goalType {body.get('goalType')}, the config says {config.goalType}")
    if problems:
        raise fail(
            Category.LIVE_CONFIG,
            f"the live campaign {campaign_id}: " + "; ".join(problems),
            expected={"status": "ACTIVE", "goalType": str(config.goalType)},
            actual={"status": body.get("status"), "goalType": body.get("goalType")},
            exchanges=read.exchanges,
            cause="the live campaign is not ACTIVE or has another goal",
            next_step=f"in the dashboard, set campaign {campaign_id} ACTIVE (and its goal {config.goalType}) before "
            "the flight, then re-run the audit",
        )
    return body


def variant_bound(run: LiveRun, variant: PlatformVariant) -> dict[str, Any]:
    campaign_id = run.campaign.campaign_id
    read = run.reads.link(variant.slug, step=run.step)
    if read.body is None:
        raise fail(
            Category.LIVE_CONFIG,
            f"the variant link {variant.slug} does not exist on handle {run.campaign.handle}",
            expected=f"GET …/links/{variant.slug} → 200",
            actual="404 not_found",
            exchanges=read.exchanges,
            cause="a configured variant link does not exist",
            next_step=f"create link {variant.slug} bound to {campaign_id} in the dashboard, or map the variant to its "
            f"live slug in campaigns[].live.slugs",
        )
    link = read.body
    problems, unknown = [], []
    bound = link.get("campaignId")
    if bound is None:
        unknown.append("campaignId is missing")
    elif bound != campaign_id:
        problems.append(f"it is bound to {bound}, not to {campaign_id}: its clicks count elsewhere")
    enabled = read_bool(link.get("enabled"))
    if enabled is False:
        problems.append("it is disabled: its clicks answer 404")
    elif enabled is None:
        unknown.append("enabled is missing")
    elif isinstance(enabled, Unreadable):
        unknown.append(enabled.describe("enabled"))
    if not same_page(str(link.get("destinationUrl") or ""), variant.destination_url):
        problems.append(
            f"its destinationUrl is {link.get('destinationUrl')}, the config says {variant.destination_url}"
        )
    live_tags = run.tags_of(link)
    for tag in TAGS:
        wanted, got = variant.tracking.get(tag), live_tags.get(tag)
        if wanted and got != wanted:
            problems.append(
                f"{tag} is {got!r}, the config says {wanted!r}" if got else f"{tag} is missing ({wanted!r})"
            )
    if problems:
        raise fail(
            Category.LIVE_CONFIG,
            f"the live link {variant.slug}: " + "; ".join(problems),
            expected={
                "campaignId": campaign_id,
                "enabled": True,
                "destinationUrl": variant.destination_url,
                "tracking": variant.tracking,
            },
            actual={k: link.get(k) for k in ("campaignId", "enabled", "destinationUrl", "tracking")},
            exchanges=read.exchanges,
            cause="a live variant link is not bound, enabled, or tagged as configured",
            next_step=f"in the dashboard, edit link {variant.slug}: " + "; ".join(problems) + "; then re-run the audit",
        )
    if unknown:
        raise Unjudged(
            f"whether the live link {variant.slug} is bound and enabled cannot be told: its answer says "
            + "; ".join(unknown)
            + f" ({request_ids(read.exchanges)})",
            fix=dashboard_fix(variant.slug, "campaign and enabled state"),
        )
    return link


def no_unplanned_variant(run: LiveRun) -> list[str]:
    campaign_id = run.campaign.campaign_id
    run.live_campaign()
    read = run.reads.links_of(campaign_id, step=run.step)
    planned = set(run.campaign.slugs)
    unplanned, unknown = _unplanned(read.body, campaign_id, planned)
    if unplanned:
        raise fail(
            Category.LIVE_CONFIG,
            f"campaign {campaign_id} has enabled link(s) the config does not plan: {', '.join(unplanned)}: an "
            "unplanned variant takes a share of the traffic and the budget",
            expected=f"only the configured variants enabled: {', '.join(sorted(planned))}",
            actual=f"also enabled: {', '.join(unplanned)}",
            exchanges=read.exchanges,
            cause="an unplanned variant is enabled on the live campaign",
            next_step=f"disable {', '.join(unplanned)} in the dashboard, or add it to the config's variants",
        )
    if unknown:
        raise Unjudged(
            f"campaign {campaign_id} has link(s) the config does not plan whose enabled state cannot be read: "
            + "; ".join(unknown)
            + ": whether they take a share of the traffic and the budget cannot be told "
            + f"({request_ids(read.exchanges)})",
            fix="open the campaign's links in the dashboard: disable the unplanned ones or add them to the config's "
            "variants; if the API leaves out or misstates `enabled`, report it to 10xDotIn with the request ids",
        )
    return sorted(planned)


def _unplanned(items: list[dict[str, Any]], campaign_id: str, planned: set[str]) -> tuple[list[str], list[str]]:
    """(the enabled links bound to the campaign that the config does not plan; those whose enabled
    state cannot be read, in words). The list was asked for this campaign's links: one that does not
    say its campaign is taken as bound to it."""
    enabled, unknown = [], []
    for item in items:
        slug = item.get("slug")
        if item.get("campaignId") not in (None, campaign_id) or slug in planned:
            continue
        state = read_bool(item.get("enabled"))
        if state is True:
            enabled.append(str(slug))
        elif state is None:
            unknown.append(f"{slug}: enabled is missing")
        elif isinstance(state, Unreadable):
            unknown.append(f"{slug}: {state.describe('enabled')}")
    return sorted(enabled), sorted(unknown)


def same_page(a: str, b: str) -> bool:
    """The same page: scheme, host (any case) and path equal, and the same query parameters."""
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, (x.hostname or "").lower(), x.port, x.path or "/") == (
        y.scheme,
        (y.hostname or "").lower(),
        y.port,
        y.path or "/",
    ) and parse_qs(x.query) == parse_qs(y.query)
