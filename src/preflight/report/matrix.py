"""The readiness matrix: for each campaign (and each of its variants), each UC-07 step's state,
from the gate's results; and what changed since the last PASS on the same target."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from preflight.lifecycle.playbook import STEPS

PASSED, FAILED, SKIPPED, PARTLY = "passed", "failed", "skipped", "partly skipped"
ICON = {PASSED: "✅", FAILED: "❌", SKIPPED: "⏭", PARTLY: "⏭"}
BAD = ("failed", "error")
# The matrix's columns in playbook order: the audit's checks (A1…), then the lifecycle's steps
# (the readiness re-checks share the seventh).
NUMBERS = list({step.key: step.title for step in STEPS.values()}.items())
ORDER = {key: index for index, (key, _) in enumerate(NUMBERS)}


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
            cells.setdefault(row, {}).setdefault(step.key, []).append(result.get("outcome") or "")
    return {
        row: {key: state(outcomes) for key, outcomes in sorted(steps.items(), key=lambda kv: ORDER[kv[0]])}
        for row, steps in cells.items()
    }


def line(steps: Mapping[str, str]) -> str:
    """A row as text: "1 ✅ · 2 ✅ · 4 ❌"."""
    return " · ".join(f"{n} {ICON[s]}" for n, s in steps.items())


def legend(keys: Iterable[str] | None = None) -> str:
    """The columns' names: all of them, or only `keys` (those a run's matrix has)."""
    wanted = set(keys) if keys is not None else None
    return " · ".join(f"{n} {feature}" for n, feature in NUMBERS if wanted is None or n in wanted)


def columns(rows: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str]]:
    """The (key, title) columns a matrix has, in playbook order (every lifecycle step when it has none)."""
    present = {key for steps in rows.values() for key in steps}
    found = [(key, title) for key, title in NUMBERS if key in present]
    return found or [(key, title) for key, title in NUMBERS if not key.startswith("A")]


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
        f"{c['row']} · {c['step']} {names.get(str(c['step']), '')}: {ICON[c['was']]} → {ICON[c['now']]}" for c in found
    )
