"""Support-report payloads (POST /v2/support/report), written to disk and optionally sent.

UC-07's end-user escalation path is POST /v2/support/report only. The internal operator
workflow (/v2/operator/escalations) and abuse moderation (/v2/public/content-report) are
never called: send_payload refuses an exchange that went to either.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from preflight.classify import NEXT_STEPS, Classification
from preflight.exchange import Exchange
from preflight.failures import CATEGORIES, NOT_ESCALATED, PreflightFailure
from preflight.redact import redact_obj

SUPPORT_REPORT_PATH = "/v2/support/report"
FORBIDDEN_PATHS = ("/v2/operator/escalations", "/v2/public/content-report")
SUMMARY_LIMIT = 200  # the contract answers a longer summary with 400 validation_error

Failure = PreflightFailure | Classification


def should_escalate(category: str) -> bool:
    """Config and harness bugs are ours, not the platform's: never sent to support."""
    return category not in NOT_ESCALATED


def build_payload(failure: Failure, *, handle: str, run_id: str, environment: str, role: str,
                  nodeid: str, step: str, campaign_id: str | None, slug: str | Sequence[str] | None,
                  rollback_intent: str | None = None) -> dict[str, Any]:
    """The body of POST /v2/support/report for one failed test, redacted."""
    slugs = _slugs(slug)
    exchanges = list(failure.exchanges)
    failing = exchanges[-1] if exchanges else None
    next_step = failure.next_step or NEXT_STEPS[failure.category]
    rollback = rollback_intent or _default_rollback(campaign_id, slugs)
    payload = {
        "summary": f"[{failure.category}] {step}: {failure.summary}",
        "details": _details(failure, nodeid=nodeid, step=step, handle=handle, campaign_id=campaign_id,
                            slugs=slugs, next_step=next_step, failing=failing, rollback=rollback,
                            run_id=run_id, environment=environment, role=role),
        "handle": handle,
        "sessionId": run_id,
        "runId": run_id,
        "requestId": failing.request_id if failing else None,
        "environment": environment,
        "role": role,
        "reproArtifact": _repro(failure, failing, exchanges, rollback),
    }
    payload = redact_obj(payload)
    # Truncate after redacting: cutting first could leave half a secret that no longer matches.
    payload["summary"] = truncate(payload["summary"], SUMMARY_LIMIT)
    return payload


def truncate(text: str, limit: int) -> str:
    text = " ".join(text.split())  # one line: the summary is a title
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slugs(slug: str | Sequence[str] | None) -> list[str]:
    if slug is None:
        return []
    return [slug] if isinstance(slug, str) else [s for s in slug if s]


def _default_rollback(campaign_id: str | None, slugs: list[str]) -> str:
    links = f" (links {', '.join(slugs)})" if slugs else ""
    return (f"throwaway campaign {campaign_id or 'n/a'}{links}: links retired (enabled:false) at teardown; "
            "no production campaign touched")


def _details(failure: Failure, *, nodeid: str, step: str, handle: str, campaign_id: str | None,
             slugs: list[str], next_step: str, failing: Exchange | None, rollback: str, run_id: str,
             environment: str, role: str) -> str:
    ids = [ex.request_id for ex in failure.exchanges if ex.request_id]
    lines = [
        f"What failed: {nodeid} (step {step}): {failure.summary}",
        f"Expected: {_text(failure.expected)}",
        f"Actual: {_text(failure.actual)}",
        f"Category: {failure.category} ({CATEGORIES.get(failure.category, '')})",
        f"Next step: {next_step}",
        (f"Affected resources: handle {handle}, campaignId {campaign_id or 'n/a'}, "
         f"slug(s) {', '.join(slugs) or 'n/a'}"),
        f"Failing exchange: {failing.label if failing else 'none (no HTTP exchange)'}",
        f"Request ids: {', '.join(ids) or 'none'}",
        f"Run: {run_id} against {environment} as {role}",
        f"Rollback intent: {rollback}",
    ]
    return "\n".join(lines)


def _text(value: Any) -> str:
    if value is None:
        return "n/a"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _repro(failure: Failure, failing: Exchange | None, exchanges: list[Exchange], rollback: str) -> dict:
    # An object, not a JSON string: the contract leaves the type open and an object stays readable.
    return {
        "curl": failing.curl() if failing else None,
        "status": failing.status if failing else None,
        "bodyExcerpt": failing.body_excerpt() if failing else None,
        "stateBefore": failure.state_before,
        "stateAfter": failure.state_after,
        "requestIds": [ex.request_id for ex in exchanges if ex.request_id],
        "rollbackIntent": rollback,
    }


def write_payload(payload: dict[str, Any], reports_dir: str | Path, nodeid: str) -> Path:
    """reports/escalations/<nodeid-slug>.json; the same nodeid always maps to the same file."""
    path = Path(reports_dir) / "escalations" / f"{slugify_nodeid(nodeid)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(redact_obj(payload), indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
    return path


def slugify_nodeid(nodeid: str, limit: int = 100) -> str:
    """A safe, stable filename for a nodeid; the hash keeps near-identical nodeids apart."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", nodeid).strip("-.") or "test"
    digest = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
    return f"{base[:limit]}-{digest}"


def send_payload(post: Callable[[dict[str, Any]], Exchange], payload: dict[str, Any]) -> str | None:
    """Send with the caller's POST-to-/v2/support/report function; the ticketId of a 202, else None."""
    exchange = post(payload)
    if any(exchange.path.startswith(p) for p in FORBIDDEN_PATHS):
        raise ValueError(f"escalation went to {exchange.path}; only {SUPPORT_REPORT_PATH} is allowed")
    if exchange.status != 202 or not isinstance(exchange.response_body, dict):
        return None
    ticket = exchange.response_body.get("ticketId")
    return ticket if isinstance(ticket, str) else None
