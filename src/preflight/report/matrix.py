"""The readiness matrix: for each campaign (and each of its variants), each UC-07 step's state,
from the gate's results; and what changed since the last PASS on the same target."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from preflight.lifecycle.playbook import STEPS

PASSED, FAILED, SKIPPED, PARTLY = "passed", "failed", "skipped", "partly skipped"
ICON = {PASSED: "✅", FAILED: "❌", SKIPPED: "⏭", PARTLY: "⏭"}
BAD = ("failed", "error")
# The report's step numbers (the readiness re-checks share the seventh), in playbook order.
NUMBERS = sorted({step.number: step.title for step in STEPS.values()}.items())


def state(outcomes: Iterable[str]) -> str:
    """One cell: failed if any failed; skipped if all skipped; partly skipped; else passed."""
    outcomes = list(outcomes)
    if any(o in BAD for o in outcomes):
        return FAILED
    skipped = sum(o == "skipped" for o in outcomes)
    if skipped == len(outcomes):
        return SKIPPED
    return PARTLY if skipped else PASSED


def build(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """{"spring-ab": {"1": "passed", …}, "spring-ab · spring-a": {…}}: rows in result order,
    step numbers as keys in playbook order."""
    cells: dict[str, dict[int, list[str]]] = {}
    for result in results:
        step = STEPS.get(result.get("step") or "")
        campaign = result.get("campaign") or result.get("campaignId")
        if step is None or not campaign:
            continue
        rows = [campaign] + ([f"{campaign} · {result['variant']}"] if result.get("variant") else [])
        for row in rows:
            cells.setdefault(row, {}).setdefault(step.number, []).append(result.get("outcome") or "")
    return {row: {str(n): state(outcomes) for n, outcomes in sorted(steps.items())} for row, steps in cells.items()}


def line(steps: Mapping[str, str]) -> str:
    """A row as text: "1 ✅ · 2 ✅ · 4 ❌"."""
    return " · ".join(f"{n} {ICON[s]}" for n, s in steps.items())


def legend() -> str:
    return " · ".join(f"{n} {feature}" for n, feature in NUMBERS)


def changes(previous: Mapping[str, Mapping[str, str]], current: Mapping[str, Mapping[str, str]]) -> list[dict]:
    """Cells that were green in `previous` and are red now (a skip, e.g. by a selection, is not red)."""
    out = []
    for row, steps in current.items():
        for number, now in steps.items():
            was = previous.get(row, {}).get(number)
            if was == PASSED and now == FAILED:
                out.append({"row": row, "step": number, "was": was, "now": now})
    return out


def describe_changes(found: list[dict]) -> str:
    names = dict(NUMBERS)
    return "; ".join(
        f"{c['row']} · {c['step']} {names.get(int(c['step']), '')}: {ICON[c['was']]} → {ICON[c['now']]}" for c in found
    )
