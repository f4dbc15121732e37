"""`preflight approve`: the first screens of the last run in a reports folder become the approved
looks its later runs (and audits) are held against (`lifecycle/steps/landing_look.py`).

Reads the run's gate (which journeys ran, and how they ended) and the first screens it kept in
`<reports>/landing/`; stores one PNG per campaign, configured variant and viewport beside the config
(`browser/baselines.py`). A run whose journey failed for any reason but the look itself, or whose
journey was not walked (no browser, not selected, a page that did not load), is refused, saying
why: only a page that works is worth approving. A journey that failed only because its page looks
changed is what approving a new creative is for.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.browser.baselines import Baselines
from preflight.lifecycle.steps.landing_look import LOOK_CHANGED
from preflight.report import landing

BAD = ("failed", "error")


class Refused(Exception):
    """The run cannot be approved (the message says why and what to do, one line a reason)."""


@dataclass(frozen=True)
class Candidate:
    campaign: str
    variant: str
    viewport: str
    png: Path
    url: str | None


@dataclass(frozen=True)
class ApprovedFile:
    candidate: Candidate
    path: Path


def read_gate(reports: Path) -> dict[str, Any]:
    path = reports / "gate.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise Refused(f"no run to approve in {reports}/ (no gate.json): run `preflight run` first") from None


def candidates(reports: Path, gate: dict[str, Any], *, variants: list[str], viewports: list[str]) -> list[Candidate]:
    """The first screens to approve, or Refused saying why the run (or a variant of it) cannot be."""
    journeys = [r for r in gate.get("results") or [] if r.get("step") in landing.STEPS and r.get("variant")]
    if not journeys:
        raise Refused(
            f"the run {gate.get('runId')} in {reports}/ walked no shopper's journey (browser.use off, or the journey "
            "not selected): run `preflight run` with the browser on, then approve"
        )
    _known(variants, sorted({r["variant"] for r in journeys}), "variant")
    chosen = [r for r in journeys if not variants or r["variant"] in variants]
    shots = _shots(reports, chosen)
    _known(viewports, sorted({viewport for (_, _, viewport) in shots}), "viewport")
    expected = viewports or sorted({viewport for (_, _, viewport) in shots})
    problems = [line for result in chosen for line in _problems(result, shots, expected)]
    if problems:
        raise Refused("; ".join(problems))
    return [shot for key, shot in sorted(shots.items()) if not viewports or key[2] in viewports]


def store(found: list[Candidate], folder: Path, run_id: str | None) -> list[ApprovedFile]:
    looks = Baselines(folder)
    return [
        ApprovedFile(c, looks.store(c.campaign, c.variant, c.viewport, c.png.read_bytes(), run_id=run_id, url=c.url))
        for c in found
    ]


def _shots(reports: Path, chosen: list[dict[str, Any]]) -> dict[tuple[str, str, str], Candidate]:
    wanted = {(r["campaign"], r["variant"]) for r in chosen}
    shots = {}
    for entry in landing.entries(reports / landing.FOLDER):
        look = entry.get("look") or {}
        now = (look.get("files") or {}).get("now")
        if (entry.get("campaign"), entry.get("variant")) not in wanted or not now:
            continue
        viewport = (entry.get("viewport") or {}).get("name", "?")
        png = Path(entry["_dir"]) / now
        shots[(entry["campaign"], entry["variant"], viewport)] = Candidate(
            entry["campaign"], entry["variant"], viewport, png, look.get("url")
        )
    return shots


def _problems(result: dict[str, Any], shots: dict, viewports: list[str]) -> list[str]:
    name = f"{result['campaign']}/{result['variant']}"
    first_line = (result.get("message") or "no reason given").splitlines()[0]
    if result.get("outcome") in BAD and result.get("cause") != LOOK_CHANGED:
        return [f"{name}: its journey failed ({first_line}): fix it, run again, then approve"]
    taken = {viewport for (campaign, variant, viewport) in shots if (campaign, variant) == _key(result)}
    if not taken:
        why = first_line if result.get("outcome") == "skipped" else "no first screen was kept"
        return [f"{name}: its journey was not walked ({why}): run it with a browser, then approve"]
    missing = [viewport for viewport in viewports if viewport not in taken]
    return [f"{name}: no first screen on {', '.join(missing)} in this run"] if missing else []


def _key(result: dict[str, Any]) -> tuple[str, str]:
    return result["campaign"], result["variant"]


def _known(given: list[str], names: list[str], what: str) -> None:
    for name in given:
        if name not in names:
            guess = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            raise Refused(f"--{what} {name}: not a {what} of the run's journeys ({', '.join(names)}){hint}")
