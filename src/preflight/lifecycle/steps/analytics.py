"""Step 8 (Campaign Control CC-06/07): the platform's own funnel numbers.

After the lifecycle, the throwaway campaign's analytics (`groupBy=slug`) must show the run's
clicks on each variant, as bot clicks (the harness clicks as a declared bot), and its test
conversions in `testConversions`, never in `conversions` or `revenue`: test traffic in the real
numbers is `test_residue`. Numbers may lag (`freshness`): a lag can hide counts, never add them,
so a residue is a finding whatever the freshness; the counts are judged only once FRESH, after
waiting at most `expectations.analytics_wait_seconds`, else the check is skipped saying why.

`read` and `read_fresh` are shared with the audit, which reads the live campaign's funnel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from preflight.core.categories import Category
from preflight.core.readings import read_number
from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status, fail
from preflight.lifecycle.failures import Unjudged
from preflight.lifecycle.model import StepRun

COUNTS = ("clicks", "qualifiedClicks", "botClicks", "conversions", "revenue", "testConversions")
FRESH = "FRESH"
RESIDUE = "test traffic counts in the real numbers: a test conversion in conversions or revenue, or a declared bot "
POLL_SECONDS = 5.0  # how often STALE numbers are read again while waiting


@dataclass
class Funnel:
    """A campaign's funnel by one key (slug, day, country, …), with its freshness."""

    items: dict[str, dict[str, float]]
    freshness: dict[str, Any]
    exchange: Exchange
    waited: float = 0.0

    @property
    def status(self) -> str:
        return str(self.freshness.get("status") or "UNKNOWN")

    @property
    def sla(self) -> str:
        minutes = self.freshness.get("slaMinutes")
        return f"SLA {minutes} min" if minutes is not None else "no SLA given"

    def of(self, key: str) -> dict[str, float]:
        return self.items.get(key) or dict.fromkeys(COUNTS, 0)


def read(
    client: PlatformClient,
    campaign_id: str,
    *,
    step: str,
    group_by: str = "slug",
    surface: str = "jwt",
    since: str | None = None,
) -> Funnel:
    """The campaign's funnel by `group_by` (since an RFC 3339 time, when given)."""
    route = "analytics" if surface == "jwt" else "public_analytics"
    params = {"campaignId": campaign_id, "funnel": "true", "groupBy": group_by}
    if since is not None:
        params["from"] = since
    ex = client.call(route, step=step, params=params)
    body = expect_status(ex, 200, doing=f"reading the analytics of {campaign_id} ({surface.upper()})")
    body = expect_json_object(ex, body, doing="reading analytics", fields={"items": list, "freshness": dict})
    items: dict[str, dict[str, float]] = {}
    for item in body["items"]:
        # A count as a numeric string ("120") is that number; one that is no number is a violation.
        counts = {name: read_number(item.get(name)) for name in COUNTS} if isinstance(item, dict) else {}
        # (gap) testConversions is the contract's own; an answer without it counts none.
        counts["testConversions"] = counts.get("testConversions") or 0
        bad = {name: value for name, value in counts.items() if not isinstance(value, (int, float))}
        if not isinstance(item, dict) or "key" not in item or bad:
            raise fail(
                Category.CONTRACT_VIOLATION,
                f"the analytics of {campaign_id} carry an item without its key or counts",
                expected=f"items of {{key, {', '.join(COUNTS)}}} (numbers)",
                actual=item,
                exchanges=[ex],
                cause="analytics items lack their key or counts",
            )
        items[str(item["key"])] = counts
    return Funnel(items, body["freshness"], ex)


def read_fresh(
    read_once: Callable[[], Funnel],
    wait_seconds: float,
    *,
    check: Callable[[Funnel], None] = lambda funnel: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Funnel:
    """The funnel, read again while it is not FRESH, for at most `wait_seconds`; `check` runs on
    every reading (a residue shows whatever the freshness)."""
    started = clock()
    funnel = read_once()
    check(funnel)
    while funnel.status != FRESH and clock() - started < wait_seconds:
        sleep(min(POLL_SECONDS, max(0.0, wait_seconds - (clock() - started))))
        funnel = read_once()
        check(funnel)
    funnel.waited = clock() - started
    return funnel


WAIT_FIX = (
    "wait for the analytics to be FRESH (within the platform's SLA) and re-run, or raise "
    "expectations.analytics_wait_seconds"
)


def lag_reason(funnel: Funnel, wait_seconds: float) -> str:
    last = funnel.freshness.get("lastUpdatedAt")
    return (
        f"analytics lag: freshness {funnel.status}" + (f" (numbers as of {last})" if last else "") + f", {funnel.sla}; "
        f"waited {funnel.waited:.0f} s of expectations.analytics_wait_seconds ({wait_seconds:.0f} s): re-run once the "
        "numbers are FRESH"
    )


def check_throwaway(run: StepRun) -> Funnel:
    """The run's clicks and test conversions, per variant, in the throwaway campaign's analytics."""
    wait = run.expectations.analytics_wait_seconds
    campaign_id = run.campaign.campaign_id
    funnel = read_fresh(
        lambda: read(run.client, campaign_id, step=run.step), wait, check=lambda found: _no_residue(run, found)
    )
    run.artifacts.put("analytics", {"freshness": funnel.freshness, "items": funnel.items})
    if funnel.status != FRESH:
        raise Unjudged(lag_reason(funnel, wait), fix=WAIT_FIX)
    clicks = run.campaign.notes.get("clicks", {})
    tests = run.campaign.notes.get("test_conversions", {})
    public = run.campaign.notes.get("public_test_conversions", {})
    for variant in run.campaign.variants:
        counts = funnel.of(variant.slug)
        made = {
            "clicks": clicks.get(variant.slug, 0),
            "botClicks": clicks.get(variant.slug, 0),
            "testConversions": (1 if variant.slug in tests else 0) + public.get(variant.slug, 0),
        }
        short = {name: (counts[name], wanted) for name, wanted in made.items() if counts[name] < wanted}
        if short:
            raise fail(
                Category.CONTRACT_VIOLATION,
                f"the analytics of {variant.slug} miss the run's own traffic: "
                + ", ".join(f"{name} {got} < {wanted}" for name, (got, wanted) in short.items()),
                expected={name: f">= {wanted}" for name, wanted in made.items()},
                actual={name: counts[name] for name in made},
                exchanges=[funnel.exchange],
                cause="FRESH analytics miss clicks or test conversions the run made",
                next_step="compare the variant's clicks and test conversions in the dashboard with the run's "
                "artifacts (clickIds, testConversionIds); if they are missing there too, escalate with the request ids",
            )
    return funnel


def _no_residue(run: StepRun, funnel: Funnel) -> None:
    """A throwaway campaign sees only the run's traffic: declared bot clicks and test conversions."""
    for variant in run.campaign.variants:
        counts = funnel.of(variant.slug)
        leaked = {name: counts[name] for name in ("conversions", "revenue", "qualifiedClicks") if counts[name]}
        if leaked:
            raise fail(
                Category.TEST_RESIDUE,
                f"the run's test traffic on {variant.slug} counts as real: "
                + ", ".join(f"{name} {value}" for name, value in leaked.items()),
                expected="conversions 0, revenue 0, qualifiedClicks 0 (the run sends only test conversions and "
                "clicks as a declared bot: they belong in testConversions and botClicks)",
                actual={name: counts[name] for name in COUNTS},
                exchanges=[funnel.exchange],
                cause=RESIDUE + "click counted as qualified",
            )
