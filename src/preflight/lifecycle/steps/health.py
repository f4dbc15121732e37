"""Step 1: campaign health (JWT), run before spend ramp; and the readiness verdict once
the lifecycle has wired the campaign."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.core.categories import Category
from preflight.core.readings import Unreadable, read_number
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status, fail
from preflight.lifecycle.clicks import TAG_LOST
from preflight.lifecycle.model import StepRun
from preflight.lifecycle.playbook import fed_by

CHECK_IDS = ("primary_link", "traffic_tags", "click_seen", "conversion_signal", "detail_page")
CHECK_STATUSES = ("PASS", "WARN", "FAIL", "PENDING")
SEVERITY = {"PASS": 0, "PENDING": 1, "WARN": 2, "FAIL": 3}
TAG_KEYS = ("utmSource", "utmMedium", "utmCampaign")


@dataclass
class Health:
    status: str
    score: int
    checks: dict[str, dict[str, Any]]
    exchange: Exchange

    def check(self, check_id: str) -> dict[str, Any]:
        return self.checks[check_id]


def fetch(run: StepRun, *, surface: str = "jwt", consistent: bool = True) -> Health:
    route = "campaign_health" if surface == "jwt" else "public_campaign_health"
    ex = run.client.call(route, step=run.step, campaignId=run.campaign.campaign_id)
    body = expect_status(ex, 200, doing=f"reading {surface.upper()} campaign health")
    body = expect_json_object(
        ex, body, doing="reading campaign health", fields=("campaignId", "status", "score", "checks")
    )
    _of_the_campaign(run, ex, body["campaignId"], surface)
    checks = _checks_by_id(ex, body["checks"])
    score = read_number(body["score"])  # "80" is 80; what is no number stays as it is (check_consistent says so)
    health = Health(
        status=body["status"],
        score=body["score"] if isinstance(score, Unreadable) else score,
        checks=checks,
        exchange=ex,
    )
    if consistent:
        check_consistent(health)
    return health


def _of_the_campaign(run: StepRun, ex: Exchange, said: Any, surface: str) -> None:
    """Health of another campaign than the one asked for says nothing about this one."""
    asked = run.campaign.campaign_id
    if said != asked:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"{surface.upper()} campaign health of {asked} answers for campaign {said!r}",
            expected={"campaignId": asked},
            actual={"campaignId": said},
            exchanges=[ex],
            cause="campaign health answers for another campaign than the one asked for",
            next_step="nothing in that answer tells this campaign's readiness: report it to 10xDotIn with the "
            "request id, and read the campaign's health in the dashboard meanwhile",
        )


def check_wired(run: StepRun) -> Health:
    """Before spend: the five checks are there, the primary link is enabled and every
    variant carries its traffic tags."""
    health = fetch(run)
    primary = health.check("primary_link")
    if primary["status"] != "PASS":
        raise fail(
            Category.HEALTH_NOT_READY,
            f"primary_link is {primary['status']}: {primary.get('detail')}",
            expected="primary_link PASS",
            actual=primary,
            exchanges=[health.exchange],
            cause="primary_link is not PASS right after the primary link was enabled",
        )
    _check_traffic_tags(run, health)
    return health


def check_ready(run: StepRun) -> Health:
    """After the lifecycle: health reaches the configured verdict and score."""
    health = fetch(run)
    expected = run.expectations.health_verdict
    if health.check("traffic_tags")["status"] == "FAIL":
        _check_traffic_tags(run, health)
    if SEVERITY[health.status] > SEVERITY[expected] or health.score < run.expectations.min_score:
        lagging = {
            cid: f"{c['status']}: {c.get('detail', '')}" for cid, c in health.checks.items() if c["status"] != "PASS"
        }
        raise fail(
            Category.HEALTH_NOT_READY,
            f"health is {health.status} (score {health.score}) after the lifecycle; lagging: "
            + ", ".join(f"{cid} {text}" for cid, text in lagging.items()),
            expected=f"status {expected} or better, score >= {run.expectations.min_score}",
            actual=f"status {health.status}, score {health.score}",
            exchanges=[health.exchange],
            cause="health stays below the expected verdict after the whole lifecycle: "
            + ", ".join(sorted(lagging))
            + " lagging",
            follows=tuple(sorted({step for cid in lagging for step in fed_by(cid)})),
        )
    return health


def _check_traffic_tags(run: StepRun, health: Health) -> None:
    tags = health.check("traffic_tags")
    if tags["status"] == "PASS":
        return
    untagged = {v.slug: [k for k in TAG_KEYS if not v.tracking.get(k)] for v in run.campaign.variants}
    untagged = {slug: keys for slug, keys in untagged.items() if keys}
    named = "; ".join(f"{slug} with {', '.join(keys)}" for slug, keys in untagged.items())
    # The config leaving a tag out is the user's to fix (a real finding, not the platform's defect).
    ours = bool(untagged)
    raise fail(
        Category.MISSING_TRAFFIC_TAGS,
        f"traffic_tags is {tags['status']}: {tags.get('detail', '')}",
        expected="traffic_tags PASS: every variant link has utmSource, utmMedium and utmCampaign",
        actual=f"{tags['status']}: {tags.get('detail', '')}",
        exchanges=[health.exchange],
        cause="the config leaves a traffic tag out" if ours else TAG_LOST,
        escalate=not ours,
        next_step="run campaign health before spend ramp (UC-07 step 1); "
        + (
            f"tag links {named} in the config"
            if ours
            else "the config sets every tag, so the platform lost one: re-PUT the links named in "
            "the detail with their tracking and escalate"
        ),
    )


def _checks_by_id(ex: Exchange, raw: Any) -> dict[str, dict[str, Any]]:
    checks = {c.get("id"): c for c in raw if isinstance(c, dict)} if isinstance(raw, list) else {}
    missing = [cid for cid in CHECK_IDS if cid not in checks]
    bad = {cid: c.get("status") for cid, c in checks.items() if c.get("status") not in CHECK_STATUSES}
    if missing or bad:
        raise fail(
            Category.CONTRACT_VIOLATION,
            "campaign health does not carry the five readiness checks",
            expected=f"checks {list(CHECK_IDS)} each with a status in {list(CHECK_STATUSES)}",
            actual=f"missing {missing}, bad statuses {bad}",
            exchanges=[ex],
            cause="campaign health lacks readiness checks or has unknown statuses",
        )
    return checks


def check_consistent(health: Health) -> None:
    """The verdict is the worst check, and the score follows from the checks."""
    statuses = [c["status"] for c in health.checks.values()]
    worst = max(statuses, key=SEVERITY.__getitem__)
    fails = statuses.count("FAIL")
    score = max(0, 100 - 40 * fails - 10 * (len(statuses) - fails - statuses.count("PASS")))
    if (health.status, health.score) != (worst, score):
        raise fail(
            Category.CONTRACT_VIOLATION,
            "campaign health's status or score does not follow from its checks",
            expected=f"status {worst}, score {score}",
            actual=f"status {health.status}, score {health.score}",
            exchanges=[health.exchange],
            cause="health's status or score does not follow from its checks",
        )
