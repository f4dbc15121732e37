"""The live campaign as the audit's checks see it: a `StepRun` whose campaign carries the live
ids (`live:` in the config, else the configured ones), the process's shared reads, and the
audit's options."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from preflight.audit.reads import LiveReads, Read
from preflight.config import CampaignConfig
from preflight.config.live import Policy
from preflight.core.readings import Unreadable, read_bool
from preflight.http.exchange import Exchange
from preflight.lifecycle.failures import Unjudged
from preflight.lifecycle.model import PlatformCampaign, PlatformVariant, StepRun


def plan_live(config: CampaignConfig, *, handle: str, landing: Callable[[str], str] | None = None) -> PlatformCampaign:
    """The campaign the ads point at: its live campaignId and slugs, the configured rest.
    `landing`: where a configured destination lands on this target (a sandbox's copy of the page)."""
    variants = [
        PlatformVariant(
            name=v.slug,
            slug=config.live_slug(v.slug),
            destination_url=landing(v.destinationUrl) if landing else v.destinationUrl,
            title=v.title,
            tracking=config.variant_tracking(v),
            primary=index == 0,
        )
        for index, v in enumerate(config.variants)
    ]
    return PlatformCampaign(
        stem=config.stem,
        campaign_id=config.live_campaign_id,
        handle=handle,
        goal_type=config.goalType,
        variants=variants,
        config=config,
    )


def seed_body(config: CampaignConfig, landing: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The live campaign as a sandbox target sets it up (`POST /__sandbox/live-campaigns`), healthy:
    its links lead to the sandbox's copy of each page (`landing`), as the audit expects them to."""
    return {
        "campaignId": config.live_campaign_id,
        "goalType": str(config.goalType),
        "name": config.name,
        "links": [
            {
                "slug": config.live_slug(v.slug),
                "destinationUrl": landing(v.destinationUrl) if landing else v.destinationUrl,
                "title": v.title,
                "tracking": config.variant_tracking(v),
            }
            for v in config.variants
        ],
        "detailPage": {
            "detailsPageSlug": config.detail_page.details_page_slug,
            "accessMode": str(config.detail_page.access_mode),
        },
    }


@dataclass
class LiveRun(StepRun):
    """A `StepRun` of the live campaign, with what the audit adds."""

    reads: LiveReads | None = None
    click: bool = False  # --click: one real click per variant
    browser: bool = False  # --click --browser: each live link in a real browser too
    previews: bool = False  # writes are allowed: route-preview confirms each routing evaluation
    policy: Policy | None = None

    def live_campaign(self) -> dict[str, Any]:
        """The campaign's GET, or a skip when it does not exist (live_config reports that)."""
        read = self.reads.campaign(self.campaign.campaign_id, step=self.step)
        if read.body is None:
            raise Unjudged(
                f"the live campaign {self.campaign.campaign_id} does not exist (test_campaign_is_active_as_configured "
                "reports it)"
            )
        return read.body

    def live_link(self, variant: PlatformVariant) -> tuple[dict[str, Any], Read]:
        """A variant's live link, or a skip when it does not exist (live_config reports that)."""
        read = self.reads.link(variant.slug, step=self.step)
        if read.body is None:
            raise Unjudged(
                f"the live link {variant.slug} does not exist (test_variant_is_bound_as_configured reports it)"
            )
        return read.body, read

    def tags_of(self, link: dict[str, Any]) -> dict[str, str]:
        tracking = link.get("tracking") if isinstance(link.get("tracking"), dict) else {}
        return {k: v for k, v in tracking.items() if isinstance(v, str) and v}


# -- reading the answers: a value that cannot be read is never "not set" --------------------------


def request_ids(exchanges: Iterable[Exchange]) -> str:
    ids = [ex.request_id for ex in exchanges if ex.request_id]
    return "request id(s) " + ", ".join(ids) if ids else "no request id"


@contextmanager
def citing(exchanges: Iterable[Exchange]) -> Iterator[None]:
    """An Unjudged raised inside (by a pure rule, which sees answers and no requests) names the
    requests whose answers it could not read."""
    try:
        yield
    except Unjudged as exc:
        raise Unjudged(f"{exc.reason} ({request_ids(exchanges)})", fix=exc.fix) from None


def known(reading: Any, *, what: str, exchanges: Iterable[Exchange], fix: str) -> Any:
    """`reading` (a core.readings answer) unless it is Unreadable: then the check cannot judge, and
    says which field of which answer it could not read (`what`: "the live link spring-a's maxClicks")."""
    if isinstance(reading, Unreadable):
        raise Unjudged(f"{reading.describe(what)}: it cannot be judged ({request_ids(exchanges)})", fix=fix)
    return reading


def appends_ctx(link: dict[str, Any]) -> bool | Unreadable:
    """Whether the link appends its ctx: trackingPolicy.appendContextParam, true when absent (the
    platform's default), "false" read as false; Unreadable when the policy cannot be read."""
    policy = link.get("trackingPolicy")
    if policy is None:
        return True
    if not isinstance(policy, dict):
        return Unreadable(policy, "an object")
    appends = read_bool(policy.get("appendContextParam"))
    return True if appends is None else appends


def dashboard_fix(slug: str, field: str) -> str:
    """What makes a link's unreadable field judgeable."""
    return (
        f"open link {slug} in the dashboard and check its {field}; if the API answers it in a shape the contract "
        "does not describe, report that to 10xDotIn with the request id, then re-run the audit"
    )
