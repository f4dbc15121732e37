"""The one finisher of a run's outputs, for a single run (harness.wrapup) and a merge of shards
(report.merge) alike: what changed since the last PASS (the run history), the shopper's journey's
block and side-by-side page, gate.json, summary.md, the Allure environment and executor, the
message to the people who must act (report.notify: once per run, never from a shard) and the
history line of this run. Whatever came before (retiring, escalating, joining shards) is the
caller's; what a run's outputs are is decided here once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.config.notify import NotifySettings
from preflight.core.clock import now_iso
from preflight.core.redact import redact_text
from preflight.report import allure, history, landing, matrix, notify
from preflight.report.facts import AUDIT, RunFacts
from preflight.report.gate import write_atomic, write_gate
from preflight.report.summary import write_summary

# What the run history keeps of each run (report.history reads it back).
HISTORY_KEYS = ("runId", "target", "verdict", "reason", "startedAt", "finishedAt", "matrix")
GATE, SUMMARY = "gate.json", "summary.md"


@dataclass
class Ending:
    """Where a run's outputs go and what names them."""

    out: Path  # the reports folder the gate, summary and landing/ are written to
    run_id: str | None
    target: str | None  # the target's name
    started_at: Any
    finished_at: Any = None  # now, unless a merge knows its shards' last end
    report_path: str | None = None  # the HTML report the gate and summary name
    history: Path | None = None  # the run history file; None: this run keeps none (it never started)
    browser_use: str | None = None  # how the browser was asked for; None: no browser block
    alluredir: Path | None = None  # the Allure results folder to describe (environment, executor)
    environment: dict[str, Any] = field(default_factory=dict)
    executor: dict[str, Any] = field(default_factory=dict)
    notify: NotifySettings | None = None  # who hears the verdict; None: the config was not read
    shown_at: Path | None = None  # where the outputs are read once the command is done (`out` may be staged)
    html_planned: str | None = None  # the HTML report the command builds after this (named in the message)


def history_file(folder: Path, target: str | None, mode: str) -> Path:
    """Per target and per reports folder; an audit's history is its own (its matrix has the audit's
    columns, not the lifecycle's)."""
    return history.path_for(folder, (target or "unknown") + (".audit" if mode == AUDIT else ""))


def finish(ending: Ending, results: list[dict[str, Any]], facts: RunFacts) -> dict[str, Any]:
    """Write the run's outputs into `ending.out` and answer its gate."""
    entries = history.read(ending.history) if ending.history is not None else []
    if ending.history is not None:
        facts.since_last_pass = history.since_last_pass(entries, matrix.build(results))
    if ending.browser_use is not None:
        facts.browser = browser_block(ending.out, results, ending.browser_use)
    finished = ending.finished_at or now_iso()
    common = dict(
        run_id=ending.run_id, target=ending.target, results=results, report_path=ending.report_path, facts=facts
    )
    write_gate(ending.out / GATE, started_at=ending.started_at or finished, finished_at=finished, **common)
    write_summary(ending.out / SUMMARY, started_at=ending.started_at or finished, finished_at=finished, **common)
    if ending.alluredir is not None:
        if ending.environment:
            allure.write_environment(ending.alluredir, ending.environment)
        allure.write_executor(ending.alluredir, ending.executor)
    gate = json.loads((ending.out / GATE).read_text(encoding="utf-8"))
    notice = tell(ending, gate, entries)
    if ending.history is not None:
        line = {key: gate.get(key) for key in HISTORY_KEYS}
        sent = notice.history_entry(gate) if notice else None
        history.append(ending.history, {**line, **({"notice": sent} if sent else {})})
    return gate


def tell(ending: Ending, gate: dict[str, Any], entries: list[dict[str, Any]]) -> notify.Notice | None:
    """The message to the people who must act (report.notify), and what became of it in the gate
    (`notify`, `notified`) and the summary. A receiver's trouble never changes the verdict."""
    notice = _notice(ending, gate, entries) if ending.notify is not None else None
    gate.update(notify=notice.gate_block() if notice else None, notified=notice.deliveries if notice else [])
    write_atomic(ending.out / GATE, json.dumps(gate, indent=2) + "\n")
    if notice is not None and ending.notify.active:  # a webhook's URL is set: say what became of the message
        with (ending.out / SUMMARY).open("a", encoding="utf-8") as summary:
            summary.write(f"\n{notify.summary_line(notice)}\n")
    return notice


def _notice(ending: Ending, gate: dict[str, Any], entries: list[dict[str, Any]]) -> notify.Notice:
    shown = ending.shown_at or ending.out
    html = ending.html_planned or ending.report_path
    html = html.replace(str(ending.out), str(shown), 1) if html else None
    try:
        return notify.run(ending.notify, gate, entries, notify.report_location(ending.notify, shown, html))
    except Exception as exc:  # a bug in the message must not cost the run its outputs or its verdict
        why = redact_text(f"the message could not be made: {type(exc).__name__}: {exc}")
        return notify.Notice(notify.Decision(False, why, None), ending.notify.on)


def browser_block(out: Path, results: list[dict[str, Any]], use: str) -> dict[str, Any] | None:
    """Did the shopper's journey run (and what did it block); the side-by-side page of its screenshots."""
    folder = out / landing.FOLDER
    facts = landing.browser_facts(results, folder, use=use)
    if facts is not None and facts.get("screenshots"):
        overview = landing.write_overview(folder)
        facts["overview"] = str(overview) if overview else None
    return facts
