"""gate.json: the machine verdict of a run (the CI gate), with what the run knows of itself.

The verdict is report.judgement's; summary.md (the human one) is report.summary; junit.xml comes
from pytest's --junitxml, not from here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preflight.core.redact import redact_obj, redact_text
from preflight.report import judgement, matrix
from preflight.report.facts import RunFacts

RESULT_KEYS = (
    "nodeid",
    "step",
    "campaign",
    "variant",
    "campaignId",
    "slug",
    "outcome",
    "message",
    "requestIds",
    "category",
    "escalation",
    "ticketId",
    "worker",
)
# Kept on a result when it has them: its root cause, who must act and what to do, an audit's funnel
# numbers, and why a skipped test did not judge.
RESULT_EXTRAS = (
    "cause",
    "party",
    "nextStep",
    "consequenceOf",
    "failingRequestIds",
    "funnel",
    "skip",  # a skipped test's kind: unjudged (HOLD) or by choice
    "fix",  # what makes an unjudged check judgeable
    "wouldCatch",  # what a check left out by choice would have caught
    "notChecked",  # parts of a test's check its config leaves out (each: what, why, wouldCatch)
)

Result = Mapping[str, Any]


def normalise(result: Result) -> dict[str, Any]:
    """One result with the gate's keys (and its root cause and skip reason when it has them), redacted."""
    out = {key: result.get(key) for key in RESULT_KEYS}
    out["requestIds"] = list(result.get("requestIds") or [])
    for extra in RESULT_EXTRAS:
        if result.get(extra):
            out[extra] = result[extra]
    return redact_obj(out)


def document(
    *,
    run_id: str | None,
    target: str | None,
    started_at: Any,
    finished_at: Any,
    results: Iterable[Result],
    report_path: str | Path | None,
    facts: RunFacts,
) -> dict[str, Any]:
    results = [normalise(r) for r in results]
    verdict, reason = judgement.verdict(results, facts)
    return {
        "verdict": verdict,
        "reason": redact_text(reason),
        "exitCode": judgement.exit_code(verdict),
        "runId": run_id,
        "target": target,
        "startedAt": time_text(started_at),
        "finishedAt": time_text(finished_at),
        "reportPath": str(report_path) if report_path else None,
        "problem": redact_text(facts.problem) if facts.problem else None,
        "problemCategory": facts.problem_category,
        "tests": {
            "planned": facts.planned,
            "selected": facts.selected,
            "ran": len(results),
            "selection": facts.selection,
            "stopped": facts.stopped,
            "unfinished": facts.unfinished,
        },
        "results": results,
        # Always present (empty on a PASS): what could not judge, and what was left out by choice.
        "unjudged": redact_obj(judgement.unjudged(results, facts)),
        "notChecked": redact_obj(judgement.not_checked(results, facts)),
        "escalations": redact_obj(facts.escalations),
        "leftovers": redact_obj(facts.leftovers),
        "cleanup": redact_obj(facts.cleanup),
        "writePlan": facts.write_plan,
        "pacing": facts.pacing,
        "matrix": matrix.build(results),
        "sinceLastPass": facts.since_last_pass,
        "shard": facts.shard,
        "browser": redact_obj(facts.browser),
        "mode": facts.mode,
        **({"audit": facts.audit} if facts.audit is not None else {}),
        **({"shards": redact_obj(facts.shards)} if facts.shards is not None else {}),
    }


def write_gate(
    path: str | Path,
    *,
    run_id: str | None,
    target: str | None,
    started_at: Any,
    finished_at: Any,
    results: Iterable[Result],
    report_path: str | Path | None,
    facts: RunFacts | None = None,
) -> Path:
    doc = document(
        run_id=run_id,
        target=target,
        started_at=started_at,
        finished_at=finished_at,
        results=results,
        report_path=report_path,
        facts=facts or RunFacts(),
    )
    return write_atomic(Path(path), json.dumps(doc, indent=2) + "\n")


def time_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write_atomic(path: Path, text: str) -> Path:
    # Write then rename: a CI step reading gate.json never sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def funnels(results: Iterable[Result]) -> list[dict[str, Any]]:
    """The audit's funnel of each live campaign (one per campaign, in result order)."""
    seen: dict[str, dict[str, Any]] = {}
    for result in results:
        funnel = result.get("funnel")
        if isinstance(funnel, dict) and funnel.get("campaignId"):
            seen.setdefault(funnel["campaignId"], funnel)
    return list(seen.values())
