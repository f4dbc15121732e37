"""Tell the people who must act: one message when a run's verdict turns, one when it recovers.

What to send and to whom is decided here, once per run at its end (report.finisher: a run's
controller, or `preflight merge` for a sharded run; never a shard). The previous verdict is the
last line of the run history of the same target and command, read before this run's line is
appended. A receiver that is down or slow never changes the verdict or the exit code: the gate
records what was sent and what failed (`notify`, `notified`), the history what was delivered
(`notice`), so a message that did not reach a webhook is tried again by the next run.

`on: change` (the default) sends when the verdict differs from the last one, so a FAIL is sent once
and its recovery once; `on: always` every run; `on: fail` every run that is not PASS (FAIL, ERROR
or HOLD: someone must act on each). `remind_every_hours` re-sends a verdict other than PASS that
stays, that long after the last message delivered.

Bodies: `json` (the message below, for any receiver), `slack` (Block Kit) and `teams` (an Adaptive
Card in a message attachment, the Workflows webhook format): report.chat.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from preflight.config.notify import NotifySettings, Webhook
from preflight.core.categories import PARTIES
from preflight.core.clock import parse_time
from preflight.core.redact import redact_obj, redact_text
from preflight.report import chat, judgement
from preflight.report.facts import AUDIT

PASS = judgement.PASS
MAX_LISTED = 50  # findings and unjudged checks in one JSON message (the report has them all)
BACKOFF_SECONDS = 0.5  # before the second attempt; doubles each time
MAX_RETRY_AFTER = 10.0  # the longest a receiver's Retry-After may hold the end of a run
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
SENT, FAILED, SKIPPED = "sent", "failed", "skipped"


@dataclass(frozen=True)
class Decision:
    """Whether this run sends its verdict, and why (in words, for the gate and the summary)."""

    send: bool
    why: str
    previous: str | None  # the verdict of the last run of the same target and command
    reminder: bool = False
    only: tuple[int, ...] | None = None  # the webhooks to send to (None: all): a retry of undelivered ones


@dataclass
class Notice:
    """What a run decided and what each webhook answered."""

    decision: Decision
    on: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def gate_block(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "previousVerdict": self.decision.previous,
            "send": self.decision.send,
            "why": self.decision.why,
            "reminder": self.decision.reminder,
        }

    def history_entry(self, gate: Mapping[str, Any]) -> dict[str, Any] | None:
        """What the next runs need of this run's message: when, which verdict, which webhooks it did not
        reach (it failed, or the webhook's URL was not set yet: the next run tries them again)."""
        if not self.deliveries:
            return None
        return {
            "at": gate.get("finishedAt"),
            "verdict": gate.get("verdict"),
            "reminder": self.decision.reminder,
            "sent": [d["index"] for d in self.deliveries if d["status"] == SENT],
            "failed": [d["index"] for d in self.deliveries if d["status"] != SENT],
        }


# -- when ------------------------------------------------------------------------------------------


def decide(settings: NotifySettings, verdict: str, entries: list[dict[str, Any]], now: datetime | None) -> Decision:
    """Send or not, from the run history of the same target and command (oldest first, this run's
    line not yet in it)."""
    previous = entries[-1].get("verdict") if entries else None
    if not settings.webhooks:
        return Decision(False, "no webhook configured (notify.webhooks)", previous)
    chosen = _by_rule(settings.on, verdict, previous, entries)
    if chosen.send or verdict == PASS or not settings.remind_every_hours or previous != verdict:
        return chosen
    return _reminder(settings.remind_every_hours, verdict, previous, entries, now) or chosen


def _by_rule(on: str, verdict: str, previous: str | None, entries: list[dict[str, Any]]) -> Decision:
    if on == "always":
        return Decision(True, "on: always", previous)
    if on == "fail":
        if verdict == PASS:
            return Decision(False, "on: fail, and the verdict is PASS", previous)
        return Decision(True, f"on: fail, and the verdict is {verdict}", previous)
    if previous is None:
        return Decision(True, "the first verdict of this target and command in the run history", previous)
    if previous != verdict:
        return Decision(True, f"the verdict turned {previous} -> {verdict}", previous)
    undelivered = _undelivered(entries, verdict)
    if undelivered:
        return Decision(
            True,
            f"the message of an earlier {verdict} did not reach every webhook: sent again",
            previous,
            only=undelivered,
        )
    return Decision(False, f"the verdict is still {verdict} (on: change)", previous)


def _undelivered(entries: list[dict[str, Any]], verdict: str) -> tuple[int, ...] | None:
    """The webhooks the last message failed to reach, when it was about this same verdict."""
    last = next((e["notice"] for e in reversed(entries) if isinstance(e.get("notice"), dict)), None)
    if last is None or last.get("verdict") != verdict or not last.get("failed"):
        return None
    return tuple(last["failed"])


def _reminder(
    hours: float, verdict: str, previous: str | None, entries: list[dict[str, Any]], now: datetime | None
) -> Decision | None:
    delivered = [e["notice"] for e in entries if isinstance(e.get("notice"), dict) and e["notice"].get("sent")]
    last_at = parse_time(delivered[-1].get("at")) if delivered else None
    if now is not None and last_at is not None and (now - last_at).total_seconds() < hours * 3600:
        return None
    since = f"since {last_at.isoformat().replace('+00:00', 'Z')}" if last_at else "and never sent"
    why = f"a reminder: the verdict is still {verdict}, last message {since} (remind_every_hours: {hours:g})"
    return Decision(True, why, previous, reminder=True)


# -- what ------------------------------------------------------------------------------------------


def command_of(gate: Mapping[str, Any]) -> str:
    return "audit" if gate.get("mode") == AUDIT else "run"


def message(gate: Mapping[str, Any], decision: Decision, report: dict[str, Any]) -> dict[str, Any]:
    """The one JSON object a run sends (`format: json`); the chat formats render the same."""
    found = findings(gate)
    unjudged = list(gate.get("unjudged") or [])
    return redact_obj(
        {
            "verdict": gate.get("verdict"),
            "previousVerdict": decision.previous,
            "reminder": decision.reminder,
            "command": command_of(gate),
            "target": gate.get("target"),
            "runId": gate.get("runId"),
            "finishedAt": gate.get("finishedAt"),
            "exitCode": gate.get("exitCode"),
            "reason": gate.get("reason"),
            "findings": found[:MAX_LISTED],
            "findingsTotal": len(found),
            "rootCauses": root_causes(gate),
            "unjudged": [_unjudged(entry) for entry in unjudged[:MAX_LISTED]],
            "unjudgedTotal": len(unjudged),
            "report": report,
        }
    )


def findings(gate: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each failed check once per campaign and variant: the platform's first, then the marketer's and
    the customer site's (each names its fix), then the user's and the harness's; within a party one
    of each category before a second of any, so the top of the list shows every kind of finding."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for result in gate.get("results") or []:
        if judgement.is_bad(result):
            entry = _finding(result)
            key = (entry["party"], entry["category"], entry["campaign"], entry["variant"], result.get("cause"))
            seen.setdefault(key, entry)
    parties = {party: index for index, party in enumerate(PARTIES)}
    nth: dict[tuple[str, str], int] = {}
    ranked = []
    for index, entry in enumerate(seen.values()):
        kind = (entry["party"], entry["category"])
        nth[kind] = nth.get(kind, -1) + 1
        ranked.append(((parties.get(entry["party"], len(parties)), nth[kind], index), entry))
    return [entry for _, entry in sorted(ranked, key=lambda item: item[0])]


def _finding(result: Mapping[str, Any]) -> dict[str, Any]:
    category = judgement.category(result)
    text = _first_line(result.get("message"))
    return {
        "category": category,
        "party": judgement.result_party(result),
        "campaign": result.get("campaign") or result.get("campaignId"),
        "variant": result.get("variant") or result.get("slug"),
        "message": text.removeprefix(f"[{category}]").strip(),
        "nextStep": judgement.next_step(result),
    }


def root_causes(gate: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The platform's root causes (one support report each); the marketer's and the site's findings
    are never escalated, so they are not among them."""
    return [
        {
            "category": entry.get("category"),
            "cause": entry.get("cause"),
            "campaigns": entry.get("campaigns") or [],
            "tests": len(entry.get("tests") or []),
        }
        for entry in gate.get("escalations") or []
    ]


def _unjudged(entry: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("check", "campaign", "variant", "why", "fix")
    return {key: entry.get(key) for key in keys}


def _first_line(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


def report_location(settings: NotifySettings, out: Path, html: str | None) -> dict[str, Any]:
    """Where the report is: a URL the team opens (notify.report_url, else the GitHub Actions run) and
    the files on the machine that ran it."""
    return {
        "url": settings.report_url or github_run_url(os.environ),
        "html": html,
        "summary": str(out / "summary.md"),
        "gate": str(out / "gate.json"),
    }


def github_run_url(environ: Mapping[str, str]) -> str | None:
    parts = [environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


BODIES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "json": lambda msg: msg,
    "slack": chat.slack,
    "teams": chat.teams,
}


# -- to whom ---------------------------------------------------------------------------------------


def run(
    settings: NotifySettings, gate: Mapping[str, Any], entries: list[dict[str, Any]], report: dict[str, Any]
) -> Notice:
    """Decide, then post the message to each webhook: once per run, never from a shard."""
    if gate.get("shard"):
        shard = gate["shard"]
        why = f"shard {shard.get('index')}/{shard.get('total')}: `preflight merge` sends the whole run's message"
        return Notice(Decision(False, why, None), settings.on)
    decision = decide(settings, gate.get("verdict") or "ERROR", entries, parse_time(gate.get("finishedAt")))
    notice = Notice(decision, settings.on)
    if not decision.send:
        return notice
    body = message(gate, decision, report)
    for index, hook in enumerate(settings.webhooks):
        if decision.only is not None and index not in decision.only:
            continue
        entry = {"index": index, "webhook": f"notify.webhooks[{index}]", "format": hook.format}
        if hook.unset:
            names = ", ".join(f"${name}" for name in hook.unset)
            entry.update(status=SKIPPED, httpStatus=None, attempts=0, error=f"not sent: {names} is not set")
        else:
            answer = post(hook, BODIES[hook.format](body), settings)
            entry.update(asdict(answer))
        notice.deliveries.append(entry)
    return notice


@dataclass
class Reply:
    status: str  # sent or failed
    httpStatus: int | None  # noqa: N815 (the gate's own camelCase)
    attempts: int
    error: str | None


def post(hook: Webhook, body: dict[str, Any], settings: NotifySettings) -> Reply:
    """POST the body, with a short timeout and a few attempts (backing off, and as long as a 429's
    Retry-After says, within reason); a 4xx other than 408/425/429 is not tried again."""
    from preflight import __version__

    _redact_httpx_log()
    headers = {"user-agent": f"campaign-preflight/{__version__}"}
    with httpx.Client(timeout=settings.timeout_seconds, headers=headers, follow_redirects=False) as client:
        for attempt in range(1, settings.attempts + 1):
            reply, wait = _attempt(client, hook, body, settings.timeout_seconds)
            reply.attempts = attempt
            if reply.status == SENT or wait is None or attempt == settings.attempts:
                break
            time.sleep(max(wait, BACKOFF_SECONDS * 2 ** (attempt - 1)))
    if reply.status == FAILED:
        tried = f" (after {reply.attempts} attempts)" if wait is not None else ""
        reply.error = redact_text(f"{reply.error}{tried}", hook.secrets())
    return reply


def _attempt(client: httpx.Client, hook: Webhook, body: dict[str, Any], timeout: float) -> tuple[Reply, float | None]:
    """One POST: its reply, and how long to wait before another (None: not worth another)."""
    try:
        answer = client.post(hook.url.get_secret_value(), json=body)
    except httpx.TimeoutException:
        return Reply(FAILED, None, 1, f"no answer within {timeout:g} s"), 0.0
    except httpx.HTTPError as exc:
        return Reply(FAILED, None, 1, f"{type(exc).__name__}: {exc}"), 0.0
    if answer.is_success:
        return Reply(SENT, answer.status_code, 1, None), None
    reply = Reply(FAILED, answer.status_code, 1, f"HTTP {answer.status_code}: {answer.text.strip()[:200]}")
    if answer.status_code not in RETRIED_STATUSES:
        return reply, None
    return reply, min(_retry_after(answer), MAX_RETRY_AFTER)


def _retry_after(answer: httpx.Response) -> float:
    from preflight.core.clock import retry_after_seconds

    return retry_after_seconds(answer.headers.get("retry-after"), answer.headers.get("date")) or 0.0


class _RedactedLog(logging.Filter):
    """httpx logs each request's URL at INFO: a webhook's URL is its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_text(record.getMessage()), ()
        return True


def _redact_httpx_log() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactedLog) for f in logger.filters):
        logger.addFilter(_RedactedLog())


# -- in words ----------------------------------------------------------------------------------------


def summary_line(notice: Notice) -> str:
    """One line for summary.md and the terminal: what was sent where, or why nothing was."""
    if not notice.deliveries:
        return f"Messages: none sent: {notice.decision.why}."
    parts = [_delivery_words(d) for d in notice.deliveries]
    return f"Messages ({notice.decision.why}): " + "; ".join(parts) + "."


def _delivery_words(delivery: Mapping[str, Any]) -> str:
    where = f"{delivery['format']} to {delivery['webhook']}"
    if delivery["status"] == SENT:
        return f"{where}: sent (HTTP {delivery['httpStatus']})"
    return f"{where}: {delivery['status']}: {delivery.get('error')}"
