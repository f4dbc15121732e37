"""The run history of one target in one reports folder (`<reports>/history/<target>.jsonl`):
one line per run with its id, verdict and readiness matrix, so a report can say which campaign
or step went from green to red since the last PASS."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from preflight.report import matrix as matrix_mod


def path_for(folder: str | Path, target: str) -> Path:
    return Path(folder) / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', target)}.jsonl"


def read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def append(path: Path, entry: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps(entry, sort_keys=True) + "\n")


def since_last_pass(entries: list[dict[str, Any]], current: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The last PASS before this run, and what went from green to red since."""
    last = next((e for e in reversed(entries) if e.get("verdict") == "PASS"), None)
    if last is None:
        return {"lastPass": None, "changes": [], "text": "no earlier PASS on this target"}
    found = matrix_mod.changes(last.get("matrix") or {}, current)
    text = matrix_mod.describe_changes(found) if found else "nothing went from green to red"
    return {
        "lastPass": {"runId": last.get("runId"), "finishedAt": last.get("finishedAt")},
        "changes": found,
        "text": f"since run {last.get('runId')} ({last.get('finishedAt')}): {text}",
    }
