"""The shards of one run (`--shard I/N`, one CI job each), as `preflight merge` finds them: each
folder's gate, or why there is none, and whether the shards that came add up to the whole run (N
comes from the shards' own gates, or --expect; a shard missing or given twice, different configs or
targets, or a campaign on no shard or on two, is a reason they do not)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.lifecycle.shard import assign


@dataclass
class ShardRun:
    """One folder given to the merge: its gate, or why there is none."""

    folder: Path
    gate: dict[str, Any] | None = None
    problem: str | None = None

    @property
    def shard(self) -> dict[str, Any]:
        return (self.gate or {}).get("shard") or {}

    @property
    def label(self) -> str:
        shard = self.shard
        return f"shard {shard.get('index')}/{shard.get('total')}" if shard else str(self.folder)


def read(folder: str | Path) -> ShardRun:
    folder = Path(folder)
    path = folder / "gate.json"
    if not folder.is_dir():
        return ShardRun(folder, problem=f"{folder}: no such folder")
    if not path.is_file():
        return ShardRun(
            folder,
            problem=f"{folder}: no gate.json (the shard stopped before it wrote one, or its reports were not uploaded)",
        )
    try:
        gate = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return ShardRun(folder, problem=f"{path}: not a readable gate ({exc})")
    if not isinstance(gate, dict) or not gate.get("shard"):
        return ShardRun(
            folder,
            gate if isinstance(gate, dict) else None,
            problem=f"{path} is not a shard's gate (it has no `shard`): run each shard with --shard I/N",
        )
    return ShardRun(folder, gate)


# -- which shards came, and do they add up ------------------------------------------------------


def check(runs: list[ShardRun], expect: int | None) -> tuple[int | None, list[str]]:
    """The number of shards, and every reason the shards cannot stand for the whole run."""
    problems = [run.problem for run in runs if run.problem]
    sharded = [run for run in runs if not run.problem]
    totals = {run.shard.get("total") for run in sharded} | ({expect} if expect else set())
    if len(totals) > 1:
        problems.append(
            f"the shards disagree on how many there are: {', '.join(map(str, sorted(totals)))} "
            "(were they run with the same --shard N?)"
        )
        return None, problems
    total = totals.pop() if totals else None
    if total is None:
        return None, problems + ["no shard's gate was found: cannot tell how many shards there were"]
    problems += _indices(sharded, total)
    configured = _configured(sharded)
    if len(configured) > 1:
        problems.append("the shards ran different configs: " + " vs ".join(", ".join(stems) for stems in configured))
    elif configured:
        problems += _campaigns_once(sharded, configured.pop(), total)
    targets = {run.gate.get("target") for run in sharded}
    if len(targets) > 1:
        problems.append(f"the shards ran against different targets: {', '.join(sorted(map(str, targets)))}")
    # Every shard counts the whole config's tests before it deselects the others'.
    planned = {(run.gate.get("tests") or {}).get("planned") for run in sharded} - {None}
    if len(planned) > 1:
        problems.append(
            f"the shards collected different suites ({' vs '.join(map(str, sorted(planned)))} tests "
            "planned): were they run from the same checkout?"
        )
    return total, problems


def _indices(runs: list[ShardRun], total: int) -> list[str]:
    problems = []
    seen: dict[int, list[ShardRun]] = {}
    for run in runs:
        seen.setdefault(run.shard.get("index"), []).append(run)
    configured = next((run.shard.get("configured") for run in runs if run.shard.get("configured")), None)
    expected = assign(configured, total) if configured else {}
    for index in range(1, total + 1):
        found = seen.get(index, [])
        if not found:
            held = expected.get(index)
            campaigns = f" (campaigns {', '.join(held)})" if held else " (no campaign)" if held == [] else ""
            problems.append(f"shard {index}/{total} is missing{campaigns}: no folder given holds its gate")
        elif len(found) > 1:
            problems.append(f"shard {index}/{total} is given twice: {', '.join(str(r.folder) for r in found)}")
    return problems


def _configured(runs: list[ShardRun]) -> list[tuple[str, ...]]:
    return list(dict.fromkeys(tuple(run.shard["configured"]) for run in runs if run.shard.get("configured")))


def _campaigns_once(runs: list[ShardRun], configured: tuple[str, ...], total: int) -> list[str]:
    """Every configured campaign ran on exactly one of the shards that came."""
    came = {run.shard.get("index") for run in runs}
    on: dict[str, list[str]] = {stem: [] for stem in configured}
    for run in runs:
        for stem in run.shard.get("campaigns") or []:
            on.setdefault(stem, []).append(run.label)
    problems = []
    expected = assign(configured, total)
    for stem, shards in on.items():
        owner = next((index for index, stems in expected.items() if stem in stems), None)
        if len(shards) > 1:
            problems.append(f"campaign {stem} ran on {len(shards)} shards ({', '.join(shards)})")
        elif not shards and owner in came:
            problems.append(f"campaign {stem} ran on no shard (shard {owner}/{total} should have run it)")
    return problems
