"""gate.json (the machine verdict) and summary.md (the human one, GitHub step-summary ready).

The verdict:
- PASS: every selected test ran, none failed, at least one check passed. Skips are allowed
  (each says why) but never shown as a pass.
- FAIL: the funnel is broken: a check found a platform problem (each root cause has one
  support-report payload).
- ERROR: no verdict on the funnel: the run could not start or complete (config, a token or
  plan of the user's, a harness bug, an interruption, a `-x` stop, a lost worker), or
  nothing was checked. Never escalated.
junit.xml comes from pytest's --junitxml, not from here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preflight.core.categories import CUSTOMER_SITE, NO_VERDICT, Category, party
from preflight.core.redact import redact_obj, redact_text
from preflight.lifecycle.classify import NEXT_STEPS
from preflight.lifecycle.playbook import STEPS
from preflight.report import matrix

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
# What an audit's PASS says it does not cover when it made no real click.
NO_CLICK_NOTE = "not checked without --click: one real click per variant (where it lands, its ctx)"
# Kept on a result when it has them: its root cause, who must act, and an audit's funnel numbers.
RESULT_EXTRAS = ("cause", "party", "consequenceOf", "failingRequestIds", "funnel")
BAD_OUTCOMES = frozenset({"failed", "error"})
ICONS = {"PASS": "✅", "FAIL": "❌", "ERROR": "💥", "passed": "✅", "failed": "❌", "error": "❌", "skipped": "⏭"}
EXIT_CODES = {"PASS": 0, "FAIL": 1, "ERROR": 2}

Result = Mapping[str, Any]


@dataclass
class RunFacts:
    """What the gate knows of the run besides its results."""

    planned: int | None = None  # tests the suites hold
    selected: int | None = None  # tests the invocation selected (-k, -m, paths)
    selection: str | None = None  # the selecting arguments, when any
    problem: str | None = None  # why the run could not start or had to stop before its tests
    problem_category: str | None = None
    stopped: str | None = None  # why it stopped early (a signal, -x, a lost worker, an auth failure)
    unfinished: list[str] = field(default_factory=list)  # tests stopped before their outcome
    escalations: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[dict[str, Any]] = field(default_factory=list)
    cleanup: dict[str, Any] = field(default_factory=dict)
    write_plan: dict[str, Any] | None = None
    pacing: dict[str, Any] | None = None  # the pace the run used (http.pacing.describe)
    since_last_pass: dict[str, Any] | None = None
    shard: dict[str, Any] | None = None  # this run's shard: index, total, campaigns, configured
    shards: list[dict[str, Any]] | None = None  # a merged gate's shards (preflight merge)
    shards_problem: str | None = None  # a merge that lacks a shard, or joins an ERROR one: no verdict
    browser: dict[str, Any] | None = None  # the shopper's journey: ran, skipped (why), off; what it blocked
    mode: str = "lifecycle"  # "audit": the live campaigns, read only (preflight audit)
    audit: dict[str, Any] | None = None  # an audit's options: click, writes, what is left out without --click
    notes: list[str] = field(default_factory=list)  # what a PASS does not cover (e.g. no real click)


def compute_verdict(
    results: Iterable[Result], problem: str | None = None, facts: RunFacts | None = None
) -> tuple[str, str]:
    """(verdict, the reason in one line)."""
    results = list(results)
    facts = facts or RunFacts(problem=problem)
    problem = facts.problem or problem
    bad = [r for r in results if r.get("outcome") in BAD_OUTCOMES]
    theirs = [r for r in bad if _category(r) in NO_VERDICT]
    if facts.shards_problem:
        return "ERROR", facts.shards_problem
    if problem:
        return "ERROR", f"the run could not start its tests: {_first(problem)}"
    if theirs:
        first = theirs[0]
        return "ERROR", (
            f"{len(theirs)} test(s) could not check the platform ({_category(first)}, "
            f"{party(_category(first))} side): {_first(first.get('message'))}"
        )
    if facts.selected is not None and len(results) < facts.selected:
        why = facts.stopped or "tests went missing (a worker was lost?)"
        return "ERROR", f"{why}: {len(results)} of {facts.selected} selected tests ran"
    if facts.stopped and not bad:
        return "ERROR", facts.stopped
    if bad:
        return "FAIL", _fail_reason(bad, facts)
    if not results and _empty_shard(facts):
        shard = facts.shard
        return "PASS", (
            f"shard {shard['index']}/{shard['total']} holds none of the config's "
            f"{len(shard.get('configured') or [])} campaign(s): nothing to run here, "
            "the other shards run them"
        )
    if not any(r.get("outcome") == "passed" for r in results):
        return (
            "ERROR",
            "nothing was checked: no selected test ran to a pass"
            if results
            else "nothing was checked: no test was selected",
        )
    skipped = sum(r.get("outcome") == "skipped" for r in results)
    return "PASS", f"all {len(results)} selected tests ran" + (
        f" ({skipped} skipped, each with its reason)" if skipped else ""
    ) + _browser_note(facts.browser) + "".join(f"; {note}" for note in facts.notes)


def _browser_note(browser: dict[str, Any] | None) -> str:
    """A PASS whose browser checks did not run says so in its reason: a skip is never a pass."""
    if not browser or browser.get("status") == "ran":
        return ""
    if browser.get("status") == "off":
        return "; the browser checks are off (browser.use: off)"
    return f"; the shopper's journey in a browser was {browser['status']}: {_first(browser.get('reason'))}"


def result_party(result: Result) -> str:
    """Who must act on a failed result: its own party when the finding said, else its category's."""
    return result.get("party") or party(_category(result))


# The findings that are not the platform's, counted apart from its root causes: who fixes them.
FIXED_BY = {
    "marketer": "to fix in the campaign (marketer side, not escalated)",
    CUSTOMER_SITE: "to fix on the customer's site (not escalated)",
}


def _fail_reason(bad: list[Result], facts: RunFacts) -> str:
    """One platform defect is one root cause (escalated); the marketer's and the customer site's
    findings are counted apart."""
    categories = ", ".join(dict.fromkeys(_category(r) or "?" for r in bad))
    platform = [r for r in bad if result_party(r) not in FIXED_BY]
    parts = []
    if platform:
        roots = len(facts.escalations) or len({r.get("cause") or r.get("nodeid") for r in platform})
        parts.append(f"from {roots} root cause(s)")
    for side, fix in FIXED_BY.items():
        theirs = [r for r in bad if result_party(r) == side]
        if theirs:
            found = len({(r.get("cause") or r.get("nodeid"), r.get("slug")) for r in theirs})
            parts.append(f"{found} finding(s) {fix}")
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
    return f"{len(bad)} test(s) failed{' ' if joined.startswith('from') else ': '}{joined}: {categories}"


def _empty_shard(facts: RunFacts) -> bool:
    """A shard that no campaign hashes to (`--shard I/N` of a small config): it has nothing to run,
    which must not fail a CI matrix; `preflight merge` judges the whole run."""
    return bool(facts.shard) and facts.shard.get("campaigns") == [] and not facts.selected


def _category(result: Result) -> str | None:
    # A failure nobody classified is a gap in the harness's own plumbing, so it counts as ours.
    if result.get("outcome") in BAD_OUTCOMES and not result.get("category"):
        return Category.HARNESS_ERROR
    return result.get("category")


def _first(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


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
    verdict, reason = compute_verdict(results, facts=facts)
    return {
        "verdict": verdict,
        "reason": redact_text(reason),
        "exitCode": EXIT_CODES[verdict],
        "runId": run_id,
        "target": target,
        "startedAt": _time(started_at),
        "finishedAt": _time(finished_at),
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
    problem: str | None = None,
    leftovers: list[dict] | None = None,
    facts: RunFacts | None = None,
) -> Path:
    facts = facts or RunFacts(problem=problem, leftovers=leftovers or [])
    doc = document(
        run_id=run_id,
        target=target,
        started_at=started_at,
        finished_at=finished_at,
        results=results,
        report_path=report_path,
        facts=facts,
    )
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


def write_summary(
    path: str | Path,
    *,
    run_id: str | None,
    target: str | None,
    results: Iterable[Result],
    report_path: str | Path | None,
    started_at: Any = None,
    finished_at: Any = None,
    problem: str | None = None,
    facts: RunFacts | None = None,
) -> Path:
    """summary.md, valid GitHub-flavoured markdown to append to $GITHUB_STEP_SUMMARY."""
    return _write(
        Path(path),
        render_summary(
            run_id=run_id,
            target=target,
            results=results,
            report_path=report_path,
            started_at=started_at,
            finished_at=finished_at,
            problem=problem,
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
    problem: str | None = None,
    facts: RunFacts | None = None,
) -> str:
    facts = facts or RunFacts(problem=problem)
    # The failing exchange's ids (when the collector has them) say more than every id of the test.
    results = [
        {
            **normalise(r),
            "failingRequestIds": list(r.get("failingRequestIds") or []),
            "draftGroup": (r.get("draft") or {}).get("group"),
        }
        for r in results
    ]
    verdict, reason = compute_verdict(results, facts=facts)
    when = f" · {_time(started_at)} → {_time(finished_at)}" if started_at and finished_at else ""
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
    parts += _table(results) + [""]
    parts += funnel_tables(results)
    if facts.since_last_pass:
        parts += [f"**Since the last PASS:** {_inline(facts.since_last_pass['text'])}", ""]
    parts += _escalations(facts.escalations)
    parts += _failures(results)
    parts += _browser_lines(facts.browser)
    parts += _skipped(results)
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


def _table(results: list[dict]) -> list[str]:
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
            cells.append(verdict_cell(group))
        rows.append(f"| {_inline(campaign)} | " + " | ".join(cells) + " |")
    return rows


def verdict_cell(group: list[dict]) -> str:
    """✅ all passed; ❌ plus the failing slugs; ⏭ when anything was skipped (never a ✅)."""
    if not group:
        return "—"
    bad = [r for r in group if r["outcome"] in BAD_OUTCOMES]
    if bad:
        slugs = sorted({r["slug"] for r in bad if r["slug"]})
        return "❌" + (f" {_inline(', '.join(slugs))}" if slugs else "")
    skipped = sum(r["outcome"] == "skipped" for r in group)
    if skipped == len(group):
        return "⏭ skipped"
    if skipped:
        return f"⏭ {len(group) - skipped} passed, {skipped} skipped"
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
        category = _category(r)
        escalation = f"`{_code(r['escalation'])}`" if r["escalation"] else _why_not_escalated(r, result_party(r))
        if r["ticketId"]:
            escalation += f" (ticket `{_code(r['ticketId'])}`)"
        ids = ", ".join(f"`{_code(i)}`" for i in r["failingRequestIds"] or r["requestIds"]) or "none"
        lines += [
            f"#### {ICONS[r['outcome']]} `{_code(r['nodeid'] or '?')}`",
            "",
            f"- **category:** `{category}` ({result_party(r)} side)",
            f"- **message:** {_inline(_first(r['message']) or '(no message)')}",
            f"- **request ids:** {ids}",
            f"- **next step:** {_inline(next_step_of(r['message'], category))}",
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


def funnels(results: Iterable[Result]) -> list[dict[str, Any]]:
    """The audit's funnel of each live campaign (one per campaign, in result order)."""
    seen: dict[str, dict[str, Any]] = {}
    for result in results:
        funnel = result.get("funnel")
        if isinstance(funnel, dict) and funnel.get("campaignId"):
            seen.setdefault(funnel["campaignId"], funnel)
    return list(seen.values())


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


def _skipped(results: list[dict]) -> list[str]:
    skipped = [r for r in results if r["outcome"] == "skipped"]
    if not skipped:
        return []
    lines = ["### Skipped checks", ""]
    lines += [
        f"- ⏭ `{_code(r['nodeid'] or '?')}`: {_inline(_first(r['message']) or 'no reason given')}" for r in skipped
    ]
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


def next_step_of(message: str | None, category: str) -> str:
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
