"""A live link's lifetime against the flight: when it answers, and for how many clicks.

A click before `scheduledStartAt` answers 404; after `scheduledEndAt` or `expiresAt`, 410; at
`maxClicks`, 410; a `passwordProtected` link answers a password page. Without a configured
flight, the flight is now: the link must answer now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from preflight.core.categories import Category
from preflight.core.clock import parse_time
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged

# What makes the lifetime checks judgeable when the config names no flight.
FLIGHT_FIX = (
    "set the campaign's flight in the run's YAML: campaigns[].flight: {start: 2026-12-10T18:00:00+05:30, "
    "end: 2026-12-24T23:59:00+05:30} (the ad flight's real times)"
)


def problems(
    link: Mapping[str, Any],
    *,
    start: datetime,
    end: datetime | None,
    expected_clicks: int | None,
    flight: bool,
) -> list[str]:
    """What stops the link answering from `start` to `end` (None: open-ended), in words."""
    found = []
    window = "the flight" if flight else "now"
    begins = parse_time(link.get("scheduledStartAt"))
    if begins is not None and begins > start:
        found.append(
            f"scheduledStartAt {link['scheduledStartAt']} is after {_when(start, flight, 'start')}: "
            "its clicks answer 404 until then"
        )
    for name in ("scheduledEndAt", "expiresAt"):
        ends = parse_time(link.get(name))
        limit = end if end is not None else start
        if ends is not None and ends < limit:
            found.append(
                f"{name} {link[name]} is before {_when(limit, flight, 'end') if end is not None else window}: "
                "its clicks answer 410 link_expired from then"
            )
    cap, used = link.get("maxClicks"), link.get("clickCount")
    if isinstance(cap, int) and not isinstance(cap, bool):
        if isinstance(used, int) and used >= cap:
            found.append(f"maxClicks {cap} is reached (clickCount {used}): its clicks answer 410 link_exhausted")
        elif expected_clicks is not None and cap < expected_clicks + (used if isinstance(used, int) else 0):
            left = cap - (used if isinstance(used, int) else 0)
            found.append(
                f"maxClicks {cap} leaves {left} click(s), fewer than the {expected_clicks} expected "
                "(expected_clicks): the rest answer 410 link_exhausted"
            )
    if link.get("passwordProtected") is True:
        found.append("passwordProtected: visitors get a password page, not the destination")
    return found


def _when(moment: datetime, flight: bool, edge: str) -> str:
    return f"the flight's {edge} ({stamp(moment)})" if flight else f"now ({stamp(moment)})"


def stamp(moment: datetime) -> str:
    """RFC 3339 to the second, in its own zone (as the config wrote it)."""
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def link_lives_through_the_flight(run: Any, variant: Any) -> dict[str, Any]:
    """A2: the link answers from the flight's start to its end, for the clicks expected."""
    link, read = run.live_link(variant)
    config = run.campaign.config
    flight = config.flight
    now = run.reads.now()
    found = problems(
        link,
        start=flight.start if flight else now,
        end=flight.end if flight else None,
        expected_clicks=config.expected_clicks,
        flight=flight is not None,
    )
    run.artifacts.put(
        "lifetime",
        {k: link.get(k) for k in ("scheduledStartAt", "scheduledEndAt", "expiresAt", "maxClicks", "clickCount")},
    )
    if found:
        raise fail(
            Category.LINK_LIFETIME,
            f"the live link {variant.slug} will not answer through "
            + ("the flight" if flight else "now")
            + ": "
            + "; ".join(found),
            expected=(
                f"answers from {stamp(flight.start)} to {stamp(flight.end)}"
                if flight
                else "answers now (no flight configured: campaigns[].flight)"
            )
            + (f", for {config.expected_clicks} clicks" if config.expected_clicks else ""),
            actual={
                k: link.get(k)
                for k in (
                    "scheduledStartAt",
                    "scheduledEndAt",
                    "expiresAt",
                    "maxClicks",
                    "clickCount",
                    "passwordProtected",
                )
            },
            exchanges=read.exchanges,
            cause="a live link's schedule, expiry, click limit or password stops it answering through the flight",
            next_step=f"in the dashboard, edit link {variant.slug}: move its schedule or expiry to cover the flight, "
            "raise or clear its click limit, remove its password; then re-run the audit",
        )
    if config.expected_clicks is None:
        run.not_checked(
            "click limit",
            "no expected_clicks for the campaign: its maxClicks is not held against the clicks the flight brings",
            "a click limit that runs out mid-flight (410 link_exhausted)",
        )
    if flight is None:
        raise Unjudged(
            f"no flight for campaign {run.campaign.stem}: link {variant.slug} answers now, but whether it answers "
            "through the ad flight (its schedule and expiry against the flight's start and end) cannot be judged",
            fix=FLIGHT_FIX,
        )
    return link
