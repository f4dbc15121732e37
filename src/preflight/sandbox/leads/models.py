"""Lead bodies and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn

LeadStatus = Literal["CAPTURED", "PENDING_VERIFICATION"]


class LeadIn(StrictIn):
    campaignId: str = Field(max_length=64)
    email: str = Field(max_length=1000)
    name: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=5000)
    formId: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=200)
    pageUrl: str | None = Field(None, max_length=2000)
    ctx: str = Field(max_length=2000)
    ten_x_hp: str | None = Field(None, max_length=1000, description="honeypot: leave empty")


class LeadOut(BaseModel):
    leadId: str
    campaignId: str
    slug: str
    status: LeadStatus
    createdAt: str
    deduped: bool


class HoneypotOut(BaseModel):
    status: Literal["ACCEPTED"]


class LeadRow(BaseModel):
    leadId: str
    campaignId: str
    slug: str
    email: str
    name: str | None
    status: LeadStatus
    createdAt: str


class LeadList(BaseModel):
    items: list[LeadRow]
    nextCursor: str | None
