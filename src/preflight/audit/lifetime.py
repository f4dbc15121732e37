"""A live link's lifetime against the flight: when it answers, and for how many clicks.

A click before `scheduledStartAt` answers 404; after `scheduledEndAt` or `expiresAt`, 410; at
`maxClicks`, 410; a `passwordProtected` link answers a password page. Without a configured
flight, the flight is now: the link must answer now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from preflight.audit.live import dashboard_fix, request_ids
from preflight.core.categories import Category
from preflight.core.readings import Unreadable, read_bool, read_number, read_time
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged

# What makes the lifetime checks judgeable when the config names no flight.
FLIGHT_FIX = (
    "set the campaign's flight in the run's YAML: campaigns[].flight: {start: 2026-12-10T18:00:00+05:30, "
    "end: 2026-12-24T23:59:00+05:30} (the ad flight's real times)"
)
TIMES = ("scheduledStartAt", "scheduledEndAt", "expiresAt")
FIELDS = (*TIMES, "maxClicks", "clickCount", "passwordProtected")


def readings(link: Mapping[str, Any]) -> dict[str, Any]:
    """Each lifetime field as what it means (None: not set), or an Unreadable: times as RFC 3339 or
    epoch seconds or milliseconds, counts as numbers or numeric strings, the password as a boolean."""
    found: dict[str, Any] = {name: read_time(link.get(name)) for name in TIMES}
    found["maxClicks"] = read_number(link.get("maxClicks"))
    found["clickCount"] = read_number(link.get("clickCount"))
    found["passwordProtected"] = read_bool(link.get("passwordProtected"))
    return found


def unreadable(link: Mapping[str, Any]) -> dict[str, Unreadable]:
    return {name: value for name, value in readings(link).items() if isinstance(value, Unreadable)}


def problems(
    link: Mapping[str, Any],
    *,
    start: datetime,
    end: datetime | None,
    expected_clicks: int | None,
    flight: bool,
) -> list[str]:
    """What stops the link answering from `start` to `end` (None: open-ended), in words, from the
    fields that can be read (`unreadable` names the others)."""
    read = {name: None if isinstance(value, Unreadable) else value for name, value in readings(link).items()}
    found = []
    window = "the flight" if flight else "now"
    begins = read["scheduledStartAt"]
    if begins is not None and begins > start:
        found.append(
            f"scheduledStartAt {_shown(link, 'scheduledStartAt', begins)} is after {_when(start, flight, 'start')}: "
            "its clicks answer 404 until then"
        )
    for name in ("scheduledEndAt", "expiresAt"):
        ends = read[name]
        limit = end if end is not None else start
        if ends is not None and ends < limit:
            found.append(
                f"{name} {_shown(link, name, ends)} is before "
                f"{_when(limit, flight, 'end') if end is not None else window}: its clicks answer 410 link_expired "
                "from then"
            )
    found += _clicks(read["maxClicks"], read["clickCount"], expected_clicks)
    if read["passwordProtected"] is True:
        found.append("passwordProtected: visitors get a password page, not the destination")
    return found


def _clicks(cap: float | None, used: float | None, expected_clicks: int | None) -> list[str]:
    if cap is None:
        return []
    if used is not None and used >= cap:
        return [f"maxClicks {cap:g} is reached (clickCount {used:g}): its clicks answer 410 link_exhausted"]
    left = cap - (used or 0)
    if expected_clicks is not None and left < expected_clicks:
        return [
            f"maxClicks {cap:g} leaves {left:g} click(s), fewer than the {expected_clicks} expected "
            "(expected_clicks): the rest answer 410 link_exhausted"
        ]
    return []


def _shown(link: Mapping[str, Any], name: str, moment: datetime) -> str:
    """The field as the answer wrote it, and what it means when that was not RFC 3339 (epoch seconds)."""
    raw = link.get(name)
    if isinstance(raw, str) and isinstance(read_number(raw), Unreadable):
        return raw
    return f"{raw} ({stamp(moment)})"


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
    run.artifacts.put("lifetime", {k: link.get(k) for k in FIELDS})
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
            actual={k: link.get(k) for k in FIELDS},
            exchanges=read.exchanges,
            cause="a live link's schedule, expiry, click limit or password stops it answering through the flight",
            next_step=f"in the dashboard, edit link {variant.slug}: move its schedule or expiry to cover the flight, "
            "raise or clear its click limit, remove its password; then re-run the audit",
        )
    _readable(variant.slug, unreadable(link), read.exchanges)
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


def _readable(slug: str, unread: dict[str, Unreadable], exchanges: list) -> None:
    """A field the audit cannot read is never "not set". A time is the contract's own type (RFC 3339):
    one that is no time at all is a contract violation; a count or flag it cannot read leaves the
    lifetime unjudged."""
    times = {name: value for name, value in unread.items() if name in TIMES}
    if times:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"the live link {slug} answers "
            + "; ".join(value.describe(name) for name, value in times.items())
            + ": when it stops answering cannot be told",
            expected={name: "an RFC 3339 time (or null)" for name in times},
            actual={name: value.value for name, value in times.items()},
            exchanges=exchanges,
            cause="a link's schedule or expiry is no time",
            next_step=f"check link {slug}'s schedule and expiry in the dashboard; report the answer to 10xDotIn "
            "with the request id",
        )
    if unread:
        raise Unjudged(
            f"the live link {slug}'s lifetime cannot be judged: "
            + "; ".join(value.describe(name) for name, value in unread.items())
            + f" ({request_ids(exchanges)})",
            fix=dashboard_fix(slug, " and ".join(unread)),
        )
