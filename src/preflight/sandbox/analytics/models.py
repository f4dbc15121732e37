"""Analytics answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

GroupBy = Literal["slug", "day", "country", "device", "referrer"]


class FunnelCounts(BaseModel):
    clicks: int
    qualifiedClicks: int
    botClicks: int
    conversions: int
    revenue: float
    testConversions: int


class Freshness(BaseModel):
    status: Literal["FRESH", "STALE", "UNKNOWN"]
    lastUpdatedAt: str
    slaMinutes: int


class FunnelOut(BaseModel):
    campaignId: str
    from_: str = Field(alias="from")
    to: str
    funnel: FunnelCounts
    freshness: Freshness


class GroupItem(FunnelCounts):
    key: str | None


class GroupedOut(BaseModel):
    campaignId: str
    groupBy: GroupBy
    items: list[GroupItem]
    freshness: Freshness
