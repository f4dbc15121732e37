"""A7 · Health, read-only, as UC-07 steps 1 and 2 read it (JWT, then the PAT/public route). Before
the flight a PENDING click_seen or a WARN conversion_signal is expected; a FAIL never is."""

from __future__ import annotations

from preflight.audit.live import LiveRun
from preflight.core.categories import Category
from preflight.lifecycle.checks import fail
from preflight.lifecycle.clicks import TAG_LOST
from preflight.lifecycle.steps import health, pat_health

TAGS = ("utmSource", "utmMedium", "utmCampaign")


def jwt_health_has_no_fail(run: LiveRun) -> health.Health:
    run.live_campaign()
    found = health.fetch(run)
    run.artifacts.put("health", {"status": found.status, "score": found.score})
    failing = {cid: check for cid, check in found.checks.items() if check["status"] == "FAIL"}
    if "primary_link" in failing:
        raise fail(
            Category.LIVE_CONFIG,
            f"health's primary_link is FAIL on the live campaign: {failing['primary_link'].get('detail')}",
            expected="primary_link PASS",
            actual=failing["primary_link"],
            exchanges=[found.exchange],
            cause="the live campaign's primary link is missing or disabled",
            next_step=f"in the dashboard, enable campaign {run.campaign.campaign_id}'s primary link, then re-run",
        )
    if "traffic_tags" in failing:
        _traffic_tags(run, found, failing["traffic_tags"])
    if failing:
        raise fail(
            Category.HEALTH_NOT_READY,
            "health FAILs on the live campaign: " + ", ".join(f"{c} {k.get('detail', '')}" for c, k in failing.items()),
            expected="no FAIL check (PENDING click_seen and WARN conversion_signal are expected before the flight)",
            actual=failing,
            exchanges=[found.exchange],
            cause="live campaign health FAILs a readiness check",
        )
    return found


def _traffic_tags(run: LiveRun, found: health.Health, check: dict) -> None:
    """traffic_tags FAIL: the marketer's when a live link lacks a tag, the platform's when every link
    reads back with all three."""
    untagged, exchanges = {}, [found.exchange]
    for variant in run.campaign.variants:
        read = run.reads.link(variant.slug, step=run.step)
        exchanges += read.exchanges
        tags = run.tags_of(read.body) if read.body is not None else {}
        lacking = [tag for tag in TAGS if tag not in tags]
        if lacking:
            untagged[variant.slug] = lacking
    # A branch per party (tests/tools/raises_covered.py counts each as a finding of its own).
    if untagged:
        named = "; ".join(f"{slug} lacks {', '.join(tags)}" for slug, tags in untagged.items())
        cause, party, next_step = (
            "a live link lacks a traffic tag",
            "marketer",
            f"in the dashboard, tag the links: {named}, then re-run",
        )
    else:
        cause, party, next_step = (
            TAG_LOST,
            "platform",
            "every live link reads back with its three tags, yet health says one is missing: escalate",
        )
    raise fail(
        Category.MISSING_TRAFFIC_TAGS,
        f"health's traffic_tags is FAIL on the live campaign: {check.get('detail', '')}",
        expected="traffic_tags PASS: every variant link has utmSource, utmMedium and utmCampaign",
        actual=check,
        exchanges=exchanges,
        cause=cause,
        party=party,
        next_step=next_step,
    )


def pat_health_agrees(run: LiveRun) -> None:
    run.live_campaign()
    pat_health.check_agreement(run)
