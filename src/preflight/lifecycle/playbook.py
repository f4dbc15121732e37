"""UC-07's playbook: the lifecycle steps in order."""

from __future__ import annotations

from typing import NamedTuple


class Step(NamedTuple):
    order: int
    feature: str  # the step in words
    number: int  # its place in UC-07's playbook (the readiness re-checks share the last one)

    @property
    def group(self) -> str:
        """How the report names it, numbered so it sorts in playbook order: "1 · Campaign health"."""
        return f"{self.number} · {self.feature}"


# UC-07 "How Gharart Debugs It", in order; the readiness steps re-check JWT and PAT health
# once every step has wired the campaign.
STEPS: dict[str, Step] = {
    "health": Step(1, "Campaign health", 1),
    "pat_health": Step(2, "PAT health", 2),
    "lead_capture": Step(3, "Lead capture", 3),
    "test_conversion": Step(4, "Test conversion", 4),
    "publish": Step(5, "Detail page publish", 5),
    "conversion": Step(6, "Public conversion", 6),
    "readiness": Step(7, "Readiness", 7),
    "pat_readiness": Step(8, "Readiness", 7),
}
