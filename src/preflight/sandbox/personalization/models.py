"""Personalization rule bodies and answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn
from preflight.sandbox.links.models import RoutingRule, When


class RuleIn(StrictIn):
    priority: int = Field(ge=0, le=1_000_000)
    enabled: bool = True
    slugs: list[str] | None = Field(None, max_length=200)
    when: When = Field(default_factory=When)
    destinationUrl: str = Field(max_length=4096)


class RuleOut(RoutingRule):
    enabled: bool
    slugs: list[str] | None
    updatedAt: str


class RuleList(BaseModel):
    items: list[RuleOut]
    nextCursor: str | None
