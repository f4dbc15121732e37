"""A run's message to the people who must act (report.notify), sent to a real HTTP receiver on loopback
(webhook_receiver.Receiver): audits of an attached sandbox started as its own process, a sandbox
fault that drops the traffic tags, shards and their merge, and the finisher's reminders. Tests wait
on the receiver's queue (a run's message is sent before its process exits), never on a sleep."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from harness_helpers import _env
from webhook_receiver import Receiver

from preflight.config.notify import NotifySettings
from preflight.report import finisher, notify
from preflight.report.facts import AUDIT, RunFacts

TAGS_DROPPED = {"traffic_tag_dropped": {}}  # links read back without utmMedium: the live links' tags break
TAG_FINDINGS = {"live_config", "utm_policy", "missing_traffic_tags"}
MESSAGE_KEYS = {"verdict", "previousVerdict", "command", "target", "runId", "reason", "findings", "unjudged", "report"}
FINDING_KEYS = {"category", "campaign", "variant", "message", "nextStep", "party"}


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def notify_block(project, *hooks: tuple[str, str], **options: Any) -> None:
    """The project's notify: block: each hook (env variable, format), and options."""
    block = {"on": "change", "timeout_seconds": 2, "attempts": 2, **options}
    block["webhooks"] = [{"url": f"${{{var}}}", "format": fmt} for var, fmt in hooks]
    project.edit_config(lambda data: data.update(notify=block))


def audit(project, urls: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    env = {k: v for k, v in _env().items() if not k.startswith(("GITHUB_", "PREFLIGHT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "preflight", "audit", "--no-html", "-n", "0", *args],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, **urls},
    )
    reports = project.path / (args[args.index("--reports") + 1] if "--reports" in args else "reports/audit")
    gate = json.loads((reports / "gate.json").read_text())
    return done, gate


def why(done: subprocess.CompletedProcess) -> str:
    return f"\n--- exit {done.returncode} ---\n{done.stdout[-2500:]}\n--- stderr ---\n{done.stderr[-1500:]}"


def leaks(token: str, folder: Path, outputs: list[subprocess.CompletedProcess]) -> list[str]:
    """Every file under folder, and every output, that holds the token."""
    found = [str(p) for p in folder.rglob("*") if p.is_file() and token in p.read_text(errors="replace")]
    return found + [f"output of run {i}" for i, done in enumerate(outputs) if token in done.stdout + done.stderr]


# -- the turn, the quiet repeat, the recovery ------------------------------------------------------------


def test_a_turn_is_sent_once_its_repeat_never_and_its_recovery_once(project, sandbox, receivers):
    plain, slack = receivers(), receivers()
    notify_block(project, ("PREFLIGHT_WEBHOOK_URL", "json"), ("PREFLIGHT_SLACK_URL", "slack"))
    urls = {"PREFLIGHT_WEBHOOK_URL": plain.url, "PREFLIGHT_SLACK_URL": slack.url}
    outputs = []

    healthy, gate = audit(project, urls)
    outputs.append(healthy)
    assert (healthy.returncode, gate["verdict"]) == (0, "PASS"), why(healthy)
    first = plain.messages()
    assert len(first) == 1 and first[0].body["previousVerdict"] is None, [m.body for m in first]
    assert len(slack.messages()) == 1

    sandbox.set_faults(TAGS_DROPPED)
    broken, gate = audit(project, urls)
    outputs.append(broken)
    assert (broken.returncode, gate["verdict"]) == (1, "FAIL"), why(broken)
    [turn] = plain.messages()
    body = turn.body
    assert MESSAGE_KEYS <= set(body), body.keys()
    assert (body["verdict"], body["previousVerdict"], body["command"]) == ("FAIL", "PASS", "audit"), body
    assert (body["target"], body["runId"], body["reason"]) == ("attached", gate["runId"], gate["reason"]), body
    assert {f["category"] for f in body["findings"]} == TAG_FINDINGS, body["findings"]
    assert all(FINDING_KEYS <= set(f) and f["nextStep"] for f in body["findings"]), body["findings"]
    assert body["report"]["summary"] == str(project.path / "reports" / "audit" / "summary.md"), body["report"]
    assert turn.headers["Content-Type"] == "application/json" and turn.path.endswith(plain.token)
    [chat] = slack.messages()
    assert chat.body["blocks"][0]["text"]["text"] == "❌ FAIL: preflight audit on attached", chat.body
    assert chat.body["text"].endswith("(Was PASS)") and "*Fix:*" in chat.body["blocks"][2]["text"]["text"]
    assert gate["notify"]["send"] and [d["status"] for d in gate["notified"]] == ["sent", "sent"], gate["notified"]
    assert "message: json to notify.webhooks[0]: sent" in broken.stdout, broken.stdout[-1500:]

    again, gate = audit(project, urls)
    outputs.append(again)
    assert (again.returncode, gate["verdict"]) == (1, "FAIL"), why(again)
    assert plain.messages() == [] and slack.messages() == [], "a verdict that stays FAIL is sent once"
    assert gate["notify"] == {
        "on": "change",
        "previousVerdict": "FAIL",
        "send": False,
        "why": "the verdict is still FAIL (on: change)",
        "reminder": False,
    }
    assert gate["notified"] == []
    summary = (project.path / "reports" / "audit" / "summary.md").read_text()
    assert summary.rstrip().endswith("Messages: none sent: the verdict is still FAIL (on: change)."), summary[-500:]

    sandbox.set_faults({})
    recovered, gate = audit(project, urls)
    outputs.append(recovered)
    assert (recovered.returncode, gate["verdict"]) == (0, "PASS"), why(recovered)
    [recovery] = plain.messages()
    assert (recovery.body["verdict"], recovery.body["previousVerdict"], recovery.body["findings"]) == (
        "PASS",
        "FAIL",
        [],
    )
    assert slack.messages()[0].body["text"] == "✅ PASS: preflight audit on attached (Recovered: was FAIL)"

    # The run history keeps each verdict and what was delivered; no webhook URL anywhere.
    lines = (project.path / "reports" / "audit" / "history" / "attached.audit.jsonl").read_text().splitlines()
    history = [json.loads(text) for text in lines]
    assert [(h["verdict"], bool(h.get("notice"))) for h in history] == [
        ("PASS", True),
        ("FAIL", True),
        ("FAIL", False),
        ("PASS", True),
    ]
    for receiver in (plain, slack):
        assert leaks(receiver.token, project.path / "reports", outputs) == [], receiver.url


# -- a receiver that is down or slow -----------------------------------------------------------------------


def test_a_receiver_that_is_down_never_changes_the_verdict(project, sandbox, receivers):
    down = receivers()
    down.go_down()  # its port now refuses every connection
    notify_block(project, ("PREFLIGHT_WEBHOOK_URL", "json"))
    sandbox.set_faults(TAGS_DROPPED)
    broken, gate = audit(project, {"PREFLIGHT_WEBHOOK_URL": down.url})
    assert (broken.returncode, gate["verdict"], gate["exitCode"]) == (1, "FAIL", 1), why(broken)
    [failed] = gate["notified"]
    assert (failed["status"], failed["attempts"], failed["httpStatus"]) == ("failed", 2, None), failed
    assert failed["error"].startswith("ConnectError: ") and failed["error"].endswith("(after 2 attempts)"), failed
    assert "message: json to notify.webhooks[0]: failed (ConnectError" in broken.stdout, broken.stdout[-1500:]
    summary = (project.path / "reports" / "audit" / "summary.md").read_text()
    assert "json to notify.webhooks[0]: failed: ConnectError" in summary, summary[-800:]
    assert leaks(down.token, project.path / "reports", [broken]) == []


def test_a_receiver_that_answers_500_then_200_gets_the_message_once(receivers):
    receiver = receivers(answers=(500,))
    hook = NotifySettings.model_validate({"webhooks": [{"url": receiver.url}], "attempts": 3}).webhooks[0]
    answer = notify.post(hook, {"verdict": "FAIL"}, NotifySettings(attempts=3))
    assert (answer.status, answer.httpStatus, answer.attempts, answer.error) == ("sent", 200, 2, None), answer
    assert [m.body for m in receiver.messages()] == [{"verdict": "FAIL"}] and receiver.requests == 2


def test_a_refusal_is_not_tried_again(receivers):
    receiver = receivers(answers=(404, 200))
    hook = NotifySettings.model_validate({"webhooks": [{"url": receiver.url}]}).webhooks[0]
    answer = notify.post(hook, {"verdict": "FAIL"}, NotifySettings(attempts=3))
    assert (answer.status, answer.httpStatus, answer.attempts) == ("failed", 404, 1), answer
    assert answer.error == "HTTP 404: receiver trouble" and receiver.requests == 1


def test_a_receiver_that_never_answers_costs_its_short_timeout_and_no_more(receivers):
    receiver = receivers(hang=True)
    settings = NotifySettings.model_validate(
        {"webhooks": [{"url": receiver.url}], "timeout_seconds": 0.3, "attempts": 2}
    )
    started = time.monotonic()
    answer = notify.post(settings.webhooks[0], {"verdict": "FAIL"}, settings)
    elapsed = time.monotonic() - started
    assert (answer.status, answer.attempts) == ("failed", 2), answer
    assert answer.error == "no answer within 0.3 s (after 2 attempts)", answer.error
    # Two attempts of 0.3 s and one backoff of 0.5 s: about 1 s, where the default timeout would take 10.5 s.
    assert elapsed < 5, elapsed
    assert receiver.token not in answer.error


# -- once per run: the merge, never a shard ------------------------------------------------------------------


def test_a_sharded_audit_is_sent_once_by_the_merge(project, receivers):
    receiver = receivers()
    notify_block(project, ("PREFLIGHT_WEBHOOK_URL", "json"))
    urls = {"PREFLIGHT_WEBHOOK_URL": receiver.url}
    for index in (1, 2):
        done, gate = audit(project, urls, "--shard", f"{index}/2", "--reports", f"reports/shard-{index}")
        assert done.returncode == 0, why(done)
        assert gate["notify"]["send"] is False and gate["notified"] == [], gate["notify"]
        assert gate["notify"]["why"] == f"shard {index}/2: `preflight merge` sends the whole run's message"
    assert receiver.messages() == [], "a shard sent a message"
    env = {**{k: v for k, v in _env().items() if not k.startswith("GITHUB_")}, **urls}
    merged = subprocess.run(
        [sys.executable, "-m", "preflight", "merge", "reports/shard-1", "reports/shard-2", "--out", "reports/merged",
         "--no-html"],
        cwd=project.path, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    gate = json.loads((project.path / "reports" / "merged" / "gate.json").read_text())
    assert (merged.returncode, gate["verdict"]) == (0, "PASS"), why(merged)
    [message] = receiver.messages()
    assert (message.body["verdict"], message.body["command"], message.body["runId"]) == ("PASS", "audit", gate["runId"])
    assert message.body["report"]["gate"] == str(project.path / "reports" / "merged" / "gate.json")
    assert [d["status"] for d in gate["notified"]] == ["sent"] and "message: json" in merged.stdout
    assert receiver.token not in merged.stdout + merged.stderr


# -- reminders, through the finisher and its run history -----------------------------------------------------


def finish(folder: Path, settings: NotifySettings, at: str, verdict: str) -> dict[str, Any]:
    """One audit's end, as the finisher writes it: a passed check, or a live link's finding."""
    result = {
        "nodeid": "suites/live/test_live_config.py::test_live_links_match[spring-ab:spring-a]",
        "step": "live_config",
        "campaignId": "spring-ab",
        "slug": "spring-a",
        "outcome": "passed" if verdict == "PASS" else "failed",
        "category": None if verdict == "PASS" else "live_config",
        "party": None if verdict == "PASS" else "marketer",
        "message": "" if verdict == "PASS" else "[live_config] the live link spring-a is disabled",
    }
    ending = finisher.Ending(
        out=folder,
        run_id=f"run-{at}",
        target="production",
        started_at=at,
        finished_at=at,
        history=finisher.history_file(folder / "history", "production", AUDIT),
        notify=settings,
    )
    return finisher.finish(ending, [result], RunFacts(mode=AUDIT))


def test_a_verdict_that_stays_fail_is_reminded_every_n_hours(tmp_path, receivers):
    receiver = receivers()
    settings = NotifySettings.model_validate({"webhooks": [{"url": receiver.url}], "remind_every_hours": 6})
    expected = [
        ("2026-11-27T00:00:00Z", "PASS", (False, None)),  # the first verdict on record
        ("2026-11-27T01:00:00Z", "FAIL", (False, "PASS")),  # the turn
        ("2026-11-27T03:00:00Z", "FAIL", None),  # 2 h later: quiet
        ("2026-11-27T07:00:00Z", "FAIL", (True, "FAIL")),  # 6 h after the turn's message: a reminder
        ("2026-11-27T12:00:00Z", "FAIL", None),  # 5 h after the reminder: quiet
        ("2026-11-27T13:00:00Z", "FAIL", (True, "FAIL")),  # 6 h after the reminder
        ("2026-11-27T14:00:00Z", "PASS", (False, "FAIL")),  # the recovery
        ("2026-11-28T14:00:00Z", "PASS", None),  # a PASS that stays is never reminded of
    ]
    for at, verdict, message in expected:
        gate = finish(tmp_path, settings, at, verdict)
        assert gate["verdict"] == verdict, gate["reason"]
        got = [(m.body["reminder"], m.body["previousVerdict"]) for m in receiver.messages()]
        assert got == ([message] if message else []), (at, gate["notify"])


def test_a_message_that_could_not_be_delivered_is_sent_by_the_next_run(tmp_path, receivers):
    down, up = receivers(), receivers()
    down.go_down()

    def to(receiver: Receiver) -> NotifySettings:
        return NotifySettings.model_validate({"webhooks": [{"url": receiver.url}], "attempts": 1})

    finish(tmp_path, to(up), "2026-11-27T00:00:00Z", "PASS")
    assert len(up.messages()) == 1
    gate = finish(tmp_path, to(down), "2026-11-27T01:00:00Z", "FAIL")
    assert [d["status"] for d in gate["notified"]] == ["failed"], gate["notified"]
    gate = finish(tmp_path, to(up), "2026-11-27T02:00:00Z", "FAIL")
    [late] = up.messages()
    assert (late.body["verdict"], late.body["runId"]) == ("FAIL", "run-2026-11-27T02:00:00Z"), late.body
    assert gate["notify"]["why"] == "the message of an earlier FAIL did not reach every webhook: sent again"
    finish(tmp_path, to(up), "2026-11-27T03:00:00Z", "FAIL")
    assert up.messages() == [], "delivered once: the next repeat is quiet again"


def test_a_webhook_set_while_the_verdict_stays_fail_hears_it_the_next_run(tmp_path, receivers):
    """A team that sets $PREFLIGHT_WEBHOOK_URL while the audit is FAIL is told at the next run."""
    receiver = receivers()
    unset = NotifySettings.model_validate({"webhooks": [{"url": "${PREFLIGHT_WEBHOOK_URL}"}]})
    gate = finish(tmp_path, unset, "2026-11-27T01:00:00Z", "FAIL")
    assert gate["notified"] == [
        {
            "index": 0,
            "webhook": "notify.webhooks[0]",
            "format": "json",
            "status": "skipped",
            "httpStatus": None,
            "attempts": 0,
            "error": "not sent: $PREFLIGHT_WEBHOOK_URL is not set",
        }
    ]
    set_now = NotifySettings.model_validate({"webhooks": [{"url": receiver.url}]})
    finish(tmp_path, set_now, "2026-11-27T02:00:00Z", "FAIL")
    assert [m.body["verdict"] for m in receiver.messages()] == ["FAIL"]
    finish(tmp_path, set_now, "2026-11-27T03:00:00Z", "FAIL")
    assert receiver.messages() == []
