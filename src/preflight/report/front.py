"""What the report's first screen says. Allure 3's awesome report shows a "Variables" block,
expanded above the test tree: short chips, six before "Show more". So the first six answer
"ready for spend?" (the verdict, each campaign, what is left enabled, what changed since the
last PASS, the root causes), and the readiness matrix in full (each campaign and variant by
UC-07 step) is a global attachment, one click away; the report's name carries the verdict."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from preflight.report import matrix

CAMPAIGN_VIEW = "by-campaign"  # the second view's folder inside the report
MATRIX_FILE = "readiness-matrix.html"
# Symbols that every font has (the emoji of summary.md render as boxes in some browsers).
MARK = {matrix.PASSED: "✓", matrix.FAILED: "✗", matrix.SKIPPED: "skip", matrix.PARTLY: "✓ (some skipped)"}


def context(
    gate: dict[str, Any],
    *,
    view: str,
    history_path: Path | None,
    single_file: bool = False,
    attachments: list[str] = (),
) -> dict:
    """The JSON allurerc.mjs reads (PREFLIGHT_REPORT_CONTEXT) for one view of the report."""
    name = f"campaign-preflight · {gate.get('verdict')} · run {gate.get('runId')} · {gate.get('target')}"
    return {
        "name": name,
        "view": view,
        "variables": variables(gate, view=view),
        "historyPath": str(history_path) if history_path else None,
        "appendHistory": view == "step",
        "singleFile": single_file,
        "globalAttachments": list(attachments),
    }


def variables(gate: dict[str, Any], *, view: str) -> dict[str, str]:
    rows = gate.get("matrix") or {}
    campaigns = {row: steps for row, steps in rows.items() if " · " not in row}
    ready = [row for row, steps in campaigns.items() if matrix.FAILED not in steps.values()]
    out = {"Verdict": verdict(gate)}
    out["Ready for spend"] = (
        f"{len(ready)} of {len(campaigns)} campaign(s)" if gate.get("verdict") != "ERROR" else "not judged (ERROR)"
    )
    out.update({row: _campaign(steps) for row, steps in campaigns.items()})
    out["Left enabled"] = _leftovers(gate)
    if gate.get("sinceLastPass"):
        changes = gate["sinceLastPass"]
        out["Since the last PASS"] = (
            "no earlier PASS"
            if not changes.get("lastPass")
            else f"{len(changes['changes'])} cell(s) went red"
            if changes["changes"]
            else "nothing went red"
        )
    out["Root causes"] = (
        ", ".join(f"{e['category']} ({len(e['tests'])} tests)" for e in gate.get("escalations") or []) or "none"
    )
    out.update({row: _variant(steps) for row, steps in rows.items() if " · " in row})
    tests = gate.get("tests") or {}
    out["Run"] = f"{gate.get('runId')}"
    # The header's time is from the first test's start to the last one's end; this is the run's own.
    out["Run time"] = _duration(gate.get("startedAt"), gate.get("finishedAt"))
    out["Tests"] = f"{tests.get('ran')} of {tests.get('selected')} selected ran"
    out["Steps"] = matrix.legend(key for key, _ in matrix.columns(rows))
    out["Full matrix"] = f"Global Attachments tab: {MATRIX_FILE}"
    out["Other view"] = (
        f"{CAMPAIGN_VIEW}/index.html (campaign → variant → step)"
        if view == "step"
        else "../index.html (by playbook step)"
    )
    return out


def verdict(gate: dict[str, Any]) -> str:
    found = gate.get("verdict")
    if found == "PASS":
        return "PASS: ready for spend"
    if found == "FAIL":
        escalated = len(gate.get("escalations") or [])
        if escalated:
            return f"FAIL: {escalated} root cause(s)"
        return "FAIL: " + (gate.get("reason") or "").split(": ", 1)[-1].split(":")[0]
    return f"ERROR: {(gate.get('reason') or '').split(':')[0]}"


def _campaign(steps: dict[str, str]) -> str:
    failed = [n for n, state in steps.items() if state == matrix.FAILED]
    if failed:
        return "✗ step " + ", ".join(failed)
    skipped = [n for n, state in steps.items() if state in (matrix.SKIPPED, matrix.PARTLY)]
    return "✓ ready" + (f" (skips in {', '.join(skipped)})" if skipped else "")


def _variant(steps: dict[str, str]) -> str:
    return " ".join(f"{n} {MARK[state]}" for n, state in steps.items())


def _duration(started: Any, finished: Any) -> str:
    from datetime import datetime

    try:
        seconds = (
            datetime.fromisoformat(str(finished).replace("Z", "+00:00"))
            - datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        ).total_seconds()
    except ValueError:
        return "unknown"
    return f"{seconds:.0f} s from start to verdict ({started} → {finished})"


def _leftovers(gate: dict[str, Any]) -> str:
    count = sum(len(entry.get("linksLeftEnabled", [])) for entry in gate.get("leftovers") or [])
    return "nothing" if not count else f"{count} link(s): see the matrix"


# -- the full matrix, as a page -------------------------------------------------------------------


def matrix_page(gate: dict[str, Any]) -> str:
    """A self-contained HTML page (no script, no external resource): the verdict, the readiness
    matrix, root causes, what is left enabled and what changed since the last PASS."""
    rows = gate.get("matrix") or {}
    shown = matrix.columns(rows)
    numbers = [key for key, _ in shown]
    head = "".join(f"<th>{n}<br><small>{html.escape(f)}</small></th>" for n, f in shown)
    body = []
    for row, steps in rows.items():
        cells = "".join(
            f'<td class="{steps.get(n, "none").replace(" ", "-")}">{MARK.get(steps.get(n), "")}</td>' for n in numbers
        )
        indent = ' class="variant"' if " · " in row else ""
        body.append(f"<tr><th{indent}>{html.escape(row)}</th>{cells}</tr>")
    parts = [
        f"<h1>{html.escape(verdict(gate))}</h1>",
        f"<p>{html.escape(gate.get('reason') or '')}</p>",
        f"<p>Run <code>{html.escape(str(gate.get('runId')))}</code> on <code>{html.escape(str(gate.get('target')))}"
        f"</code>, {html.escape(str(gate.get('startedAt')))} → {html.escape(str(gate.get('finishedAt')))}</p>",
        f"<table><tr><th>campaign · variant</th>{head}</tr>{''.join(body)}</table>",
        "<h2>Root causes</h2>",
        _list(
            f"[{e['category']}] {e['cause']}: {len(e['tests'])} test(s); support report "
            f"{Path(e['file']).name}" + (f", ticket {e['ticketId']}" if e.get("ticketId") else "")
            for e in gate.get("escalations") or []
        ),
        "<h2>Left enabled on the platform</h2>",
        _list(
            f"{entry['campaignId']}: {link['slug']} ({link['state']})"
            for entry in gate.get("leftovers") or []
            for link in entry.get("linksLeftEnabled", [])
        ),
        "<h2>Since the last PASS</h2>",
        f"<p>{html.escape((gate.get('sinceLastPass') or {}).get('text', 'n/a'))}</p>",
    ]
    if (gate.get("cleanup") or {}).get("command"):
        parts.insert(-2, f"<p>Retire them with <code>{html.escape(gate['cleanup']['command'])}</code></p>")
    style = (
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:.3em .6em;text-align:center}th.variant{font-weight:normal;padding-left:1.5em;text-align:left}"
        ".passed{background:#e6f4ea}.failed{background:#fce8e6}.skipped,.partly-skipped{background:#f1f3f4}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Readiness matrix</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def _list(items: Any) -> str:
    items = [f"<li>{html.escape(item)}</li>" for item in items]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>none</p>"
