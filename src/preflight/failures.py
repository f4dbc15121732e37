"""Failures the harness raises, each with a category from UC-07's failure modes.

A step raises PreflightFailure; its message starts with `[category]` so Allure
categories, the gate and a person reading the terminal all see the same name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preflight.exchange import Exchange

# category -> what it means. The names are fixed: allurerc.mjs and the gate match on them.
CATEGORIES: dict[str, str] = {
    "invalid_ctx": "a ctx the harness minted was refused",
    "stale_ctx_accepted": "a stale or foreign ctx was accepted",
    "missing_traffic_tags": "health drops because of traffic tags",
    "idempotency_dedupe": "a replay was counted twice, different keys were merged, or a key was reused",
    "lead_capture": "a valid lead was rejected or an invalid one accepted",
    "lead_missing_from_review": "a captured lead is absent from the list or the export",
    "publish_access_mode": "the page is not FREE_WITH_LOGIN after publish",
    "schema_fetch": "the schema fetch fails or disagrees with the publish",
    "health_mismatch": "PAT and JWT health disagree",
    "health_not_ready": "health is below the configured verdict for another reason",
    "auth": "a credential was refused (401/403)",
    "quota": "the daily write quota ran out",
    "throttled": "429 throttles persisted past the retry budget",
    "platform_error": "5xx or timeouts persisted past the retries",
    "contract_violation": "an answer was outside the contract (wrong shape or status)",
    "config": "the run's own config is wrong",
    "harness_error": "a bug in the harness itself",
}

# Failures of the harness or its config are not the platform's: never escalated.
NOT_ESCALATED = frozenset({"config", "harness_error"})


@dataclass(eq=False)
class PreflightFailure(AssertionError):
    category: str
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

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown failure category {self.category!r}")
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
            lines.append(f"  expected: {self.expected}")
            lines.append(f"  actual:   {self.actual}")
        ids = ", ".join(self.request_ids) or _no_ids(self.exchanges)
        lines.append(f"  request ids: {ids}")
        if self.failing_exchange is not None:
            lines.append(f"  exchange: {self.failing_exchange.label}")
        if self.next_step:
            lines.append(f"  next step: {self.next_step}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message


def _no_ids(exchanges: list[Exchange]) -> str:
    if any(ex.status is not None for ex in exchanges):
        return "none (the answers carried no request-id header; see the target's contract.request_id_headers)"
    return "none (no answer arrived)" if exchanges else "none (no request was made)"
