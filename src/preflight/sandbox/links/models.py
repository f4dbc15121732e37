"""Link bodies and answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn


class Tracking(BaseModel):
    """The traffic tags. A tag that is missing reads back absent."""

    model_config = StrictIn.model_config

    utmSource: str | None = Field(None, max_length=200)
    utmMedium: str | None = Field(None, max_length=200)
    utmCampaign: str | None = Field(None, max_length=200)


class LinkIn(StrictIn):
    destinationUrl: str = Field(max_length=4096)
    title: str | None = Field(None, max_length=300)
    enabled: bool = True
    tags: list[str] = Field(default_factory=list, max_length=50)
    tracking: Tracking | None = None
    campaignId: str | None = Field(None, max_length=64)


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
    createdAt: str
    updatedAt: str


class LinkList(BaseModel):
    items: list[LinkOut]
    nextCursor: str | None
