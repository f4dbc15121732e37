"""Test and public conversion bodies and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn

CURRENCY = r"^[A-Z]{3}$"
EVENT_TYPE = r"^[a-z][a-z0-9_]{0,63}$"


class TestConversionIn(StrictIn):
    value: float | None = Field(None, ge=0, le=1e12)
    currency: str | None = Field(None, pattern=CURRENCY)
    ctx: str | None = Field(None, max_length=2000)
    slug: str | None = Field(
        None, max_length=200, description="sandbox extension: a variant to attribute to when no ctx is given"
    )


class TestConversionOut(BaseModel):
    testConversionId: str
    campaignId: str
    slug: str
    value: float
    currency: str
    test: Literal[True]
    recordedAt: str


class ConversionIn(StrictIn):
    ctx: str = Field(max_length=2000)
    eventType: str | None = Field(None, pattern=EVENT_TYPE)
    value: float | None = Field(None, ge=0, le=1e12)
    currency: str | None = Field(None, pattern=CURRENCY)
    test: bool = False


class ConversionOut(BaseModel):
    conversionId: str
    campaignId: str
    slug: str
    eventType: str
    value: float
    currency: str
    test: bool
    deduped: bool
    dedupeReason: Literal["click_event"] | None = None
