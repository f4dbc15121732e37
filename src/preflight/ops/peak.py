"""Peak windows: the times of the week a run must not write (a sale's evenings), and the clock
they are judged on.

A window (config `run.peak_windows`) starts on each of its days at `from` and ends at `to`, both
wall-clock times in its own time zone, so a window keeps its local hours across a DST change;
`to` at or before `from` ends the next day (a window that crosses midnight), `to: "24:00"` at
midnight. "Now" is the platform's clock: the Date header of the answers already read (the
sandbox sends its own, movable clock there), else this computer's clock, and every message says
which one it used.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from preflight.config.peak_windows import PeakWindow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
# A window starts at most once a day, so the next start of any window is within a week and a day.
LOOKAHEAD_DAYS = 8
PLATFORM, LOCAL = "platform", "local"


# -- the arithmetic ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One window, once: from `start` to `end`, in UTC (aware datetimes in one zone compare by their
    wall-clock reading, which the hour a DST change repeats would make ambiguous)."""

    window: PeakWindow
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def minutes(text: str) -> int:
    """ "18:30" -> 1110; "24:00" -> 1440."""
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def occurrence_on(window: PeakWindow, day: date) -> Occurrence | None:
    """The occurrence of `window` that starts on local date `day`, if the window starts that day."""
    if DAYS[day.weekday()] not in {str(d) for d in window.days}:
        return None
    zone = ZoneInfo(window.tz)
    begin, finish = minutes(window.start), minutes(window.end)
    end_day = day + timedelta(days=1) if finish <= begin or finish == 24 * 60 else day
    finish %= 24 * 60
    start = datetime(day.year, day.month, day.day, begin // 60, begin % 60, tzinfo=zone)
    end = datetime(end_day.year, end_day.month, end_day.day, finish // 60, finish % 60, tzinfo=zone)
    # A wall-clock time a DST change skips (02:30 on a spring-forward night) is read with the
    # offset before the change (PEP 495), i.e. 03:30 on the new clock; a repeated one is its first.
    return Occurrence(window, start.astimezone(UTC), end.astimezone(UTC))


def _near(window: PeakWindow, moment: datetime, days: Iterable[int]) -> list[Occurrence]:
    local = moment.astimezone(ZoneInfo(window.tz)).date()
    found = (occurrence_on(window, local + timedelta(days=offset)) for offset in days)
    return [o for o in found if o is not None]


def current(windows: Iterable[Any], moment: datetime) -> Occurrence | None:
    """The window occurrence `moment` falls in (the one ending last, when windows overlap)."""
    inside = [o for w in windows for o in _near(w, moment, (-1, 0)) if o.contains(moment)]
    return max(inside, key=lambda o: o.end) if inside else None


def upcoming(windows: Iterable[Any], moment: datetime) -> Occurrence | None:
    """The first window occurrence that starts after `moment`."""
    later = [o for w in windows for o in _near(w, moment, range(0, LOOKAHEAD_DAYS)) if o.start > moment]
    return min(later, key=lambda o: o.start) if later else None


def clear_at(windows: list[Any], occurrence: Occurrence) -> datetime:
    """When no window is on any more: the end of `occurrence`, carried on through any window that is
    already on at that moment (back-to-back windows, e.g. Friday's evening into Saturday's night)."""
    end = occurrence.end
    for _ in range(LOOKAHEAD_DAYS * max(1, len(windows))):
        following = current(windows, end)
        if following is None or following.end <= end:
            return end
        end = following.end
    return end


# -- the clock -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Now:
    moment: datetime  # aware, UTC
    source: str  # PLATFORM or LOCAL

    def says(self) -> str:
        return (
            "by the platform's clock (the Date header of its answers)"
            if self.source == PLATFORM
            else "by this computer's clock (the platform's answers carry no Date header)"
        )


class ClockWatch:
    """A client observer that keeps the platform's clock from the Date header of its answers.

    The platform's time is carried forward by this computer's elapsed time, so "now" a few
    seconds after the last answer is still the platform's now."""

    def __init__(self, local: Any = time.time) -> None:
        self._local = local
        self.offset: float | None = None  # platform minus local, seconds

    def __call__(self, exchange: Any) -> None:
        self.see(exchange.response_headers.get("date") if exchange.status is not None else None)

    def see(self, stamp: str | None) -> None:
        platform = date_header(stamp)
        if platform is not None:
            self.offset = platform.timestamp() - self._local()

    def now(self) -> Now:
        if self.offset is None:
            return Now(datetime.fromtimestamp(self._local(), UTC), LOCAL)
        return Now(datetime.fromtimestamp(self._local() + self.offset, UTC), PLATFORM)


def date_header(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        parsed = parsedate_to_datetime(stamp)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- in words --------------------------------------------------------------------------------------


def describe_window(window: PeakWindow) -> str:
    """ "diwali evenings (fri, sat, sun 18:00-23:30 Asia/Kolkata)"."""
    days = ", ".join(str(d) for d in window.days) if len(window.days) < 7 else "every day"
    return f"'{window.name}' ({days} {window.start}-{window.end} {window.tz})"


def stamp(moment: datetime, zone: str) -> str:
    """ "Fri 2026-11-27 23:30 Asia/Kolkata (18:00 UTC)"; UTC itself once."""
    local = moment.astimezone(ZoneInfo(zone))
    text = f"{local:%a %Y-%m-%d %H:%M} {zone}"
    if zone.upper() in ("UTC", "ETC/UTC"):
        return text
    utc = moment.astimezone(UTC)
    same_day = utc.date() == local.date()
    return text + f" ({utc:%H:%M} UTC)" if same_day else text + f" ({utc:%a %H:%M} UTC)"


def refusal(windows: list[Any], now: Now) -> str | None:
    """Why a run that writes must not start now, or None when no window is on."""
    on = current(windows, now.moment)
    if on is None:
        return None
    zone = on.window.tz
    ends = clear_at(windows, on)
    later = "" if ends == on.end else f"; back-to-back windows keep the peak on until {stamp(ends, zone)}"
    return (
        f"peak window {describe_window(on.window)} is on: it is {stamp(now.moment, zone)} {now.says()}; "
        f"it ends at {stamp(on.end, zone)}{later}; nothing was written. Run after it ends, or pass "
        f"--allow-peak to run anyway"
    )


def status(windows: list[Any], now: Now) -> dict[str, Any]:
    """The doctor's and the plan's view: the window on now, or the next one (JSON-ready, times in UTC)."""
    on = current(windows, now.moment)
    shown = on or upcoming(windows, now.moment)
    return {
        "configured": len(windows),
        "now": now.moment.isoformat(),
        "clock": now.source,
        "inWindow": on is not None,
        "window": shown.window.name if shown else None,
        "tz": shown.window.tz if shown else None,
        "start": shown.start.isoformat() if shown else None,
        "end": shown.end.isoformat() if shown else None,
        "clearAt": clear_at(windows, on).isoformat() if on else None,
    }


def sentence(windows: list[Any], now: Now) -> str:
    """One line for a person: in a window now (until when), or the next one."""
    if not windows:
        return "none configured (run.peak_windows)"
    on = current(windows, now.moment)
    if on is not None:
        zone = on.window.tz
        return (
            f"in peak window {describe_window(on.window)} now {now.says()}; it ends at "
            f"{stamp(clear_at(windows, on), zone)}: a run that writes stops before its first write "
            "unless --allow-peak"
        )
    nxt = upcoming(windows, now.moment)
    if nxt is None:  # cannot happen with a valid window (it starts at least once a week)
        return "no window starts in the next week"
    zone = nxt.window.tz
    return f"next: {describe_window(nxt.window)} from {stamp(nxt.start, zone)} to {stamp(nxt.end, zone)}"
