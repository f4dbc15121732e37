"""A9 · The platform's own funnel numbers (Campaign Control CC-06/07) on the live campaign: each
variant's clicks, qualified and bot clicks, conversions, revenue and freshness, side by side (a
table in the summary, a chart in the report). Once the flight has run `signal_after_minutes`,
qualified clicks and no conversion in that time is `no_conversion_signal`."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from preflight.audit.lifetime import FLIGHT_FIX
from preflight.audit.live import LiveRun
from preflight.core.categories import Category
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged
from preflight.lifecycle.steps import analytics

FRESH = analytics.FRESH


def variant_funnels(run: LiveRun) -> dict[str, Any]:
    run.live_campaign()
    campaign_id = run.campaign.campaign_id
    wait = run.expectations.analytics_wait_seconds
    funnel = analytics.read_fresh(lambda: _read(run, campaign_id), wait)
    _names_the_variants(run, funnel)
    table = {
        "campaignId": campaign_id,
        "freshness": funnel.freshness,
        "variants": {v.slug: funnel.of(v.slug) for v in run.campaign.variants},
    }
    run.artifacts.put("liveFunnel", table)  # the summary's table and the report's chart
    if funnel.status != FRESH:
        raise Unjudged(
            analytics.lag_reason(funnel, wait)
            + f"; the table shows the numbers as they are (request id {funnel.exchange.request_id or 'none'})",
            fix=analytics.WAIT_FIX,
        )
    _signal(run, table)
    return table


def _read(run: LiveRun, campaign_id: str) -> analytics.Funnel:
    found = analytics.read(run.client, campaign_id, step=run.step)
    run.reads.saw(found.exchange)
    return found


def _names_the_variants(run: LiveRun, funnel: analytics.Funnel) -> None:
    """Numbers by slug that name none of the variants are about something else (keyed by link id,
    say): read as the variants' they would be zeros. No item at all is zero traffic, and is read so."""
    slugs = {v.slug for v in run.campaign.variants}
    if funnel.items and not slugs & set(funnel.items):
        raise Unjudged(
            f"the analytics of {run.campaign.campaign_id} by slug name none of its variants "
            f"({', '.join(sorted(slugs))}): their keys are {', '.join(sorted(funnel.items)[:5])} "
            f"(request id {funnel.exchange.request_id or 'none'}): the variants' numbers cannot be read",
            fix="check the campaign's analytics in the dashboard; if groupBy=slug answers keys other than the slugs, "
            "report it to 10xDotIn with the request id, then re-run the audit",
        )


def _signal(run: LiveRun, table: dict[str, Any]) -> None:
    flight = run.campaign.config.flight
    quiet = timedelta(minutes=run.expectations.signal_after_minutes)
    now = run.reads.now()
    if flight is None:
        raise Unjudged(
            f"no flight for campaign {run.campaign.stem}: whether conversions follow the flight's qualified clicks "
            "(no_conversion_signal) cannot be judged without knowing when it started",
            fix=FLIGHT_FIX,
        )
    if now < flight.start + quiet:
        return  # the flight has not run signal_after_minutes yet: no conversion is expected, nothing to find
    since = max(flight.start, now - quiet)
    campaign_id = run.campaign.campaign_id
    recent = analytics.read(
        run.client, campaign_id, step=run.step, since=since.astimezone(UTC).isoformat().replace("+00:00", "Z")
    )
    if recent.status != FRESH:
        raise Unjudged(
            analytics.lag_reason(recent, 0) + ": the conversion signal is not judged on lagging numbers "
            f"(request id {recent.exchange.request_id or 'none'})",
            fix=analytics.WAIT_FIX,
        )
    _names_the_variants(run, recent)
    quiet_ones = {
        v.slug: recent.of(v.slug)
        for v in run.campaign.variants
        if recent.of(v.slug)["qualifiedClicks"] > 0 and recent.of(v.slug)["conversions"] == 0
    }
    if quiet_ones:
        minutes = run.expectations.signal_after_minutes
        raise fail(
            Category.NO_CONVERSION_SIGNAL,
            f"{len(quiet_ones)} variant(s) of {campaign_id} got qualified clicks and no conversion in the last "
            f"{minutes} min of the flight: "
            + "; ".join(f"{slug} {c['qualifiedClicks']:.0f} qualified clicks" for slug, c in quiet_ones.items()),
            expected=f"a conversion within {minutes} min (expectations.signal_after_minutes) of qualified clicks",
            actual=quiet_ones,
            exchanges=[recent.exchange],
            cause="qualified clicks and no conversion after the flight started",
            next_step="check the site sends its conversions (POST /v2/public/conversions with the click's ctx) "
            "and the conversion page works; nothing is escalated",
        )
