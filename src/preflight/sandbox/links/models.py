"""Link bodies and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn

Device = Literal["MOBILE", "TABLET", "DESKTOP"]


class Tracking(BaseModel):
    """The traffic tags. A tag that is missing reads back absent."""

    model_config = StrictIn.model_config

    utmSource: str | None = Field(None, max_length=200)
    utmMedium: str | None = Field(None, max_length=200)
    utmCampaign: str | None = Field(None, max_length=200)


class TrackingPolicy(BaseModel):
    """How a click is answered: a redirect (DIRECT) or a bridge page (BRIDGE); with or without ctx."""

    model_config = StrictIn.model_config

    mode: Literal["DIRECT", "BRIDGE"] = "DIRECT"
    appendContextParam: bool = True


class When(BaseModel):
    """A rule's conditions, AND-ed; a missing one matches any visitor (gap: the rule shapes)."""

    model_config = StrictIn.model_config

    country: list[str] | None = Field(None, max_length=50)
    device: list[Device] | None = Field(None, max_length=3)
    source: list[str] | None = Field(None, max_length=50)
    campaign: list[str] | None = Field(None, max_length=50)


class RoutingRule(BaseModel):
    model_config = StrictIn.model_config

    ruleId: str = Field(min_length=1, max_length=64)
    priority: int = Field(ge=0, le=1_000_000)
    when: When = Field(default_factory=When)
    destinationUrl: str = Field(max_length=4096)


class LinkIn(StrictIn):
    destinationUrl: str = Field(max_length=4096)
    title: str | None = Field(None, max_length=300)
    enabled: bool = True
    tags: list[str] = Field(default_factory=list, max_length=50)
    tracking: Tracking | None = None
    campaignId: str | None = Field(None, max_length=64)
    trackingPolicy: TrackingPolicy | None = None
    redirectType: Literal[302, 307] | None = None
    scheduledStartAt: str | None = Field(None, max_length=64, description="RFC 3339; a click before it answers 404")
    scheduledEndAt: str | None = Field(None, max_length=64, description="RFC 3339; a click after it answers 410")
    expiresAt: str | None = Field(None, max_length=64, description="RFC 3339; a click after it answers 410")
    maxClicks: int | None = Field(None, ge=1, le=10**12)
    passwordProtected: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=200, description="write-only: never returned")
    routingRules: list[RoutingRule] = Field(default_factory=list, max_length=50)


class PrimaryLinkIn(LinkIn):
    slug: str = Field(max_length=200)


class LinkOut(BaseModel):
    handle: str
    slug: str
    destinationUrl: str
    title: str | None
    enabled: bool
    tags: list[str]
    tracking: Tracking
    campaignId: str | None
    trackingPolicy: TrackingPolicy
    redirectType: Literal[302, 307]
    scheduledStartAt: str | None
    scheduledEndAt: str | None
    expiresAt: str | None
    maxClicks: int | None
    clickCount: int
    passwordProtected: bool
    routingRules: list[RoutingRule]
    createdAt: str
    updatedAt: str


class LinkList(BaseModel):
    items: list[LinkOut]
    nextCursor: str | None


class RoutePreviewIn(StrictIn):
    country: str | None = Field(None, max_length=8)
    device: Device | None = None
    source: str | None = Field(None, max_length=200)
    campaign: str | None = Field(None, max_length=200)


class Matched(BaseModel):
    kind: Literal["link_rule", "personalization_rule", "default"]
    ruleId: str | None


class RoutePreviewOut(BaseModel):
    destinationUrl: str
    matched: Matched
