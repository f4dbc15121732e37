"""Peak windows (`run.peak_windows`): times of the week a run must not start writing in."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from preflight.config.base import Strict, not_allowed


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


DAY_NAMES = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
TIME_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
TIME_RULE = 'a time "HH:MM" in quotes, 00:00-23:59, e.g. "18:00"'


class PeakWindow(Strict):
    """A time of the week the platform is busiest (a sale's evenings): a run that writes does
    not start inside one without --allow-peak (see preflight.ops.peak)."""

    name: str = Field(min_length=1, max_length=80, description="text naming the window, e.g. diwali evenings")
    days: list[Weekday] = Field(
        default_factory=lambda: list(Weekday),
        min_length=1,
        description="the days the window starts on, e.g. [fri, sat, sun] (default every day)",
    )
    start: str = Field(alias="from", description=TIME_RULE)
    end: str = Field(alias="to", description=TIME_RULE + ' (or "24:00"); at or before from: it ends the next day')
    tz: str = Field(description="an IANA time zone name, e.g. Asia/Kolkata")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> Any:
        rule = TIME_RULE + (' (or "24:00")' if info.field_name == "end" else "")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
            # YAML 1.1 reads an unquoted 18:00 as the base-60 number 1080.
            hours, minutes = divmod(value, 60)
            raise not_allowed(
                f'{rule}; YAML read an unquoted {hours}:{minutes:02d} as a number: write "{hours:02d}:{minutes:02d}"'
            )
        midnight = info.field_name == "end" and value == "24:00"
        if not isinstance(value, str) or not (TIME_PATTERN.match(value) or midnight):
            raise not_allowed(rule)
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _day_names(cls, days: Any) -> Any:
        # Fri, FRI and friday all mean fri.
        if not isinstance(days, list):
            return days
        return [DAY_NAMES.get(d.lower(), d.lower()) if isinstance(d, str) else d for d in days]

    @field_validator("days")
    @classmethod
    def _once_each(cls, days: list[Weekday]) -> list[Weekday]:
        return sorted(set(days), key=list(Weekday).index)

    @field_validator("tz")
    @classmethod
    def _zone(cls, zone: str) -> str:
        from zoneinfo import available_timezones

        from preflight.config.errors import did_you_mean

        names = available_timezones()
        if zone not in names:
            if zone.isalpha() and len(zone) <= 5:  # IST, CET: an abbreviation names no single place
                hint = f"; {zone} is an abbreviation: name the region's zone"
            else:
                guess = did_you_mean(zone, names) or did_you_mean(zone.replace(" ", "_"), names)
                hint = f"; did you mean {guess!r}?" if guess else ""
            raise not_allowed(f"an IANA time zone name, e.g. Asia/Kolkata, Europe/London, UTC{hint}")
        return zone

    @model_validator(mode="after")
    def _not_empty(self) -> PeakWindow:
        if self.start == self.end:
            raise not_allowed(f'from and to differ (both are {self.start}); for a whole day, from: "00:00" to: "24:00"')
        return self
