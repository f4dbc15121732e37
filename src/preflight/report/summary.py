"""summary.md: the human verdict of a run (GitHub step-summary ready), as report.judgement judges it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from preflight.core.redact import redact_text
from preflight.lifecycle.playbook import STEPS, absent_reason
from preflight.report import judgement
from preflight.report.facts import RunFacts
from preflight.report.gate import funnels, normalise, time_text, write_atomic
from preflight.report.judgement import BAD_OUTCOMES, category, result_party

ICONS = {
    "PASS": "✅",
    "FAIL": "❌",
    "ERROR": "💥",
    "HOLD": "⏸",
    "passed": "✅",
    "failed": "❌",
    "error": "❌",
    "skipped": "⏭",
}
Result = dict[str, Any]


def write_summary(
    path: str | Path,
    *,
    run_id: str | None,
    target: str | None,
    results: Iterable[Result],
    report_path: str | Path | None,
    started_at: Any = None,
    finished_at: Any = None,
    facts: RunFacts | None = None,
) -> Path:
    """summary.md, valid GitHub-flavoured markdown to append to $GITHUB_STEP_SUMMARY."""
    return write_atomic(
        Path(path),
        render_summary(
            run_id=run_id,
            target=target,
            results=results,
            report_path=report_path,
            started_at=started_at,
            finished_at=finished_at,
            facts=facts,
        ),
    )


def render_summary(
    *,
    run_id: str | None,
    target: str | None,
    results: Iterable[Result],
    report_path: str | Path | None,
    started_at: Any = None,
    finished_at: Any = None,
    facts: RunFacts | None = None,
) -> str:
    facts = facts or RunFacts()
    # The failing exchange's ids (when the collector has them) say more than every id of the test.
    results = [
        {
            **normalise(r),
            "failingRequestIds": list(r.get("failingRequestIds") or []),
            "draftGroup": (r.get("draft") or {}).get("group"),
        }
        for r in results
    ]
    verdict, reason = judgement.verdict(results, facts)
    when = f" · {time_text(started_at)} → {time_text(finished_at)}" if started_at and finished_at else ""
    parts = [
        f"## campaign-preflight: {ICONS[verdict]} {verdict}",
        "",
        f"**{_inline(reason)}**",
        "",
        f"Run `{_code(run_id or 'n/a')}` against `{_code(target or 'n/a')}`{when}: {_counts(results, facts)}.",
        "",
    ]
    parts += _shard_lines(facts)
    if facts.problem and len(facts.problem.splitlines()) > 1:
        parts += ["> **The run could not start its tests:**", ">"]
        parts += [f"> - {_inline(line)}" for line in facts.problem.splitlines()] + [""]
    if facts.mode == "audit":
        parts += _audit_lines(facts)
    parts += _table(results, facts.selection) + [""]
    parts += funnel_tables(results)
    if facts.since_last_pass:
        parts += [f"**Since the last PASS:** {_inline(facts.since_last_pass['text'])}", ""]
    parts += _escalations(facts.escalations)
    parts += _failures(results)
    parts += _unjudged_lines(results, facts)
    parts += _browser_lines(facts.browser)
    parts += _not_checked_lines(results, facts)
    parts += _leftovers(facts)
    parts += [f"Report: `{_code(str(report_path))}`" if report_path else "Report: not built", ""]
    return "\n".join(parts)


def _shard_lines(facts: RunFacts) -> list[str]:
    shard = facts.shard
    if shard:
        held = ", ".join(shard.get("campaigns") or []) or "none"
        configured = f" of the {len(shard['configured'])} configured" if shard.get("configured") else ""
        return [f"Shard {shard['index']}/{shard['total']}: campaign(s) {_inline(held)}{configured}.", ""]
    if not facts.shards:
        return []
    lines = ["| shard | verdict | campaigns | tests ran | reports |", "|---|---|---|---|---|"]
    for entry in facts.shards:
        verdict = entry.get("verdict") or "no gate"  # missing, or not a shard's
        lines.append(
            f"| {entry['index'] or '?'}/{entry['total'] or '?'} | {ICONS.get(verdict, '💥')} {verdict} | "
            f"{_inline(', '.join(entry.get('campaigns') or []) or '—')} | "
            f"{entry['ran'] if entry.get('ran') is not None else '—'} | "
            f"`{_code(entry.get('dir') or 'n/a')}` |"
        )
    return lines + [""]


def _counts(results: list[dict], facts: RunFacts) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"] or "unknown"] = counts.get(r["outcome"] or "unknown", 0) + 1
    text = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "no results"
    if facts.selected is not None:
        text += f" ({len(results)} of {facts.selected} selected ran"
        if facts.planned is not None and facts.planned != facts.selected:
            text += (
                f"; {facts.planned} planned, the selection{f' {facts.selection}' if facts.selection else ''} "
                f"kept {facts.selected}"
            )
        text += ")"
    return _inline(text)


def _column(step: str | None) -> str:
    """A step's column: its numbered title, as the report names it ("1 · Campaign health"); the two
    readiness re-checks share "7 · Readiness"."""
    return STEPS[step].group if step in STEPS else step or "(no step)"


def _columns(results: list[dict]) -> list[str]:
    seen = list(dict.fromkeys(_column(r["step"]) for r in results))
    ordered = list(dict.fromkeys(step.group for step in STEPS.values()))
    return [c for c in ordered if c in seen] + [c for c in seen if c not in ordered]


def _table(results: list[dict], selection: str | None = None) -> list[str]:
    if not results:
        return ["_No results: no test ran (the run did not start, or the selection matched nothing)._"]
    columns = _columns(results)
    campaigns = list(dict.fromkeys(r["campaignId"] or "(no campaign)" for r in results))
    rows = ["| campaign | " + " | ".join(_inline(c) for c in columns) + " |", "|---|" + "---|" * len(columns)]
    for campaign in campaigns:
        cells = []
        for column in columns:
            group = [
                r for r in results if (r["campaignId"] or "(no campaign)") == campaign and _column(r["step"]) == column
            ]
            cells.append(verdict_cell(group) if group else _absent_cell(column, selection))
        rows.append(f"| {_inline(campaign)} | " + " | ".join(cells) + " |")
    return rows


def _absent_cell(column: str, selection: str | None) -> str:
    """A step the campaign has no test of: "—", and why when the playbook says (step 3 is for lead
    funnels only); a selection (-k, -m) may have left it out too."""
    keys = [step.key for step in STEPS.values() if step.group == column]
    why = absent_reason(keys[0]) if keys else ""
    if not why:
        return "— not selected" if selection else "—"
    return f"— not selected, or {why}" if selection else f"— {why}"


def verdict_cell(group: list[dict]) -> str:
    """✅ all passed; ❌ plus the failing slugs; ⏭ when anything was skipped (never a ✅)."""
    if not group:
        return "—"
    judged = judgement.cell(group)
    if judged.state == judgement.FAILED:
        slugs = judged.failing_slugs
        return "❌" + (f" {_inline(', '.join(slugs))}" if slugs else "")
    if judged.state == judgement.UNJUDGED:
        return f"⏸ {judged.unjudged} not judged"
    if judged.state == judgement.NOT_CHECKED:
        return "⏭ not checked (by choice)"
    if judged.state == judgement.PARTLY:
        return f"⏭ {judged.passed} passed, {judged.not_checked} not checked (by choice)"
    return "✅"


def _escalations(escalations: list[dict]) -> list[str]:
    if not escalations:
        return []
    lines = ["### Root causes (one support report each)", ""]
    for esc in escalations:
        sent = f" · ticket `{_code(esc['ticketId'])}`" if esc.get("ticketId") else ""
        if esc.get("sendError"):
            sent = f" · **not sent:** {_inline(esc['sendError'])}"
        tests = esc.get("tests") or []
        lines += [
            f"- **`{esc['category']}`** {_inline(esc['cause'])}: {len(tests)} test(s)"
            f"{', campaigns ' + _inline(', '.join(esc['campaigns'])) if esc.get('campaigns') else ''}"
            f" · payload `{_code(esc['file'])}`{sent}"
        ]
    return lines + [""]


def _failures(results: list[dict]) -> list[str]:
    bad = [r for r in results if r["outcome"] in BAD_OUTCOMES]
    if not bad:
        return []
    lines = ["### Failures", ""]
    for r in bad:
        found = category(r)
        escalation = f"`{_code(r['escalation'])}`" if r["escalation"] else _why_not_escalated(r, result_party(r))
        if r["ticketId"]:
            escalation += f" (ticket `{_code(r['ticketId'])}`)"
        ids = ", ".join(f"`{_code(i)}`" for i in r["failingRequestIds"] or r["requestIds"]) or "none"
        lines += [
            f"#### {ICONS[r['outcome']]} `{_code(r['nodeid'] or '?')}`",
            "",
            f"- **category:** `{found}` ({result_party(r)} side)",
            f"- **message:** {_inline(_first(r['message']) or '(no message)')}",
            f"- **request ids:** {ids}",
            f"- **next step:** {_inline(judgement.next_step(r))}",
            f"- **escalation:** {escalation}",
            "",
        ]
    return lines


def _why_not_escalated(result: dict, side: str) -> str:
    if result.get("consequenceOf"):
        return f"none (follows from {_inline(result['consequenceOf'])})"
    if side == "marketer":
        return "none (marketer side: fixed in the dashboard, as the next step says; the platform has nothing to fix)"
    if side != "platform":
        return f"none ({side} side: not the platform's to fix)"
    return "none"


def _audit_lines(facts: RunFacts) -> list[str]:
    audit = facts.audit or {}
    lines = [
        "An audit of the live campaigns: reads only"
        + (" (and the route-previews --allow-writes asked for)" if audit.get("writes") else ", zero writes")
        + "; no throwaway campaign.",
        "",
    ]
    if audit.get("leftOut"):
        lines += [f"> **Not checked without `--click`:** {_inline(audit['leftOut'])}", ""]
    return lines


FUNNEL_ROWS = (
    ("clicks", "clicks"),
    ("qualifiedClicks", "qualified"),
    ("botClicks", "bots"),
    ("conversions", "conversions"),
    ("revenue", "revenue"),
    ("testConversions", "test conversions"),
)


def funnel_tables(results: Iterable[Result]) -> list[str]:
    """Each live campaign's funnel as the platform counts it: variants side by side."""
    found = funnels(results)
    if not found:
        return []
    lines = ["### Funnel (the platform's own numbers, CC-06/07)", ""]
    for funnel in found:
        variants = list(funnel.get("variants") or {})
        fresh = funnel.get("freshness") or {}
        lines += [
            f"**`{_code(funnel['campaignId'])}`** · freshness {_inline(fresh.get('status', 'UNKNOWN'))}"
            + (f" (as of {_inline(fresh['lastUpdatedAt'])})" if fresh.get("lastUpdatedAt") else ""),
            "",
            "| | " + " | ".join(f"`{_code(v)}`" for v in variants) + " |",
            "|---|" + "---:|" * len(variants),
        ]
        for key, label in FUNNEL_ROWS:
            cells = [_number((funnel["variants"][v] or {}).get(key)) for v in variants]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, (int, float)) else "—"


def _browser_lines(browser: dict[str, Any] | None) -> list[str]:
    if not browser:
        return []
    lines = ["### The shopper's journey (a real browser)", ""]
    status = browser.get("status")
    if status == "off":
        return lines + [f"- ⏭ off: {_inline(browser.get('reason') or '')}", ""]
    tests = browser.get("tests") or {}
    icon = "✅" if status == "ran" else "⏭"
    lines.append(
        f"- {icon} {status}: {tests.get('ran', 0)} browser test(s) ran, {tests.get('skipped', 0)} skipped, "
        f"{tests.get('failed', 0)} failed; {browser.get('screenshots', 0)} screenshot(s)"
    )
    if browser.get("reason"):
        lines.append(f"- **why skipped:** {_inline(browser['reason'])}")
    blocked = browser.get("blocked") or {}
    lines.append(
        "- **blocked** (ad and analytics hosts, so the visit never counts as a real one): "
        + (_inline(", ".join(f"{host} ×{count}" for host, count in blocked.items())) if blocked else "none asked for")
    )
    if browser.get("overview"):
        lines.append(f"- **the pages side by side:** `{_code(browser['overview'])}`")
    return lines + [""]


def _unjudged_lines(results: list[dict], facts: RunFacts) -> list[str]:
    found = judgement.unjudged(results, facts)
    if not found:
        return []
    lines = ["### Could not judge (HOLD: not proven ready)", ""]
    for entry in found:
        where = " · ".join(name for name in (entry.get("campaign"), entry.get("variant")) if name)
        lines.append(
            f"- ⏸ **{_inline(entry['check'])}**{f' ({_inline(where)})' if where else ''}: {_inline(entry['why'])}"
            + (f" · **to judge it:** {_inline(entry['fix'])}" if entry.get("fix") else "")
        )
    return lines + [""]


def _not_checked_lines(results: list[dict], facts: RunFacts) -> list[str]:
    found = judgement.not_checked(results, facts)
    if not found:
        return []
    lines = ["### Not checked, by choice", ""]
    for entry in found:
        where = " · ".join(name for name in (entry.get("campaign"), entry.get("variant")) if name)
        lines.append(
            f"- ⏭ {_inline(entry['check'])}{f' ({_inline(where)})' if where else ''}: {_inline(entry['why'])}"
            + (f" · would have caught: {_inline(entry['wouldCatch'])}" if entry.get("wouldCatch") else "")
        )
    return lines + [""]


def _leftovers(facts: RunFacts) -> list[str]:
    if not facts.leftovers and not facts.cleanup.get("skipped"):
        return []
    lines = ["### Left enabled on the platform", ""]
    if facts.cleanup.get("skipped"):
        lines += [f"> Clean-up skipped: {_inline(facts.cleanup['skipped'])}", ""]
    for left in facts.leftovers:
        slugs = ", ".join(f"{link['slug']} ({link['state']})" for link in left.get("linksLeftEnabled", []))
        lines.append(f"- `{_code(left['campaignId'])}`: {_inline(slugs)}")
    if facts.cleanup.get("command"):
        lines += ["", f"Retire them with `{_code(facts.cleanup['command'])}`."]
    if facts.cleanup.get("note"):
        lines += ["", _inline(facts.cleanup["note"]) + "."]
    return lines + [""]


def _code(text: str) -> str:
    return str(text).replace("`", "'").replace("\n", " ")


def _inline(text: str) -> str:
    # Keep a message from turning into markdown structure (tables, headings, html).
    text = redact_text(str(text)).replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _first(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""
