"""Destination domain bodies and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn

DomainStatus = Literal["VERIFIED", "PENDING", "REJECTED"]


class DomainIn(StrictIn):
    domain: str = Field(min_length=1, max_length=253)


class DomainOut(BaseModel):
    domain: str
    status: DomainStatus
    updatedAt: str


class DomainList(BaseModel):
    items: list[DomainOut]
    nextCursor: str | None
