"""gate.json (the machine verdict) and summary.md (the human one, GitHub step-summary ready).

Both are built from the per-test result records of DESIGN.md:
{"nodeid", "step", "campaignId", "slug", "outcome", "message", "category", "requestIds",
 "escalation", "ticketId"}. junit.xml comes from pytest's --junitxml, not from here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preflight.classify import NEXT_STEPS
from preflight.lifecycle import STEPS
from preflight.redact import redact_obj, redact_text

RESULT_KEYS = ("nodeid", "step", "campaignId", "slug", "outcome", "message", "requestIds", "category",
               "escalation", "ticketId")
ERROR_CATEGORIES = frozenset({"harness_error", "config"})
BAD_OUTCOMES = frozenset({"failed", "error"})
ICONS = {"PASS": "✅", "FAIL": "❌", "ERROR": "💥", "passed": "✅", "failed": "❌", "error": "❌", "skipped": "⏭"}
# UC-07's order, so the summary's columns read like the playbook; unknown steps follow in run order.
STEP_ORDER = tuple(STEPS)

Result = Mapping[str, Any]


def compute_verdict(results: Iterable[Result], problem: str | None = None) -> str:
    """PASS: all passed or skipped and at least one passed. ERROR: a harness or config failure,
    or the run could not start (`problem` says why, or nothing ran at all). FAIL: anything else."""
    results = list(results)
    if problem or not results:
        return "ERROR"
    if any(_category(r) in ERROR_CATEGORIES for r in results):
        return "ERROR"
    if any(r.get("outcome") in BAD_OUTCOMES for r in results):
        return "FAIL"
    if not any(r.get("outcome") == "passed" for r in results):
        return "FAIL"  # all skipped: nothing was proven, so spend must not ramp
    return "PASS"


def _category(result: Result) -> str | None:
    # A failure nobody classified is a gap in the harness's own plumbing, so it counts as ours.
    if result.get("outcome") in BAD_OUTCOMES and not result.get("category"):
        return "harness_error"
    return result.get("category")


def normalise(result: Result) -> dict[str, Any]:
    """One result with exactly the gate's keys, redacted."""
    out = {key: result.get(key) for key in RESULT_KEYS}
    out["requestIds"] = list(result.get("requestIds") or [])
    return redact_obj(out)


def write_gate(path: str | Path, *, run_id: str | None, target: str | None, started_at: Any, finished_at: Any,
               results: Iterable[Result], report_path: str | Path | None, problem: str | None = None,
               leftovers: list[dict] | None = None) -> Path:
    """gate.json; `problem` is why the run could not start (it makes the verdict ERROR);
    `leftovers` is what the throwaway campaigns left on the platform after teardown."""
    results = [normalise(r) for r in results]
    doc = {
        "verdict": compute_verdict(results, problem),
        "runId": run_id,
        "target": target,
        "startedAt": _time(started_at),
        "finishedAt": _time(finished_at),
        "reportPath": str(report_path) if report_path else None,
        "problem": redact_text(problem) if problem else None,
        "results": results,
        "leftovers": redact_obj(leftovers or []),
    }
    return _write(Path(path), json.dumps(doc, indent=2) + "\n")


def _time(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _write(path: Path, text: str) -> Path:
    # Write then rename: a CI step reading gate.json never sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


# -- summary.md ----------------------------------------------------------------------------

def write_summary(path: str | Path, *, run_id: str | None, target: str | None, results: Iterable[Result],
                  report_path: str | Path | None, started_at: Any = None, finished_at: Any = None,
                  problem: str | None = None) -> Path:
    """summary.md, valid GitHub-flavoured markdown to append to $GITHUB_STEP_SUMMARY."""
    return _write(Path(path), render_summary(run_id=run_id, target=target, results=results,
                                             report_path=report_path, started_at=started_at,
                                             finished_at=finished_at, problem=problem))


def render_summary(*, run_id: str | None, target: str | None, results: Iterable[Result],
                   report_path: str | Path | None, started_at: Any = None, finished_at: Any = None,
                   problem: str | None = None) -> str:
    # The failing exchange's ids (when the collector has them) say more than every id of the test.
    results = [{**normalise(r), "failingRequestIds": list(r.get("failingRequestIds") or [])} for r in results]
    verdict = compute_verdict(results, problem)
    when = f" · {_time(started_at)} → {_time(finished_at)}" if started_at and finished_at else ""
    parts = [f"## campaign-preflight: {ICONS[verdict]} {verdict}", "",
             f"Run `{_code(run_id or 'n/a')}` against `{_code(target or 'n/a')}`{when}: {_counts(results)}.", ""]
    if problem:
        parts += [f"> **The run could not start:** {_inline(problem)}", ""]
    parts += _table(results) + [""]
    parts += _failures(results)
    parts += [f"Report: `{_code(str(report_path))}`" if report_path else "Report: not built", ""]
    return "\n".join(parts)


def _counts(results: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"] or "unknown"] = counts.get(r["outcome"] or "unknown", 0) + 1
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no results"


def _steps(results: list[dict]) -> list[str]:
    seen = list(dict.fromkeys(r["step"] or "(no step)" for r in results))
    return [s for s in STEP_ORDER if s in seen] + [s for s in seen if s not in STEP_ORDER]


def _table(results: list[dict]) -> list[str]:
    if not results:
        return ["_No results: no test ran (the run did not start, or the selection matched nothing)._"]
    steps = _steps(results)
    campaigns = list(dict.fromkeys(r["campaignId"] or "(no campaign)" for r in results))
    rows = ["| campaign | " + " | ".join(_inline(s) for s in steps) + " |",
            "|---|" + "---|" * len(steps)]
    for campaign in campaigns:
        cells = []
        for step in steps:
            group = [r for r in results
                     if (r["campaignId"] or "(no campaign)") == campaign and (r["step"] or "(no step)") == step]
            cells.append(_verdict_cell(group))
        rows.append(f"| {_inline(campaign)} | " + " | ".join(cells) + " |")
    return rows


def _verdict_cell(group: list[dict]) -> str:
    """✅ all passed (skips allowed), ⏭ all skipped, ❌ plus the failing slugs otherwise."""
    if not group:
        return "—"
    bad = [r for r in group if r["outcome"] in BAD_OUTCOMES]
    if bad:
        slugs = sorted({r["slug"] for r in bad if r["slug"]})
        return "❌" + (f" {_inline(', '.join(slugs))}" if slugs else "")
    if all(r["outcome"] == "skipped" for r in group):
        return "⏭"
    return "✅"


def _failures(results: list[dict]) -> list[str]:
    bad = [r for r in results if r["outcome"] in BAD_OUTCOMES]
    if not bad:
        return []
    lines = ["### Failures", ""]
    for r in bad:
        category = _category(r)
        escalation = f"`{_code(r['escalation'])}`" if r["escalation"] else "none"
        if r["ticketId"]:
            escalation += f" (ticket `{_code(r['ticketId'])}`)"
        ids = ", ".join(f"`{_code(i)}`" for i in r["failingRequestIds"] or r["requestIds"]) or "none"
        lines += [
            f"#### {ICONS[r['outcome']]} `{_code(r['nodeid'] or '?')}`",
            "",
            f"- **category:** `{category}`",
            f"- **message:** {_inline(_first_line(r['message']))}",
            f"- **request ids:** {ids}",
            f"- **next step:** {_inline(_next_step(r['message'], category))}",
            f"- **escalation:** {escalation}",
            "",
        ]
    return lines


def _first_line(message: str | None) -> str:
    lines = (message or "").strip().splitlines()
    return lines[0] if lines else "(no message)"


def _next_step(message: str | None, category: str) -> str:
    # A PreflightFailure's message carries its own next step; otherwise the category's default.
    for line in (message or "").splitlines():
        if line.strip().startswith("next step:"):
            return line.split("next step:", 1)[1].strip()
    return NEXT_STEPS.get(category, "")


def _code(text: str) -> str:
    return str(text).replace("`", "'").replace("\n", " ")


def _inline(text: str) -> str:
    # Keep a message from turning into markdown structure (tables, headings, html).
    text = redact_text(str(text)).replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
