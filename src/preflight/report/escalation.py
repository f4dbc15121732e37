"""Support-report payloads (POST /v2/support/report): one per root cause.

A failure on a worker becomes a *draft*: its category, root cause, expected vs actual and
the failing exchange as a curl. At the end of the run the controller groups the drafts of
the whole run by root cause (category + cause), so one platform defect seen by several
tests, variants, campaigns or steps is one payload listing each of them, written to
`escalations/` and, with `--escalate`, sent once.

UC-07's end-user escalation path is POST /v2/support/report only. The internal operator
workflow (/v2/operator/escalations) and abuse moderation (/v2/public/content-report) are
never called: send_payload refuses an exchange that went to either.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from preflight.core.categories import MEANINGS, NOT_ESCALATED
from preflight.core.redact import redact_obj, redact_text
from preflight.http.exchange import Exchange
from preflight.lifecycle.classify import NEXT_STEPS
from preflight.lifecycle.failures import PreflightFailure, plain

SUPPORT_REPORT_PATH = "/v2/support/report"
FORBIDDEN_PATHS = ("/v2/operator/escalations", "/v2/public/content-report")
SUMMARY_LIMIT = 200  # the contract answers a longer summary with 400 validation_error
_IDS = re.compile(r"\b(req_[0-9a-f]+|pf-[a-z0-9-]+|[a-z0-9_-]+-[0-9a-f]{6})\b")


def should_escalate(category: str) -> bool:
    """The user's own config, tokens, plan and the harness's bugs are never sent to support."""
    return category not in NOT_ESCALATED


def cause_of(failure: PreflightFailure) -> str:
    """The root cause in words: the step's own, else the failing route and its answer (no ids)."""
    if failure.cause:
        return failure.cause
    ex = failure.failing_exchange
    if ex is not None:
        reason = ex.body_field("reason")
        answer = "no answer" if ex.status is None else f"{ex.status} {ex.error_code or ''}".strip()
        return f"{ex.method} {ex.route or ex.path} answered {answer}" + (f" ({reason})" if reason else "")
    return _IDS.sub("…", failure.summary)


def group_id(category: str, cause: str) -> str:
    return f"{category}-{hashlib.sha256(cause.encode()).hexdigest()[:8]}"


def draft(
    failure: PreflightFailure, *, nodeid: str, step: str, campaign_id: str | None, slug: str | None
) -> dict[str, Any]:
    """What one failed test contributes to its root cause's payload (redacted, JSON-ready)."""
    failing = failure.failing_exchange
    cause = cause_of(failure)
    return redact_obj(
        {
            "group": group_id(failure.category, cause),
            "category": failure.category,
            "cause": cause,
            "nodeid": nodeid,
            "step": step,
            "campaignId": campaign_id,
            "slug": slug,
            "summary": failure.summary,
            "expected": plain(failure.expected) if failure.expected is not None else None,
            "actual": plain(failure.actual) if failure.actual is not None else None,
            "nextStep": failure.next_step or NEXT_STEPS[failure.category],
            "requestIds": failure.request_ids,
            "requestId": failing.request_id if failing else None,
            "exchange": failing.label if failing else None,
            "curl": failing.curl() if failing else None,
            "status": failing.status if failing else None,
            "bodyExcerpt": failing.body_excerpt() if failing else None,
            "stateBefore": failure.state_before,
            "stateAfter": failure.state_after,
        }
    )


def group(drafts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Drafts by root cause, in the order their first failure came (UC-07 order)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in drafts:
        groups.setdefault(item["group"], []).append(item)
    return groups


def build_payload(
    drafts: list[dict[str, Any]],
    *,
    handle: str,
    run_id: str,
    environment: str,
    role: str,
    rollback: str,
    consequences: list[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The body of POST /v2/support/report for one root cause, seen by every draft in `drafts`
    (the first one stands for them all); `consequences` are later failures it explains."""
    first = drafts[0]
    tests = [_affected(d) for d in drafts]
    campaigns = sorted({d["campaignId"] for d in drafts if d.get("campaignId")})
    slugs = sorted({d["slug"] for d in drafts if d.get("slug")})
    ids = list(dict.fromkeys(i for d in [*drafts, *consequences] for i in d.get("requestIds") or []))
    payload = {
        "summary": summary_line(first["category"], first["step"], first["cause"], len(drafts), campaigns),
        "details": _details(
            first,
            drafts,
            consequences,
            campaigns=campaigns,
            slugs=slugs,
            ids=ids,
            handle=handle,
            run_id=run_id,
            environment=environment,
            role=role,
            rollback=rollback,
        ),
        "handle": handle,
        "sessionId": run_id,
        "runId": run_id,
        "requestId": first.get("requestId"),
        "environment": environment,
        "role": role,
        "reproArtifact": {
            "curl": first.get("curl"),
            "status": first.get("status"),
            "bodyExcerpt": first.get("bodyExcerpt"),
            "stateBefore": first.get("stateBefore"),
            "stateAfter": first.get("stateAfter"),
            "requestIds": ids,
            "affected": tests + [_affected(c) for c in consequences],
            "rollbackIntent": rollback,
        },
    }
    return redact_obj(payload)


def summary_line(category: str, step: str, cause: str, seen_by: int, campaigns: list[str]) -> str:
    """A root cause's title: what, where first, and how many tests saw it on which campaigns. Made
    from these facts alone, so a merge of shards makes it again from theirs (never by reading it back)."""
    seen = f"seen by {seen_by} test(s)" + (f" on {', '.join(campaigns)}" if campaigns else "")
    # Truncate after redacting: cutting first could leave half a secret that no longer matches.
    return truncate(redact_text(f"[{category}] {step}: {cause} ({seen})"), SUMMARY_LIMIT)


def _affected(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "test": item["nodeid"],
        "step": item["step"],
        "campaignId": item.get("campaignId"),
        "slug": item.get("slug"),
        "requestIds": item.get("requestIds") or [],
    }


def _details(
    first: dict[str, Any],
    drafts: list[dict[str, Any]],
    consequences: Any,
    *,
    campaigns: list[str],
    slugs: list[str],
    ids: list[str],
    handle: str,
    run_id: str,
    environment: str,
    role: str,
    rollback: str,
) -> str:
    lines = [
        f"What failed: {first['cause']}",
        f"First seen: {first['nodeid']} (step {first['step']}): {first['summary']}",
        f"Expected: {first.get('expected') or 'n/a'}",
        f"Actual: {first.get('actual') or 'n/a'}",
        f"Category: {first['category']} ({MEANINGS.get(first['category'], '')})",
        f"Next step: {first['nextStep']}",
        f"Affected resources: handle {handle}, campaignId(s) {', '.join(campaigns) or 'n/a'}, "
        f"slug(s) {', '.join(slugs) or 'n/a'}",
        f"Failing exchange: {first.get('exchange') or 'none (no HTTP exchange)'}",
        f"Request ids: {', '.join(ids) or 'none'}",
        f"Run: {run_id} against {environment} as {role}",
        f"Rollback intent: {rollback}",
        f"Affected tests ({len(drafts)}):",
    ]
    lines += [f"- {d['nodeid']}: request ids {', '.join(d.get('requestIds') or []) or 'none'}" for d in drafts]
    if consequences:
        lines.append(f"Later failures this explains ({len(consequences)}):")
        lines += [f"- {c['nodeid']}: {c['summary']}" for c in consequences]
    return "\n".join(lines)


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line: the summary is a title
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_payload(payload: dict[str, Any], reports_dir: str | Path, name: str) -> Path:
    """reports/escalations/<name>.json (the group id: one file per root cause)."""
    path = Path(reports_dir) / "escalations" / f"{_safe(name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(redact_obj(payload), indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "escalation"


def send_payload(post: Callable[[dict[str, Any]], Exchange], payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """Send with the caller's POST-to-/v2/support/report function: (ticketId, None) on a 202,
    else (None, why it was not taken)."""
    return answer_of(post(payload))


def answer_of(exchange: Exchange) -> tuple[str | None, str | None]:
    if any(exchange.path.startswith(p) for p in FORBIDDEN_PATHS):
        raise ValueError(f"escalation went to {exchange.path}; only {SUPPORT_REPORT_PATH} is allowed")
    body = exchange.response_body
    ticket = body.get("ticketId") if isinstance(body, dict) else None
    if exchange.status == 202 and isinstance(ticket, str):
        return ticket, None
    answer = "no answer" if exchange.status is None else f"{exchange.status} {exchange.error_code or ''}".strip()
    return None, f"POST {SUPPORT_REPORT_PATH} answered {answer} (request {exchange.request_id or 'n/a'})"
