"""Throwaway campaigns: create one ACTIVE with its variant links, retire it afterwards."""

from __future__ import annotations

from typing import Any

from preflight.checks import expect_equal, expect_json_object, expect_status, fail
from preflight.client import PlatformClient, idempotency_key
from preflight.exchange import Exchange
from preflight.lifecycle import LiveCampaign, LiveVariant, campaign_id_for, live_slug

SETUP_STEP = "setup"
TEARDOWN_STEP = "teardown"
PREFLIGHT_TAG = "preflight"


def plan_campaign(config: Any, *, run_id: str, handle: str) -> LiveCampaign:
    """The campaign this run will create for one configured campaign (no request yet)."""
    variants = [
        LiveVariant(name=v.slug, slug=live_slug(run_id, v.slug), destination_url=v.destinationUrl,
                    title=v.title, tracking=config.variant_tracking(v), primary=index == 0)
        for index, v in enumerate(config.variants)
    ]
    return LiveCampaign(stem=config.stem, campaign_id=campaign_id_for(run_id, config.stem), handle=handle,
                        goal_type=config.goalType, variants=variants, config=config)


def planned_writes(live: LiveCampaign, *, publish_via: str) -> int:
    """Quota-counted writes one campaign costs a run (an upper bound)."""
    variants = len(live.variants)
    setup = 1 + (variants - 1)  # the campaign with its primary link, then each further link
    steps = variants + 1  # a test conversion per variant, and the foreign-ctx probe
    publish = 0 if publish_via == "pat" else 2  # the PAT twins spend no daily quota
    decoy = 2  # the foreign-ctx campaign, created and retired
    return setup + steps + publish + variants + decoy


def check_quota(client: PlatformClient, lives: list[LiveCampaign], *, publish_via: str) -> None:
    """Fail before any write when the day's quota cannot cover the whole run (UC-07: respect
    daily write limits before bulk operations), rather than half-way through or at teardown."""
    ex = client.call("usage_meters", step=SETUP_STEP)
    if ex.status == 404:  # a deployment without the meter: the writes themselves will tell
        return
    meters = expect_status(ex, 200, doing="reading the daily write quota")
    meters = expect_json_object(ex, meters, doing="reading usage meters",
                                fields={"writesPerDay": int, "writesToday": int})
    left = meters["writesPerDay"] - meters["writesToday"]
    need = sum(planned_writes(live, publish_via=publish_via) for live in lives)
    if left < need:
        stems = ", ".join(live.stem for live in lives)
        raise fail("quota", f"the daily write quota has {left} writes left; this run ({stems}) needs up to {need}",
                   expected=f">= {need} writes left today", exchanges=[ex],
                   actual=f"{meters['writesToday']} of {meters['writesPerDay']} used (plan {meters.get('plan')}), "
                          f"resets at {meters.get('resetsAt')}",
                   next_step="UC-07 Limits and Quotas: run after the quota resets, on a plan with more writes, "
                             "or with fewer campaigns or variants in config/preflight.yaml")


def create(client: PlatformClient, live: LiveCampaign, *, run_id: str, session: str = "") -> list[Exchange]:
    """Create the campaign ACTIVE with its primary link, then bind each further variant.

    A rerun of the same run id finds the campaign already there (a replay, or a 409 when
    the platform keeps keys per credential): it adopts it and re-enables every link, since
    the first run's teardown retired them. `session` tells the link writes of one pytest
    session from another's: a PUT is idempotent by nature, retries inside a session replay.
    """
    primary = live.variants[0]
    body = {
        "campaignId": live.campaign_id,
        "goalType": live.goal_type,
        "status": "ACTIVE",
        "name": f"[preflight {run_id}] {live.config.name or live.stem}",
        "primaryLink": _link_body(primary, with_campaign=False),
        "leadVerification": {"mode": live.config.leadVerification},
    }
    key = idempotency_key(run_id, SETUP_STEP, live.campaign_id, "", "create")
    ex = client.call("create_campaign", step=SETUP_STEP, key=key, json_body=body)
    exchanges = [ex]
    if ex.status == 409 and ex.error_code == "conflict":
        exchanges.append(_adopt(client, live, ex))
        adopted = True
    else:
        created = expect_status(ex, 201, doing=f"creating throwaway campaign {live.campaign_id}")
        created = expect_json_object(ex, created, doing="creating a campaign",
                                     fields=("campaignId", "status", "goalType", "links"))
        expect_equal(created["campaignId"], live.campaign_id, category="contract_violation",
                     what="the created campaign's campaignId", exchanges=[ex])
        expect_equal(created["status"], "ACTIVE", category="contract_violation",
                     what="the created campaign's status", exchanges=[ex])
        adopted = ex.response_headers.get("idempotent-replayed") == "true" and ex.attempts == 1
    for variant in live.variants if adopted else live.variants[1:]:
        exchanges.append(put_link(client, live, variant, run_id=run_id, enabled=True, session=session))
    return exchanges


def _adopt(client: PlatformClient, live: LiveCampaign, conflict: Exchange) -> Exchange:
    """The campaign id is taken: it must be this run's own campaign, found in the list."""
    params: dict[str, Any] = {"limit": 200}
    for _ in range(50):
        ex = client.call("list_campaigns", step=SETUP_STEP, params=params)
        page = expect_json_object(ex, expect_status(ex, 200, doing="listing campaigns"), doing="listing campaigns",
                                  fields=("items",))
        for item in page["items"]:
            if item.get("campaignId") == live.campaign_id and item.get("goalType") == live.goal_type:
                return ex
        if not page.get("nextCursor"):
            break
        params = {**params, "cursor": page["nextCursor"]}
    raise fail("contract_violation", f"campaign id {live.campaign_id} is taken, but not by this run's campaign",
               expected=f"201, or this run's {live.goal_type} campaign in the list", actual=conflict.body_excerpt(200),
               exchanges=[conflict], next_step="use a fresh --run-id")


def put_link(client: PlatformClient, live: LiveCampaign, variant: LiveVariant, *, run_id: str,
             enabled: bool, session: str = "") -> Exchange:
    step = SETUP_STEP if enabled else TEARDOWN_STEP
    body = {**_link_body(variant, with_campaign=True), "enabled": enabled, "campaignId": live.campaign_id}
    key = idempotency_key(run_id, step, live.campaign_id, variant.slug, f"link@{session}")
    ex = client.call("put_link", step=step, key=key, json_body=body, slug=variant.slug)
    verb = "binding" if enabled else "retiring"
    link = expect_status(ex, (200, 201), doing=f"{verb} variant link {variant.slug}")
    link = expect_json_object(ex, link, doing=f"{verb} a link", fields=("slug", "destinationUrl"))
    if enabled:
        expect_equal(link.get("campaignId"), live.campaign_id, category="contract_violation",
                     what=f"link {variant.slug}'s campaignId", exchanges=[ex])
    return ex


def retire(client: PlatformClient, live: LiveCampaign, *, run_id: str, session: str = "") -> dict[str, Any]:
    """Disable every variant link; returns what is left behind, for the record."""
    retired, failed = [], []
    for variant in live.variants:
        try:
            ex = put_link(client, live, variant, run_id=run_id, enabled=False, session=session)
            retired.append({"slug": variant.slug, "requestId": ex.request_id})
        except AssertionError as exc:
            failed.append({"slug": variant.slug, "error": str(exc).splitlines()[0]})
    return {
        "campaignId": live.campaign_id,
        "handle": live.handle,
        "campaignLeftActive": True,  # the contract has no campaign delete or status update
        "linksRetired": retired,
        "linksNotRetired": failed,
    }


def _link_body(variant: LiveVariant, *, with_campaign: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"slug": variant.slug, "destinationUrl": variant.destination_url,
                            "enabled": True, "tracking": dict(variant.tracking)}
    if variant.title:
        body["title"] = variant.title
    if with_campaign:
        body.pop("slug")
        body["tags"] = [PREFLIGHT_TAG]
    return body
