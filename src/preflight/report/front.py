"""What the report's first screen says. Allure 3's awesome report shows a "Variables" block,
expanded above the test tree: short chips, six before "Show more". So the first six answer
"ready for spend?" (the verdict, each campaign, what is left enabled, what changed since the
last PASS, the root causes), and the readiness matrix in full (each campaign and variant by
UC-07 step) is a global attachment, one click away; the report's name carries the verdict."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from preflight.lifecycle.playbook import absent_reason
from preflight.report import judgement, landing, matrix
from preflight.report.judgement import FAILED, NOT_CHECKED, PARTLY, PASSED, UNJUDGED

CAMPAIGN_VIEW = "by-campaign"  # the second view's folder inside the report
MATRIX_FILE = "readiness-matrix.html"
FUNNEL_FILE = "funnel.html"  # an audit's funnel of each live campaign, variants side by side
# Symbols that every font has (the emoji of summary.md render as boxes in some browsers).
# A cell that did not pass in full never shows a ✓.
MARK = {PASSED: "✓", FAILED: "✗", UNJUDGED: "not judged", NOT_CHECKED: "not checked", PARTLY: "✓ where checked"}


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
    campaigns = judgement.campaigns(rows)
    ready = [name for name, judged in campaigns.items() if judged.ready]
    out = {"Verdict": verdict(gate)}
    out["Ready for spend"] = (
        f"{len(ready)} of {len(campaigns)} campaign(s)" if gate.get("verdict") != "ERROR" else "not judged (ERROR)"
    )
    if gate.get("unjudged"):
        first = gate["unjudged"][0]
        out["Could not judge"] = f"{len(gate['unjudged'])} check(s): {first['why']}" + (
            f" (to judge it: {first['fix']})" if first.get("fix") else ""
        )
    out.update({name: _campaign(judged) for name, judged in campaigns.items()})
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
    browser = gate.get("browser")
    if browser:
        out["Landing pages"] = (
            f"Global Attachments tab: {landing.OVERVIEW} (each variant, phone and desktop)"
            if browser.get("overview")
            else f"{browser.get('status')}: {browser.get('reason') or 'no screenshot'}"
        )
    from preflight.report.gate import funnels

    if funnels(gate.get("results") or []):
        out["Funnel"] = f"Global Attachments tab: {FUNNEL_FILE} (the platform's numbers, variants side by side)"
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
    if found == "HOLD":
        return f"HOLD: not proven ready, {len(gate.get('unjudged') or [])} check(s) could not judge"
    return f"ERROR: {(gate.get('reason') or '').split(':')[0]}"


def _campaign(judged: judgement.Campaign) -> str:
    chosen = f" (not checked, by choice: {', '.join(judged.not_checked)})" if judged.not_checked else ""
    if judged.failed:
        return "✗ step " + ", ".join(judged.failed)
    if judged.held:
        return "HOLD: could not judge step " + ", ".join(judged.unjudged)
    if judged.ready:
        return "✓ ready"
    return ("no finding where checked" if judged.passed else "nothing checked") + chosen


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


def _matrix_cell(row: str, steps: dict[str, str], key: str) -> str:
    """A cell of the matrix page; a campaign's row without the step says why (e.g. not a lead funnel)."""
    state = steps.get(key)
    text = MARK.get(state, "") if state else ("" if " · " in row else absent_reason(key))
    return f'<td class="{(state or "none").replace(" ", "-")}">{html.escape(text)}</td>'


def matrix_page(gate: dict[str, Any]) -> str:
    """A self-contained HTML page (no script, no external resource): the verdict, the readiness
    matrix, root causes, what is left enabled and what changed since the last PASS."""
    rows = gate.get("matrix") or {}
    shown = matrix.columns(rows)
    numbers = [key for key, _ in shown]
    head = "".join(f"<th>{n}<br><small>{html.escape(f)}</small></th>" for n, f in shown)
    body = []
    for row, steps in rows.items():
        cells = "".join(_matrix_cell(row, steps, n) for n in numbers)
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
        "<h2>Could not judge (HOLD)</h2>",
        _list(_unjudged_line(entry) for entry in gate.get("unjudged") or []),
        "<h2>Not checked, by choice</h2>",
        _list(
            f"{entry.get('check')}{_where(entry)}: {entry.get('why')}"
            + (f"; would have caught: {entry['wouldCatch']}" if entry.get("wouldCatch") else "")
            for entry in gate.get("notChecked") or []
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
        ".passed{background:#e6f4ea}.failed{background:#fce8e6}.unjudged{background:#fef7e0}"
        ".not-checked,.partly-not-checked{background:#f1f3f4}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Readiness matrix</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def _unjudged_line(entry: dict[str, Any]) -> str:
    return f"{entry.get('check')}{_where(entry)}: {entry.get('why')}" + (
        f"; to judge it: {entry['fix']}" if entry.get("fix") else ""
    )


def _where(entry: dict[str, Any]) -> str:
    names = [name for name in (entry.get("campaign"), entry.get("variant")) if name]
    return f" ({' · '.join(names)})" if names else ""


def _list(items: Any) -> str:
    items = [f"<li>{html.escape(item)}</li>" for item in items]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>none</p>"


# -- an audit's funnel, as a chart ------------------------------------------------------------------

CHART_METRICS = (
    ("clicks", "clicks"),
    ("qualifiedClicks", "qualified"),
    ("botClicks", "bots"),
    ("conversions", "conversions"),
)
COLOURS = ("#1a73e8", "#e8710a", "#188038", "#9334e6", "#d01884", "#007b83")


def funnel_page(gate: dict[str, Any]) -> str | None:
    """A self-contained HTML page (inline SVG, no script, no external resource): each live campaign's
    funnel as the platform counts it, its variants side by side; None when the run has no funnel."""
    from preflight.report.gate import funnels

    found = funnels(gate.get("results") or [])
    if not found:
        return None
    parts = [f"<h1>Funnel of the live campaigns · {html.escape(verdict(gate))}</h1>"]
    for funnel in found:
        variants = list(funnel.get("variants") or {})
        fresh = funnel.get("freshness") or {}
        when = f"as of {fresh.get('lastUpdatedAt')}, SLA {fresh.get('slaMinutes')} min"
        parts.append(
            f"<h2>{html.escape(funnel['campaignId'])}</h2>"
            f"<p>freshness {html.escape(str(fresh.get('status')))} ({html.escape(when)})</p>"
        )
        parts.append(_bars(funnel["variants"], variants))
        revenue = " · ".join(f"{html.escape(v)}: {funnel['variants'][v].get('revenue', 0):,.0f}" for v in variants)
        parts.append(f"<p>revenue {revenue}</p>")
    style = "body{font-family:sans-serif;margin:1.5em}svg{margin:.5em 0}text{font-size:12px}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Funnel</title><style>{style}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )


def _bars(counts: dict[str, dict[str, float]], variants: list[str]) -> str:
    """Grouped bars: one group per metric, one bar per variant, with its number above it."""
    top = max([counts[v].get(m, 0) or 0 for v in variants for m, _ in CHART_METRICS] + [1])
    bar, gap, height = 22, 26, 160
    group = bar * len(variants) + gap
    width = 60 + group * len(CHART_METRICS)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 70}" role="img">']
    for g, (metric, label) in enumerate(CHART_METRICS):
        x0 = 40 + g * group
        for i, variant in enumerate(variants):
            value = counts[variant].get(metric, 0) or 0
            h = round(height * value / top)
            x, y = x0 + i * bar, 20 + height - h
            out.append(
                f'<rect x="{x}" y="{y}" width="{bar - 4}" height="{h}" fill="{COLOURS[i % len(COLOURS)]}">'
                f"<title>{html.escape(variant)} {label}: {value:,.0f}</title></rect>"
                f'<text x="{x + (bar - 4) / 2}" y="{y - 4}" text-anchor="middle">{value:,.0f}</text>'
            )
        out.append(f'<text x="{x0 + (group - gap) / 2}" y="{height + 40}" text-anchor="middle">{label}</text>')
    for i, variant in enumerate(variants):
        out.append(
            f'<rect x="{40 + i * 120}" y="{height + 52}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
            f'<text x="{54 + i * 120}" y="{height + 61}">{html.escape(variant)}</text>'
        )
    return "".join(out) + "</svg>"
