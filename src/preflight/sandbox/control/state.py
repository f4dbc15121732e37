"""What the /__sandbox/ routes read and do: stats, the request log, forged clicks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preflight.sandbox.clicks import state as clicks
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import not_found, validation_error
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

STATS = {
    "campaigns": "campaigns",
    "links": "links",
    "clicks": "clicks",
    "leads": "leads",
    "testConversions": "test_conversions",
    "conversions": "conversions",
    "deployments": "deployments",
    "supportReports": "support_reports",
    "personalizationRules": "personalization_rules",
    "destinationDomains": "destination_domains",
}


def stats(rt: Runtime) -> dict[str, int]:
    """Counts straight from the database, so tests can prove nothing was created twice."""
    return {name: rt.db.scalar(f"SELECT COUNT(*) FROM {table}") for name, table in STATS.items()}


def request_log(rt: Runtime, limit: int) -> list[dict[str, Any]]:
    entries = list(rt.requests)[-limit:]
    return [
        {"method": m, "path": p, "status": s, "requestId": r, "at": rfc3339(t), "faults": list(hits)}
        for m, p, s, r, t, hits in entries
    ]


def forge_click(rt: Runtime, handle: str, slug: str, age_seconds: float) -> dict[str, Any]:
    """A correctly signed ctx for a click that happened age_seconds ago."""
    link = links.get(rt, handle, slug)
    if link is None:
        raise not_found(f"link {slug}")
    if link["campaign_id"] is None:
        raise validation_error("slug", f"link {slug} is not bound to a campaign")
    click = clicks.record(rt, handle, slug, link["campaign_id"], rt.clock.now() - age_seconds)
    return {
        "ctx": ctx_tokens.mint(rt.ctx_key, click),
        "clickId": click.click_id,
        "campaignId": click.campaign_id,
        "expiresAt": rfc3339(ctx_tokens.expires_at(rt, click)),
    }


def info(rt: Runtime) -> dict[str, Any]:
    return {
        "now": rfc3339(rt.clock.now()),
        "ctxTtlSeconds": rt.settings.ctx_ttl,
        "analyticsLagSeconds": rt.settings.analytics_lag_seconds,
        "defaultPlan": rt.settings.plan,
        "throttles": dict(rt.settings.throttles),
        "throttleWindows": dict(rt.settings.throttle_windows),
    }
