"""Campaign readiness: five checks that move toward PASS as the campaign is wired.

score = 100 - 40 per FAIL - 10 per WARN or PENDING, floored at 0; status = the worst check
(PASS < PENDING < WARN < FAIL). The JWT and PAT routes compute the same verdict.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

SEVERITY = {"PASS": 0, "PENDING": 1, "WARN": 2, "FAIL": 3}
PENALTY = {"PASS": 0, "PENDING": 10, "WARN": 10, "FAIL": 40}
TAGS = ("utmSource", "utmMedium", "utmCampaign")


def _check(check_id: str, status: str, detail: str) -> dict[str, str]:
    return {"id": check_id, "status": status, "detail": detail}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def primary_link(campaign: sqlite3.Row, bound: list[sqlite3.Row]) -> dict[str, str]:
    slug = campaign["primary_slug"]
    link = next((row for row in bound if row["slug"] == slug), None)
    if link is None:
        return _check("primary_link", "FAIL", f"primary link {slug} is missing")
    if not link["enabled"]:
        return _check("primary_link", "FAIL", f"{slug} disabled")
    return _check("primary_link", "PASS", f"{slug} enabled")


def traffic_tags(rt: Runtime, variants: list[sqlite3.Row]) -> dict[str, str]:
    if not variants:
        return _check("traffic_tags", "FAIL", "no enabled variant links")
    missing = []
    for link in variants:
        tags = links.tracking(rt, link)
        lacking = [tag for tag in TAGS if tag not in tags]
        if lacking:
            missing.append(f"{link['slug']} missing {', '.join(lacking)}")
    if missing:
        return _check("traffic_tags", "FAIL", "; ".join(missing))
    return _check(
        "traffic_tags", "PASS", f"{_plural(len(variants), 'variant')} tagged with utmSource, utmMedium, utmCampaign"
    )


def click_seen(variants: list[sqlite3.Row]) -> dict[str, str]:
    clicks = sum(link["clicks"] for link in variants)
    if not clicks:
        return _check("click_seen", "PENDING", "no clicks on an enabled variant yet")
    return _check("click_seen", "PASS", _plural(clicks, "click"))


def converted(rt: Runtime, campaign: sqlite3.Row, slug: str) -> bool:
    """Whether a variant has a test or real conversion (indexed lookups, no scans)."""
    args = (campaign["handle"], campaign["campaign_id"], slug)
    return (
        rt.db.one("SELECT 1 FROM test_conversions WHERE handle = ? AND campaign_id = ? AND slug = ? LIMIT 1", args)
        is not None
        or rt.db.one("SELECT 1 FROM conversions WHERE handle = ? AND campaign_id = ? AND slug = ? LIMIT 1", args)
        is not None
    )


def conversion_signal(rt: Runtime, campaign: sqlite3.Row, variants: list[sqlite3.Row]) -> dict[str, str]:
    if not variants:
        return _check("conversion_signal", "WARN", "no enabled variants to convert")
    lacking = [link["slug"] for link in variants if not converted(rt, campaign, link["slug"])]
    if lacking:
        return _check("conversion_signal", "WARN", "no test conversion for " + ", ".join(lacking))
    return _check("conversion_signal", "PASS", f"{_plural(len(variants), 'variant')} with a conversion signal")


def detail_page(rt: Runtime, campaign: sqlite3.Row) -> dict[str, str]:
    row = rt.db.one(
        "SELECT schema_version, access_mode FROM deployments WHERE handle = ? "
        "AND campaign_id = ? ORDER BY id DESC LIMIT 1",
        (campaign["handle"], campaign["campaign_id"]),
    )
    if row is None:
        return _check("detail_page", "WARN", "site structure not published")
    return _check("detail_page", "PASS", f"published v{row[0]} {row[1]}")


def verdict(checks: list[dict[str, str]]) -> tuple[str, int]:
    score = max(0, 100 - sum(PENALTY[c["status"]] for c in checks))
    worst = max(checks, key=lambda c: SEVERITY[c["status"]])["status"]
    return worst, score


def evaluate(rt: Runtime, campaign: sqlite3.Row, via_pat: bool = False) -> dict[str, Any]:
    bound = links.for_campaign(rt, campaign["handle"], campaign["campaign_id"])
    variants = [link for link in bound if link["enabled"]]
    checks = [
        primary_link(campaign, bound),
        traffic_tags(rt, variants),
        click_seen(variants),
        conversion_signal(rt, campaign, variants),
        detail_page(rt, campaign),
    ]
    if rt.faults.active and rt.faults.hit(FaultName.PRIMARY_LINK_PENDING, campaign["campaign_id"]):
        checks[0] = _check("primary_link", "PENDING", "waiting for the primary link to be indexed")
    status, score = verdict(checks)
    if via_pat and rt.faults.hit(FaultName.HEALTH_DISAGREE, campaign["campaign_id"]):
        # The PAT route drifts from the JWT one: conversion_signal WARN, 10 points lower.
        signal = checks[3]
        if signal["status"] == "PASS":
            signal.update(
                status="WARN", detail="no test conversion for " + ", ".join(link["slug"] for link in variants)
            )
        status = verdict(checks)[0]
        score = max(0, score - 10)
    return {
        "campaignId": campaign["campaign_id"],
        "status": status,
        "score": score,
        "evaluatedAt": rfc3339(rt.clock.now()),
        "checks": checks,
    }
