"""Site structure (campaign detail page) bodies and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from preflight.sandbox.core.web import StrictIn

AccessMode = Literal["PUBLIC", "FREE_WITH_LOGIN", "PAID"]
PAGE_SLUG = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"


class SiteStructureIn(StrictIn):
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    detailsPageSlug: str | None = Field(None, pattern=PAGE_SLUG)
    accessMode: AccessMode
    structureType: str | None = Field(None, min_length=1, max_length=64)
    page_schema: dict[str, Any] = Field(alias="schema")
    schemaVersion: int = Field(ge=0, le=2**31)


class PublishIn(StrictIn):
    """Publish takes no fields (an idempotencyKey may ride along)."""


class Published(BaseModel):
    schemaVersion: int
    deploymentId: str
    schemaS3Key: str
    publishedAt: str
    url: str
    accessMode: AccessMode


class SiteStructureOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    campaignId: str
    detailsPageSlug: str | None
    accessMode: AccessMode
    structureType: str
    schemaVersion: int
    page_schema: dict[str, Any] = Field(alias="schema")
    published: Published | None


class PublishOut(BaseModel):
    deploymentId: str
    schemaVersion: int
    schemaS3Key: str
    detailsPageSlug: str
    accessMode: AccessMode
    url: str
    publishedAt: str


class PublishedPage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    campaignId: str
    detailsPageSlug: str
    accessMode: AccessMode
    schemaVersion: int
    deploymentId: str
    page_schema: dict[str, Any] = Field(alias="schema")
