"""The readiness matrix: for each campaign (and each of its variants), each step's state as
report.judgement judges it; and what changed since the last PASS on the same target."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from preflight.report import judgement
from preflight.report.judgement import COLUMNS, FAILED, NOT_CHECKED, PARTLY, PASSED, UNJUDGED

# A cell that did not pass in full never shows ✅: ⏸ could not judge (HOLD), ⏭ left out by choice.
ICON = {PASSED: "✅", FAILED: "❌", UNJUDGED: "⏸", NOT_CHECKED: "⏭", PARTLY: "⏭"}


def build(results: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """{"spring-ab": {"1": "passed", …}, "spring-ab · spring-a": {…}}: rows in result order,
    step keys in playbook order."""
    return {row: {key: cell.state for key, cell in steps.items()} for row, steps in judgement.rows(results).items()}


def line(steps: Mapping[str, str]) -> str:
    """A row as text: "1 ✅ · 2 ✅ · 4 ❌"."""
    return " · ".join(f"{n} {ICON[s]}" for n, s in steps.items())


def legend(keys: Iterable[str] | None = None) -> str:
    """The columns' names: all of them, or only `keys` (those a run's matrix has)."""
    wanted = set(keys) if keys is not None else None
    return " · ".join(f"{n} {feature}" for n, feature in COLUMNS if wanted is None or n in wanted)


def columns(rows: Mapping[str, Mapping[str, str]]) -> list[tuple[str, str]]:
    """The (key, title) columns a matrix has, in playbook order (every lifecycle step when it has none)."""
    present = {key for steps in rows.values() for key in steps}
    found = [(key, title) for key, title in COLUMNS if key in present]
    return found or [(key, title) for key, title in COLUMNS if not key.startswith("A")]


def changes(previous: Mapping[str, Mapping[str, str]], current: Mapping[str, Mapping[str, str]]) -> list[dict]:
    """Cells that were green in `previous` and are red now (a skip, by choice or unjudged, is not red)."""
    out = []
    for row, steps in current.items():
        for number, now in steps.items():
            was = previous.get(row, {}).get(number)
            if was == PASSED and now == FAILED:
                out.append({"row": row, "step": number, "was": was, "now": now})
    return out


def describe_changes(found: list[dict]) -> str:
    names = dict(COLUMNS)
    return "; ".join(
        f"{c['row']} · {c['step']} {names.get(str(c['step']), '')}: {ICON[c['was']]} → {ICON[c['now']]}" for c in found
    )
