"""Failures the harness raises, each with a category from UC-07's failure modes.

A step raises PreflightFailure; its message starts with `[category]` so Allure
categories, the gate and a person reading the terminal all see the same name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from preflight.core.categories import NOT_ESCALATED, PARTIES, Category, party
from preflight.http.exchange import Exchange


@dataclass(eq=False)
class PreflightFailure(AssertionError):
    category: Category
    summary: str
    expected: Any = None
    actual: Any = None
    next_step: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    state_before: Any = None
    state_after: Any = None
    # Set when this repeats an earlier failure (e.g. a campaign whose setup failed): the
    # earlier one carries the escalation, so support gets one ticket per root cause.
    duplicate_of: str | None = None
    # The root cause in words, without ids, slugs or campaign names: failures with the same
    # category and cause are one platform defect and share one escalation.
    cause: str = ""
    # False for a finding the user must fix themselves (e.g. their config leaves a tag out).
    escalate: bool = True
    # The lifecycle steps whose failure (in the same campaign) would explain this one: a lagging
    # health check follows from the step that feeds it, and joins that root cause's report.
    follows: tuple[str, ...] = ()
    # Who must act (core.categories.party): the category's party unless this finding says otherwise,
    # e.g. `attribution` is the marketer's when their own link switches the ctx off. Only the
    # platform's findings are escalated; a marketer's still fails the verdict.
    party: str | None = None

    def __post_init__(self) -> None:
        self.category = Category(self.category)  # a string that names no category fails here
        self.party = self.party or party(self.category)
        if self.party not in PARTIES:
            raise ValueError(f"party {self.party!r} is none of {', '.join(PARTIES)}")
        if self.category in NOT_ESCALATED or self.party != "platform":
            self.escalate = False
        super().__init__(self.message)

    @property
    def request_ids(self) -> list[str]:
        return [ex.request_id for ex in self.exchanges if ex.request_id]

    @property
    def failing_exchange(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    @property
    def message(self) -> str:
        lines = [f"[{self.category}] {self.summary}"]
        if self.expected is not None or self.actual is not None:
            lines.append(f"  expected: {plain(self.expected)}")
            lines.append(f"  actual:   {plain(self.actual)}")
        ids = ", ".join(self.request_ids) or _no_ids(self.exchanges)
        lines.append(f"  request ids: {ids}")
        if self.failing_exchange is not None:
            lines.append(f"  exchange: {self.failing_exchange.label}")
        if self.next_step:
            lines.append(f"  next step: {self.next_step}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message


def plain(value: Any) -> str:
    """A value as a person reads it: enums by their value, containers as JSON, no Python reprs."""
    if isinstance(value, str):
        return str(value)  # a StrEnum is a str: its value, not <AccessMode.…>
    if isinstance(value, Enum):
        return str(value.value)
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return str(value)


def _no_ids(exchanges: list[Exchange]) -> str:
    if any(ex.status is not None for ex in exchanges):
        return "none (the answers carried no request-id header; see the target's contract.request_id_headers)"
    return "none (no answer arrived)" if exchanges else "none (no request was made)"


class Unjudged(Exception):
    """A check in scope that could not judge, and why (no data, a route that answers 404/405, numbers
    lagging past the wait, a value it cannot read, a missing tool): never a pass and never a failure.
    The run's verdict is HOLD unless something was found; `fix` is the one thing that makes it
    judgeable (set `flight`, grant `analytics.read`, wait for the analytics, install Chromium…)."""

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


class NotChecked(Exception):
    """A check the user left out on purpose (no --click, a policy switched off, a selection that left
    out what it builds on): listed as "not checked, by choice" with what it would have caught, never
    a pass, and no HOLD."""

    def __init__(self, reason: str, would_catch: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.would_catch = would_catch
