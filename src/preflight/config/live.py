"""What the audit reads and judges of the live campaign the ads point at: its ids where they differ
from the config's (`live`), the flight it must last through (`flight`), the clicks it must take
(`expected_clicks`), the audiences whose routing it checks (`audiences`), and the run's UTM policy
(`policy.utm`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from preflight.config.base import Strict, not_allowed

# The platform's own limits (the contract), not the config's shorter ones for throwaway copies.
LIVE_CAMPAIGN_PATTERN = r"^[a-z0-9][a-z0-9_-]{2,63}$"
LIVE_SLUG_PATTERN = r"^[A-Za-z0-9_-]{4,24}$"
TAG_NAMES = ("utmSource", "utmMedium", "utmCampaign")
Tag = Literal["utmSource", "utmMedium", "utmCampaign"]
Device = Literal["MOBILE", "TABLET", "DESKTOP"]
LiveSlug = Annotated[
    str,
    Field(pattern=LIVE_SLUG_PATTERN, description="a live slug: 4-24 letters, digits, '_' or '-' (the platform's rule)"),
]


class LiveIds(Strict):
    """The live campaign's ids where they differ from the config's."""

    campaign_id: str | None = Field(
        None,
        alias="campaignId",
        pattern=LIVE_CAMPAIGN_PATTERN,
        description="the live campaignId: 3-64 lowercase letters, digits, '_' or '-' (the platform's rule)",
    )
    slugs: dict[str, LiveSlug] = Field(
        default_factory=dict, description="a mapping of configured slug: live slug (e.g. spring-a: spring-a-2026)"
    )


# A time relative to when the config is read: "now", "now-1d", "+14d", "-90m" (a rehearsal's flight,
# which stays valid as the days pass; a real flight names its dates).
RELATIVE = re.compile(r"^\s*(?:now)?\s*(?:([+-])\s*(\d+)\s*([mhd]))?\s*$", re.IGNORECASE)
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
TIME_RULE = "an RFC 3339 time with a zone, e.g. 2026-11-27T18:00:00+05:30, or relative to now: now, -1d, +14d, +90m"


def relative_time(value: Any) -> Any:
    """`now`, `now+14d`, `-1d`, `+90m` as the time they mean now; anything else as it is."""
    if not isinstance(value, str):
        return value
    match = RELATIVE.match(value)
    if not match or not value.strip():
        return value
    sign, amount, unit = match.groups()
    offset = timedelta(**{UNITS[unit.lower()]: int(amount)}) if amount else timedelta()
    return datetime.now(UTC) + (-offset if sign == "-" else offset)


class Flight(Strict):
    """When the ads run: the live links must answer from `start` to `end`."""

    start: datetime = Field(description=TIME_RULE)
    end: datetime = Field(description=TIME_RULE + ", after start")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _relative(cls, value: Any) -> Any:
        return relative_time(value)

    @field_validator("start", "end")
    @classmethod
    def _zoned(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise not_allowed("an RFC 3339 time with a zone, e.g. 2026-11-27T18:00:00+05:30 (Z for UTC)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Flight:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Audience(Strict):
    """Who the ads reach: routing must send them to the variant's destination."""

    name: str | None = Field(None, min_length=1, max_length=80, description="text, e.g. indian phones")
    country: str | None = Field(
        None, pattern=r"^[A-Z]{2}$", description="an ISO 3166 country code in capitals, e.g. IN"
    )
    device: Device | None = None
    source: str | None = Field(None, min_length=1, max_length=200, description="text: the visit's utm source")
    campaign: str | None = Field(None, min_length=1, max_length=200, description="text: the visit's utm campaign")

    def describe(self) -> str:
        traits = [t for t in (self.country, self.device, self.source, self.campaign) if t]
        label = " ".join(traits) or "any visitor"
        return f"{self.name} ({label})" if self.name else label


class AllowedValues(Strict):
    """Per tag, the values it may take (a tag left out may take any)."""

    utm_source: list[str] | None = Field(None, alias="utmSource", min_length=1, description="a list of values")
    utm_medium: list[str] | None = Field(None, alias="utmMedium", min_length=1, description="a list of values")
    utm_campaign: list[str] | None = Field(None, alias="utmCampaign", min_length=1, description="a list of values")

    def of(self, tag: str) -> list[str] | None:
        return getattr(self, tag)  # the contract names read like the fields (Strict)


class UtmPolicy(Strict):
    """The run's rules for traffic tags (checked on the live links)."""

    required: list[Tag] = Field(
        default_factory=lambda: list(TAG_NAMES), description="a list of utmSource, utmMedium, utmCampaign"
    )
    lowercase: bool = Field(False, description="true or false: every tag value in lowercase")
    allowed: AllowedValues = Field(
        default_factory=lambda: AllowedValues(),
        description="utmSource, utmMedium, utmCampaign: the values each may take",
    )
    utm_campaign_pattern: str | None = Field(
        None, min_length=1, description="a regular expression every utmCampaign must match, e.g. ^[a-z0-9_]+$"
    )
    one_utm_campaign: bool = Field(False, description="true or false: all variants of a campaign share one utmCampaign")

    @field_validator("utm_campaign_pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise not_allowed(f"a regular expression that compiles ({exc})") from None
        return pattern


class Policy(Strict):
    utm: UtmPolicy | None = Field(
        None, description="required, lowercase, allowed, utm_campaign_pattern, one_utm_campaign"
    )
