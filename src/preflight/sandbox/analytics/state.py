"""The funnel of one campaign, as analytics shows it.

clicks = every tracked click; qualifiedClicks = those whose User-Agent is not a bot's; botClicks =
the rest; conversions and revenue = public conversions sent without `test: true`; testConversions =
test-conversion calls and public conversions with `test: true`, which never count as conversions or
revenue. Numbers may lag: with the sandbox's `--analytics-lag-seconds N`, only events older than N
seconds are counted and freshness is STALE; without it, FRESH at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

SLA_MINUTES = 60
ZERO = {"clicks": 0, "qualifiedClicks": 0, "botClicks": 0, "conversions": 0, "revenue": 0.0, "testConversions": 0}


def freshness(rt: Runtime) -> tuple[float, dict[str, Any]]:
    """(the time up to which numbers are counted, the freshness block)."""
    now = rt.clock.now()
    lag = rt.settings.analytics_lag_seconds
    cutoff = now - lag
    return cutoff, {
        "status": "STALE" if lag > 0 else "FRESH",
        "lastUpdatedAt": rfc3339(cutoff),
        "slaMinutes": SLA_MINUTES,
    }


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def events(rt: Runtime, handle: str, campaign_id: str, start: float, end: float) -> list[dict[str, Any]]:
    """Every click, conversion and test conversion of the campaign between start and end, with the
    traits analytics groups by (a conversion takes its click's country, device and referrer)."""
    args = (handle, campaign_id, start, end)
    out: list[dict[str, Any]] = []
    for row in rt.db.all(
        "SELECT slug, clicked_at, bot, country, device, referrer FROM clicks "
        "WHERE handle = ? AND campaign_id = ? AND clicked_at BETWEEN ? AND ?",
        args,
    ):
        out.append(
            {"kind": "click", "slug": row["slug"], "at": row["clicked_at"], "bot": bool(row["bot"]), **_traits(row)}
        )
    for row in rt.db.all(
        "SELECT v.slug, v.created_at, v.value, v.test, c.country, c.device, c.referrer FROM conversions v "
        "LEFT JOIN clicks c ON c.click_id = v.click_id "
        "WHERE v.handle = ? AND v.campaign_id = ? AND v.created_at BETWEEN ? AND ?",
        args,
    ):
        kind = "test" if row["test"] else "conversion"
        out.append({"kind": kind, "slug": row["slug"], "at": row["created_at"], "value": row["value"], **_traits(row)})
    for row in rt.db.all(
        "SELECT t.slug, t.recorded_at, t.value, c.country, c.device, c.referrer FROM test_conversions t "
        "LEFT JOIN clicks c ON c.click_id = t.click_id "
        "WHERE t.handle = ? AND t.campaign_id = ? AND t.recorded_at BETWEEN ? AND ?",
        args,
    ):
        out.append(
            {"kind": "test", "slug": row["slug"], "at": row["recorded_at"], "value": row["value"], **_traits(row)}
        )
    return out


def _traits(row: Any) -> dict[str, Any]:
    return {"country": row["country"], "device": row["device"], "referrer": row["referrer"]}


def tally(rt: Runtime, campaign_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    counts = dict(ZERO)
    residue = rt.faults.active and rt.faults.hit(FaultName.TEST_CONVERSIONS_COUNTED, campaign_id)
    bots_qualified = rt.faults.active and rt.faults.hit(FaultName.BOTS_COUNTED_QUALIFIED, campaign_id)
    for event in items:
        if event["kind"] == "click":
            counts["clicks"] += 1
            if event["bot"] and not bots_qualified:
                counts["botClicks"] += 1
            else:
                counts["qualifiedClicks"] += 1
        elif event["kind"] == "conversion" or residue:
            counts["conversions"] += 1
            counts["revenue"] += event["value"]
        if event["kind"] == "test":
            counts["testConversions"] += 1
    counts["revenue"] = round(counts["revenue"], 2)
    return counts


def funnel(rt: Runtime, campaign: Any, start: float | None, end: float | None, group_by: str | None) -> dict[str, Any]:
    cutoff, fresh = freshness(rt)
    start = campaign["created_at"] if start is None else start
    end = min(rt.clock.now() if end is None else end, cutoff)
    handle, campaign_id = campaign["handle"], campaign["campaign_id"]
    found = events(rt, handle, campaign_id, start, end)
    if group_by is None:
        return {
            "campaignId": campaign_id,
            "from": rfc3339(start),
            "to": rfc3339(end),
            "funnel": tally(rt, campaign_id, found),
            "freshness": fresh,
        }
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    if group_by == "slug":
        for link in links.for_campaign(rt, handle, campaign_id):  # every bound variant, even with no data
            groups[link["slug"]] = []
    for event in found:
        key = _day(event["at"]) if group_by == "day" else event[group_by]
        groups[key].append(event)
    items = [{"key": key, **tally(rt, campaign_id, group)} for key, group in groups.items()]
    return {"campaignId": campaign_id, "groupBy": group_by, "items": items, "freshness": fresh}
