"""Throwaway campaigns: create one ACTIVE with its variant links, retire it afterwards."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from preflight.config import CampaignConfig
from preflight.core.categories import Category
from preflight.http.client import PlatformClient, idempotency_key
from preflight.http.exchange import Exchange
from preflight.http.listing import pages
from preflight.lifecycle.checks import expect_equal, expect_json_object, expect_status, fail
from preflight.lifecycle.journal import LIVE, RETIRED, Journal
from preflight.lifecycle.model import PlatformCampaign, PlatformVariant, campaign_id_for, live_slug

SETUP_STEP = "setup"
TEARDOWN_STEP = "teardown"
PREFLIGHT_TAG = "preflight"


def plan_campaign(
    config: CampaignConfig, *, run_id: str, handle: str, landing: Callable[[str], str] | None = None
) -> PlatformCampaign:
    """The campaign this run will create for one configured campaign (no request yet).

    `landing` maps a configured destination to where this run's link points (the target's
    `landing_url`: on a sandbox target, the sandbox's copy of the customer's page)."""
    variants = [
        PlatformVariant(
            name=v.slug,
            slug=live_slug(run_id, v.slug),
            destination_url=landing(v.destinationUrl) if landing else v.destinationUrl,
            title=v.title,
            tracking=config.variant_tracking(v),
            primary=index == 0,
        )
        for index, v in enumerate(config.variants)
    ]
    return PlatformCampaign(
        stem=config.stem,
        campaign_id=campaign_id_for(run_id, config.stem),
        handle=handle,
        goal_type=config.goalType,
        variants=variants,
        config=config,
    )


def create(
    client: PlatformClient,
    live: PlatformCampaign,
    *,
    run_id: str,
    journal: Journal,
    session: str = "",
    known: Mapping[str, str] | None = None,
    exists: bool = False,
    primary_only: bool = False,
) -> list[Exchange]:
    """Create the campaign ACTIVE with its primary link, then bind each further variant.

    A rerun of the same run id finds the campaign already there (a replay, or a 409 when
    the platform keeps keys per credential) and adopts it. `known` is what the journal
    knows of its links (slug -> state; None: the journal never saw the campaign). Adopted,
    a link is enabled again only when it may not be live: the primary when an earlier
    session retired it (the create enabled it otherwise), another when it is not known
    live, every link when the journal knows nothing. `exists`: the journal saw the campaign
    created, so a read adopts it and no create is spent. `session` tells the link writes of one
    pytest session from another's: a PUT is idempotent by nature, retries inside a session
    replay. `primary_only`: the campaign and its primary link only (for a campaign another
    one borrows a click from).
    """
    primary = live.variants[0]
    if exists:  # adopt it with a read, spending no write
        listed = _find(client, live)
        if listed is not None:
            journal.campaign(live.campaign_id, live.handle, created=False)
            return [
                listed,
                *_enable(
                    client,
                    live,
                    run_id=run_id,
                    journal=journal,
                    session=session,
                    known=known,
                    adopted=True,
                    primary_only=primary_only,
                ),
            ]
    body = {
        "campaignId": live.campaign_id,
        "goalType": live.goal_type,
        "status": "ACTIVE",
        "name": f"[preflight {run_id}] {live.config.name or live.stem}",
        "primaryLink": _link_body(primary, with_campaign=False),
        "leadVerification": {"mode": live.config.leadVerification},
    }
    key = idempotency_key(run_id, SETUP_STEP, live.campaign_id, "", "create")
    journal.enabling(live.campaign_id, live.handle, primary.slug, link_body(live, primary))
    ex = client.call("create_campaign", step=SETUP_STEP, key=key, json_body=body)
    exchanges = [ex]
    if ex.status == 409 and ex.error_code == "conflict":
        exchanges.append(_adopt(client, live, ex))
        adopted = True
    else:
        created = expect_status(ex, 201, doing=f"creating throwaway campaign {live.campaign_id}")
        created = expect_json_object(
            ex, created, doing="creating a campaign", fields=("campaignId", "status", "goalType", "links")
        )
        expect_equal(
            created["campaignId"],
            live.campaign_id,
            category=Category.CONTRACT_VIOLATION,
            what="the created campaign's campaignId",
            exchanges=[ex],
        )
        expect_equal(
            created["status"],
            "ACTIVE",
            category=Category.CONTRACT_VIOLATION,
            what="the created campaign's status",
            exchanges=[ex],
        )
        adopted = ex.response_headers.get("idempotent-replayed") == "true" and ex.attempts == 1
    journal.campaign(live.campaign_id, live.handle, created=not adopted)
    if not adopted:
        journal.link(live.campaign_id, live.handle, primary.slug, LIVE, request_id=ex.request_id)
    return exchanges + _enable(
        client,
        live,
        run_id=run_id,
        journal=journal,
        session=session,
        known=known,
        adopted=adopted,
        primary_only=primary_only,
    )


def _enable(
    client: PlatformClient,
    live: PlatformCampaign,
    *,
    run_id: str,
    journal: Journal,
    session: str,
    known: Mapping[str, str] | None,
    adopted: bool,
    primary_only: bool,
) -> list[Exchange]:
    primary = live.variants[0]
    return [
        put_link(client, live, variant, run_id=run_id, session=session, journal=journal)
        for variant in (live.variants[:1] if primary_only else live.variants)
        if needs_enabling(variant.slug, primary=variant is primary, adopted=adopted, known=known)
    ]


def needs_enabling(slug: str, *, primary: bool, adopted: bool, known: Mapping[str, str] | None) -> bool:
    """Whether setup must PUT this link enabled (the write plan uses the same rule)."""
    if not adopted:
        return not primary  # a fresh create enables its primary link itself
    if known is None:
        return True
    return known.get(slug) == RETIRED if primary else known.get(slug) != LIVE


def _find(client: PlatformClient, live: PlatformCampaign) -> Exchange | None:
    """The list page that holds this run's campaign, or None when the handle has no such campaign."""
    for ex, found in pages(client, "list_campaigns", step=SETUP_STEP):
        if found is None:  # not a list page: say what it is instead
            body = expect_status(ex, 200, doing="listing campaigns")
            found = expect_json_object(ex, body, doing="listing campaigns", fields={"items": list})["items"]
        for item in found:
            if (
                isinstance(item, dict)
                and item.get("campaignId") == live.campaign_id
                and item.get("goalType") == live.goal_type
            ):
                return ex
    return None


def _adopt(client: PlatformClient, live: PlatformCampaign, conflict: Exchange) -> Exchange:
    """The campaign id is taken: it must be this run's own campaign, found in the list."""
    found = _find(client, live)
    if found is not None:
        return found
    # The run's own names (pf-<runId>-<stem>) are taken by another campaign: a --run-id reused after the
    # config changed the campaign's goal, or someone else's campaign. The user's to fix, not the platform's.
    raise fail(
        Category.CONFIG,
        f"campaign id {live.campaign_id} is taken, but not by this run's {live.goal_type} campaign",
        expected=f"201, or this run's {live.goal_type} campaign in the list",
        actual=conflict.body_excerpt(200),
        exchanges=[conflict],
        next_step="run with a fresh --run-id (or none: a new one is made), or retire the campaign that holds this id",
    )


def put_link(
    client: PlatformClient,
    live: PlatformCampaign,
    variant: PlatformVariant,
    *,
    run_id: str,
    journal: Journal,
    session: str = "",
) -> Exchange:
    """Bind (enable) a variant link to its campaign; the journal knows before the request goes out."""
    body = link_body(live, variant)
    journal.enabling(live.campaign_id, live.handle, variant.slug, body)
    key = idempotency_key(run_id, SETUP_STEP, live.campaign_id, variant.slug, f"link@{session}")
    ex = client.call("put_link", step=SETUP_STEP, key=key, json_body=body, slug=variant.slug)
    link = expect_status(ex, (200, 201), doing=f"binding variant link {variant.slug}")
    link = expect_json_object(ex, link, doing="binding a link", fields=("slug", "destinationUrl"))
    journal.link(live.campaign_id, live.handle, variant.slug, LIVE, request_id=ex.request_id)
    if link.get("campaignId") != live.campaign_id:
        raise fail(
            Category.ATTRIBUTION,
            f"link {variant.slug} is bound to {link.get('campaignId')!s}, not to its "
            f"campaign {live.campaign_id}: its clicks would count for another campaign",
            expected=live.campaign_id,
            actual=link.get("campaignId"),
            exchanges=[ex],
            cause="a link PUT with its campaignId is bound to another campaign",
        )
    return ex


def retire_link(
    client: PlatformClient, *, run_id: str, campaign_id: str, slug: str, body: dict[str, Any], session: str
) -> Exchange:
    """`enabled: false` on a link (its clicks answer 404 and health stops counting it)."""
    key = idempotency_key(run_id, TEARDOWN_STEP, campaign_id, slug, f"retire@{session}")
    retired = {**body, "enabled": False, "campaignId": campaign_id}
    return client.call("put_link", step=TEARDOWN_STEP, key=key, json_body=retired, slug=slug)


def link_body(live: PlatformCampaign, variant: PlatformVariant) -> dict[str, Any]:
    """The PUT body that binds a variant to its campaign, enabled."""
    return {**_link_body(variant, with_campaign=True), "enabled": True, "campaignId": live.campaign_id}


def _link_body(variant: PlatformVariant, *, with_campaign: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": variant.slug,
        "destinationUrl": variant.destination_url,
        "enabled": True,
        "tracking": dict(variant.tracking),
    }
    if variant.title:
        body["title"] = variant.title
    if with_campaign:
        body.pop("slug")
        body["tags"] = [PREFLIGHT_TAG]
    return body
