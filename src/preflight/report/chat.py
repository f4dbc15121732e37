"""The run's message (report.notify.message) as a chat message: Slack's Block Kit and a Microsoft
Teams Adaptive Card (the Workflows webhook's format: a message with one card attachment).

Both show the same: the verdict and what it was, the reason, the top findings with whose fix and
the fix itself, what is left out, and a link to the report (a button when it has a URL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TOP = 5  # findings shown in a chat message; the rest are counted, the report has them all
ICONS = {"PASS": "✅", "FAIL": "❌", "ERROR": "⚠️", "HOLD": "⏸️"}
# Slack's Block Kit limits (characters): header text, section text, button text.
HEADER_MAX, SECTION_MAX, BUTTON_MAX = 150, 3000, 75


def title(msg: Mapping[str, Any]) -> str:
    verdict = msg.get("verdict") or "ERROR"
    where = f" on {msg['target']}" if msg.get("target") else ""
    return f"{ICONS.get(verdict, '')} {verdict}: preflight {msg.get('command')}{where}".strip()


def turn(msg: Mapping[str, Any]) -> str:
    """What the verdict was before: the turn, a recovery, a reminder, or the first."""
    verdict, previous = msg.get("verdict"), msg.get("previousVerdict")
    if msg.get("reminder"):
        return f"Still {verdict} (a reminder)"
    if previous is None:
        return "The first verdict on record"
    if previous == verdict:
        return f"Still {verdict}"
    return f"Recovered: was {previous}" if verdict == "PASS" else f"Was {previous}"


def finding_lines(finding: Mapping[str, Any]) -> tuple[str, str, str]:
    """(what and where, the finding, the fix) of one finding."""
    where = " / ".join(str(part) for part in (finding.get("campaign"), finding.get("variant")) if part)
    head = f"{finding.get('category')} · {where or 'the run'} ({finding.get('party')} side)"
    return head, finding.get("message") or "", finding.get("nextStep") or ""


def more(msg: Mapping[str, Any]) -> list[str]:
    """What the message leaves out: further findings, checks that could not judge."""
    lines = []
    left = (msg.get("findingsTotal") or 0) - TOP
    if left > 0:
        lines.append(f"and {left} more finding(s) in the report")
    if msg.get("unjudgedTotal"):
        lines.append(f"{msg['unjudgedTotal']} check(s) could not judge (the report says what makes each judgeable)")
    roots = msg.get("rootCauses") or []
    if roots:
        lines.append(f"{len(roots)} platform root cause(s), each with a support report ready")
    return lines


# -- Slack -----------------------------------------------------------------------------------------


def slack(msg: Mapping[str, Any]) -> dict[str, Any]:
    """Block Kit: a header, the turn and the reason, one section per top finding with its fix, what is
    left out, and the report (a button to its URL, else where the files are)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title(msg), HEADER_MAX), "emoji": True}},
        _section(f"*{_esc(turn(msg))}* · run `{_esc(msg.get('runId'))}`\n{_esc(msg.get('reason'))}"),
    ]
    for finding in (msg.get("findings") or [])[:TOP]:
        head, text, fix = finding_lines(finding)
        blocks.append(_section(f"*{_esc(head)}*\n{_esc(text)}" + (f"\n*Fix:* {_esc(fix)}" if fix else "")))
    notes = more(msg)
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc("; ".join(notes))}]})
    blocks.append(_slack_report(msg.get("report") or {}))
    return {"text": f"{title(msg)} ({turn(msg)})", "blocks": blocks}


def _slack_report(report: Mapping[str, Any]) -> dict[str, Any]:
    url = report.get("url")
    if url:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Open the report"}, "url": url}
        return {"type": "actions", "elements": [button]}
    where = report.get("html") or report.get("summary")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Report: `{_esc(where)}`"}]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SECTION_MAX)}}


def _esc(text: Any) -> str:
    """Slack's mrkdwn escapes: &, < and > (a `<` would start a link)."""
    return str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- Microsoft Teams -------------------------------------------------------------------------------

CARD = "application/vnd.microsoft.card.adaptive"
COLOURS = {"PASS": "Good", "FAIL": "Attention", "ERROR": "Warning", "HOLD": "Warning"}


def teams(msg: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams Workflows webhook body: a message whose one attachment is an Adaptive Card (1.4)."""
    body: list[dict[str, Any]] = [
        _text(title(msg), size="Large", weight="Bolder", color=COLOURS.get(msg.get("verdict") or "", "Default")),
        _text(turn(msg), weight="Bolder", spacing="None"),
        _text(msg.get("reason") or ""),
        {
            "type": "FactSet",
            "facts": [
                {"title": "Target", "value": str(msg.get("target") or "?")},
                {"title": "Command", "value": f"preflight {msg.get('command')}"},
                {"title": "Run", "value": str(msg.get("runId") or "?")},
            ],
        },
    ]
    for finding in (msg.get("findings") or [])[:TOP]:
        head, text, fix = finding_lines(finding)
        body.append(_text(head, weight="Bolder", separator=True))
        body.append(_text(text, spacing="None"))
        if fix:
            body.append(_text(f"Fix: {fix}", isSubtle=True, spacing="None"))
    body += [_text(note, isSubtle=True, size="Small") for note in more(msg)]
    report = msg.get("report") or {}
    if not report.get("url"):
        body.append(_text(f"Report: {report.get('html') or report.get('summary')}", isSubtle=True, size="Small"))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [block for block in body if block["type"] != "TextBlock" or block["text"]],  # no empty text
    }
    if report.get("url"):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": report["url"]}]
    return {"type": "message", "attachments": [{"contentType": CARD, "contentUrl": None, "content": card}]}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}
