"""A run's message (report.notify, report.chat, config/notify.py): when it is sent, what it says, the
Slack and Teams bodies as Slack's and Microsoft's own libraries read them, and the notify: block's
config lines. The sending itself, to a real receiver, is tests/harness/test_notify.py."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight.config import ConfigError, load_run_config
from preflight.config.loader import load_notify
from preflight.config.notify import NotifySettings
from preflight.core.clock import parse_time
from preflight.core.redact import redact_text
from preflight.report import chat, notify

REPO = Path(__file__).resolve().parents[2]
HOOK = "https://hooks.slack.com/services/T0001/B0001/" + "abcdEFGHijklMNOPqrstUVWX"


def settings(**fields: Any) -> NotifySettings:
    return NotifySettings.model_validate({"webhooks": [{"url": HOOK}], **fields})


def line(verdict: str, at: str = "2026-11-27T00:00:00Z", notice: dict | None = None) -> dict[str, Any]:
    return {"verdict": verdict, "finishedAt": at, **({"notice": notice} if notice else {})}


def sent(verdict: str, at: str, failed: tuple[int, ...] = ()) -> dict[str, Any]:
    return {"at": at, "verdict": verdict, "reminder": False, "sent": [] if failed else [0], "failed": list(failed)}


NOW = parse_time("2026-11-27T12:00:00Z")


# -- when -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verdict, history, send, why",
    [
        ("PASS", [], True, "the first verdict of this target and command in the run history"),
        ("FAIL", [line("PASS")], True, "the verdict turned PASS -> FAIL"),
        ("FAIL", [line("PASS"), line("FAIL", notice=sent("FAIL", "2026-11-27T10:00:00Z"))], False, "still FAIL"),
        ("PASS", [line("FAIL", notice=sent("FAIL", "2026-11-27T10:00:00Z"))], True, "turned FAIL -> PASS"),
        ("PASS", [line("PASS")], False, "the verdict is still PASS (on: change)"),
        ("HOLD", [line("FAIL")], True, "the verdict turned FAIL -> HOLD"),
        ("ERROR", [line("ERROR")], False, "still ERROR"),
    ],
    ids=["first", "turn", "repeat", "recovery", "healthy-repeat", "fail-to-hold", "error-repeat"],
)
def test_on_change_sends_the_turn_and_the_recovery_once(verdict, history, send, why):
    decision = notify.decide(settings(), verdict, history, NOW)
    assert decision.send is send and why in decision.why, decision
    assert decision.previous == (history[-1]["verdict"] if history else None)


def test_an_undelivered_message_is_tried_again_only_where_it_failed():
    history = [line("PASS"), line("FAIL", notice=sent("FAIL", "2026-11-27T10:00:00Z", failed=(1,)))]
    two = NotifySettings.model_validate({"webhooks": [{"url": HOOK}, {"url": HOOK + "x", "format": "slack"}]})
    decision = notify.decide(two, "FAIL", history, NOW)
    assert decision.send and decision.only == (1,) and "did not reach every webhook" in decision.why, decision
    # Delivered the next time: the run after is quiet again.
    history.append(line("FAIL", notice=sent("FAIL", "2026-11-27T11:00:00Z")))
    assert not notify.decide(two, "FAIL", history, NOW).send
    # An undelivered FAIL is not sent again once the verdict moved on (the recovery is a turn of its own).
    recovered = notify.decide(two, "PASS", history[:2], NOW)
    assert recovered.send and recovered.only is None and "turned FAIL -> PASS" in recovered.why


@pytest.mark.parametrize(
    "on, verdict, send",
    [("always", "PASS", True), ("always", "FAIL", True), ("fail", "PASS", False), ("fail", "FAIL", True),
     ("fail", "ERROR", True), ("fail", "HOLD", True)],
)  # fmt: skip
def test_always_and_fail_say_what_their_names_say(on, verdict, send):
    history = [line(verdict, notice=sent(verdict, "2026-11-27T11:00:00Z"))]  # the same verdict, just sent
    assert notify.decide(settings(on=on), verdict, history, NOW).send is send


@pytest.mark.parametrize(
    "last_sent, remind",
    [("2026-11-27T07:00:00Z", False), ("2026-11-27T05:59:59Z", True), (None, True)],
    ids=["5h-ago", "6h-ago", "never-sent"],
)
def test_remind_every_hours_re_sends_a_verdict_that_stays_fail(last_sent, remind):
    history = [line("PASS"), line("FAIL", notice=sent("FAIL", last_sent) if last_sent else None), line("FAIL")]
    decision = notify.decide(settings(remind_every_hours=6), "FAIL", history, NOW)
    assert (decision.send, decision.reminder) == (remind, remind), decision
    if remind:
        assert "a reminder: the verdict is still FAIL" in decision.why, decision.why
    # A PASS that stays is never reminded of.
    healthy = [line("PASS", notice=sent("PASS", "2026-11-01T00:00:00Z")), line("PASS")]
    assert not notify.decide(settings(remind_every_hours=6), "PASS", healthy, NOW).send


def test_no_webhook_sends_nothing_but_still_names_the_previous_verdict():
    decision = notify.decide(NotifySettings(), "FAIL", [line("PASS")], NOW)
    assert (decision.send, decision.previous) == (False, "PASS") and "notify.webhooks" in decision.why


# -- what -------------------------------------------------------------------------------------------------


def failed(category: str, campaign: str, variant: str | None, party: str | None = None, **extra: Any) -> dict:
    return {
        "nodeid": f"suites/live/test_x.py::test_{category}[{campaign}:{variant}]",
        "outcome": "failed",
        "category": category,
        "campaign": campaign,
        "variant": variant,
        "message": f"[{category}] {category} on {variant}\n  expected: something",
        **({"party": party} if party else {}),
        **extra,
    }


GATE = {
    "verdict": "FAIL",
    "mode": "audit",
    "target": "production",
    "runId": "20261127-010203-abcd",
    "finishedAt": "2026-11-27T01:03:00Z",
    "exitCode": 1,
    "reason": "5 test(s) failed from 1 root cause(s) and 4 finding(s) to fix in the campaign",
    "results": [
        failed("live_config", "spring-ab", "spring-a", nextStep="edit link spring-a"),
        failed("live_config", "spring-ab", "spring-b", nextStep="edit link spring-b"),
        failed("utm_policy", "spring-ab", "spring-a"),
        failed("landing_page", "spring-ab", "spring-a"),
        failed("health_mismatch", "diwali-sale", None, cause="PAT and JWT health disagree"),
        {"nodeid": "suites/live/test_y.py::test_ok", "outcome": "passed", "campaign": "spring-ab"},
    ],
    "escalations": [
        {"category": "health_mismatch", "cause": "PAT and JWT health disagree", "campaigns": ["diwali-sale"],
         "tests": ["a", "b"]}
    ],
    "unjudged": [{"check": "A9 · funnel", "campaign": "spring-ab", "variant": None, "why": "analytics lag",
                  "fix": "wait", "test": "t"}],
}  # fmt: skip


def test_the_message_says_the_turn_the_findings_with_their_fix_and_where_the_report_is():
    decision = notify.Decision(True, "turned", "PASS")
    report = notify.report_location(
        settings(), Path("/r"), "/r/allure-report/index.html"
    )  # outside CI: no URL, the files
    msg = notify.message(GATE, decision, report)
    assert {k: msg[k] for k in ("verdict", "previousVerdict", "command", "target", "runId", "exitCode")} == {
        "verdict": "FAIL",
        "previousVerdict": "PASS",
        "command": "audit",
        "target": "production",
        "runId": "20261127-010203-abcd",
        "exitCode": 1,
    }
    # The platform's first, then the marketer's and the site's; one of each category before a second.
    order = [(f["party"], f["category"], f["variant"]) for f in msg["findings"]]
    assert order == [
        ("platform", "health_mismatch", None),
        ("marketer", "live_config", "spring-a"),
        ("marketer", "utm_policy", "spring-a"),
        ("marketer", "live_config", "spring-b"),
        ("customer site", "landing_page", "spring-a"),
    ], order
    first = msg["findings"][1]
    assert first["message"] == "live_config on spring-a" and first["nextStep"] == "edit link spring-a", first
    assert msg["findings"][2]["nextStep"], "a finding without its own next step gets its category's"
    assert msg["rootCauses"] == [
        {"category": "health_mismatch", "cause": "PAT and JWT health disagree", "campaigns": ["diwali-sale"],
         "tests": 2}
    ]  # fmt: skip
    assert msg["unjudged"] == [
        {"check": "A9 · funnel", "campaign": "spring-ab", "variant": None, "why": "analytics lag", "fix": "wait"}
    ]
    assert msg["report"] == {
        "url": None,
        "html": "/r/allure-report/index.html",
        "summary": "/r/summary.md",
        "gate": "/r/gate.json",
    }
    json.dumps(msg)  # one JSON object


def test_in_github_actions_the_report_is_the_run_page_unless_the_config_names_one(monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "gharart/funnel")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    assert (
        notify.report_location(settings(), Path("r"), None)["url"]
        == "https://github.com/gharart/funnel/actions/runs/4242"
    )
    named = settings(report_url="https://reports.example.com/preflight/")
    assert notify.report_location(named, Path("r"), None)["url"] == "https://reports.example.com/preflight/"


def test_a_shard_never_sends_the_merge_does():
    shard = {**GATE, "shard": {"index": 2, "total": 3}}
    notice = notify.run(settings(on="always"), shard, [], {})
    assert notice.deliveries == [] and not notice.decision.send
    assert "shard 2/3: `preflight merge` sends" in notice.decision.why


# -- Slack: Block Kit, read by Slack's own SDK models ---------------------------------------------------


def slack_blocks(body: dict[str, Any]) -> list[Any]:
    from slack_sdk.models.blocks import Block

    parsed = []
    for block in body["blocks"]:
        model = Block.parse(block)
        assert model is not None, f"not a Block Kit block: {block}"
        model.validate_json()  # Slack's limits: header 150, section 3000, button 75 characters, …
        assert model.to_dict() == block, f"Slack's model reads it otherwise:\n{model.to_dict()}\n{block}"
        parsed.append(model)
    return parsed


def test_the_slack_message_is_block_kit_with_the_verdict_the_top_findings_their_fix_and_the_report():
    msg = notify.message(GATE, notify.Decision(True, "turned", "PASS"), {"url": "https://ci.example/run/1"})
    body = chat.slack(msg)
    blocks = slack_blocks(body)
    assert body["text"] == "❌ FAIL: preflight audit on production (Was PASS)"  # the notification's own line
    assert [b.type for b in blocks] == ["header", "section"] + ["section"] * 5 + ["context", "actions"]
    assert body["blocks"][0]["text"]["text"] == "❌ FAIL: preflight audit on production"
    assert body["blocks"][1]["text"]["text"].startswith("*Was PASS* · run `20261127-010203-abcd`\n5 test(s) failed")
    finding = body["blocks"][3]["text"]["text"]
    assert (
        finding
        == "*live_config · spring-ab / spring-a (marketer side)*\nlive_config on spring-a\n*Fix:* edit link spring-a"
    )
    assert "1 check(s) could not judge" in body["blocks"][7]["elements"][0]["text"]
    assert body["blocks"][8]["elements"][0]["url"] == "https://ci.example/run/1"


def test_the_slack_message_escapes_and_cuts_to_slacks_limits():
    long = {**GATE, "target": "t" * 200, "reason": "<!channel> & " + "x" * 4000}
    msg = notify.message(long, notify.Decision(True, "first", None), {"summary": "reports/summary.md"})
    body = chat.slack(msg)
    slack_blocks(body)  # within every limit
    section = body["blocks"][1]["text"]["text"]
    assert section.startswith("*The first verdict on record*") and "&lt;!channel&gt; &amp; " in section
    assert body["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Report: `reports/summary.md`"}],
    }  # no URL: where the files are


def test_a_recovery_and_a_reminder_say_so():
    recovery = chat.slack(
        notify.message({**GATE, "verdict": "PASS", "results": []}, notify.Decision(True, "", "FAIL"), {})
    )
    assert recovery["text"] == "✅ PASS: preflight audit on production (Recovered: was FAIL)"
    reminder = chat.slack(notify.message(GATE, notify.Decision(True, "", "FAIL", reminder=True), {}))
    assert reminder["text"].endswith("(Still FAIL (a reminder))")


# -- Teams: an Adaptive Card, read by Microsoft's own library ---------------------------------------------

needs_adaptivecards = pytest.mark.skipif(
    not (REPO / "node_modules" / "adaptivecards").is_dir() or not shutil.which("node"),
    reason="node_modules/adaptivecards missing: run make setup",
)


def parse_card(card: dict[str, Any]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", str(REPO / "tests" / "ci" / "adaptive_card.mjs")],
        input=json.dumps(card),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


@needs_adaptivecards
def test_the_teams_message_is_an_adaptive_card_in_a_workflows_message():
    msg = notify.message(GATE, notify.Decision(True, "turned", "PASS"), {"url": "https://ci.example/run/1"})
    body = chat.teams(msg)
    assert body["type"] == "message" and len(body["attachments"]) == 1
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    done = parse_card(card)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout) == card, "Microsoft's library reads the card otherwise"
    texts = [block.get("text") for block in card["body"]]
    assert texts[:2] == ["❌ FAIL: preflight audit on production", "Was PASS"]
    assert "Fix: edit link spring-a" in texts
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the report", "url": "https://ci.example/run/1"}
    ]


@needs_adaptivecards
def test_a_teams_recovery_without_a_report_url_is_a_card_too():
    recovered = {**GATE, "verdict": "PASS", "reason": "", "results": [], "escalations": [], "unjudged": []}
    msg = notify.message(recovered, notify.Decision(True, "turned", "FAIL"), {"summary": "reports/summary.md"})
    card = chat.teams(msg)["attachments"][0]["content"]
    done = parse_card(card)
    assert done.returncode == 0 and json.loads(done.stdout) == card, done.stdout + done.stderr
    assert [block.get("text") for block in card["body"] if block["type"] == "TextBlock"] == [
        "✅ PASS: preflight audit on production",
        "Recovered: was FAIL",
        "Report: reports/summary.md",
    ]
    assert "actions" not in card


@needs_adaptivecards
def test_microsofts_library_does_catch_a_broken_card():
    done = parse_card(
        {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "x", "color": "Red"}]}
    )
    assert done.returncode == 1 and 'Invalid value "Red" for property "color"' in done.stdout, done.stdout


# -- the notify: block -------------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def with_notify(block: str) -> Path:
    """The shipped run YAML with its notify: block replaced (written as text: `on:` unquoted)."""
    path = Path("config/preflight.yaml")
    data = yaml.safe_load(path.read_text())
    data.pop("notify", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False) + block)
    return path


def problems(path: Path, environ: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_run_config(path, environ=environ)
    return caught.value.problems


def test_the_shipped_config_has_a_notify_block_that_sends_nothing_until_its_secret_is_set(workdir):
    run = load_run_config("config/preflight.yaml", environ={})
    assert run.notify.on == "change" and [hook.format for hook in run.notify.webhooks] == ["slack"]
    assert run.notify.webhooks[0].unset == ["PREFLIGHT_WEBHOOK_URL"] and run.notify.active == []
    set_ = load_run_config("config/preflight.yaml", environ={"PREFLIGHT_WEBHOOK_URL": HOOK})
    assert set_.notify.active[0].url.get_secret_value() == HOOK


def test_an_unquoted_on_key_and_every_option_read_as_written(workdir):
    path = with_notify(
        "notify:\n  on: fail\n  remind_every_hours: 6\n  timeout_seconds: 2\n  attempts: 2\n"
        '  webhooks:\n    - {url: "${HOOK}", format: teams}\n'
    )
    found = load_run_config(path, environ={"HOOK": HOOK}).notify
    assert (found.on, found.remind_every_hours, found.timeout_seconds, found.attempts) == ("fail", 6, 2, 2)
    assert found.webhooks[0].format == "teams"
    assert load_notify(path, environ={"HOOK": HOOK}) == found  # what `preflight merge` reads


@pytest.mark.parametrize(
    "block, expected",
    [
        ("notify:\n  onn: change\n",
         "config/preflight.yaml: notify.onn: unknown key 'onn'; allowed: on, webhooks, remind_every_hours, "
         "timeout_seconds, attempts, report_url; did you mean 'on'?"),
        ("notify:\n  on: chnage\n",
         "config/preflight.yaml: notify.on: got 'chnage'; allowed: change, always, fail; did you mean 'change'?"),
        ('notify:\n  webhooks: [{url: "${HOOK}", format: slak}]\n',
         "config/preflight.yaml: notify.webhooks[0].format: got 'slak'; allowed: json, slack, teams; did you mean "
         "'slack'?"),
        ('notify:\n  webhooks: [{url: "${BAD}"}]\n',
         "config/preflight.yaml: notify.webhooks[0].url: got the value of ${BAD} (hidden); allowed: an http:// or "
         'https:// URL, usually "${PREFLIGHT_WEBHOOK_URL}" (set it in the environment)'),
        ("notify:\n  remind_every_hours: 0\n",
         "config/preflight.yaml: notify.remind_every_hours: got 0: input should be greater than 0; allowed: hours, "
         "more than 0 and at most 720: re-send a verdict that stays FAIL"),
    ],
    ids=["unknown-key", "on", "format", "url", "remind"],
)  # fmt: skip
def test_a_bad_notify_block_is_one_line_naming_the_key_and_the_fix(workdir, block, expected):
    path = with_notify(block)
    environ = {"HOOK": HOOK, "BAD": "hooks.slack.com/services/" + "T0001/B0001/abcdEFGHijklMNOPqrstUVWX"}
    assert problems(path, environ) == [expected]
    with pytest.raises(ConfigError) as merged:
        load_notify(path, environ=environ)
    assert merged.value.problems == [expected]  # `preflight merge` says the same


def test_a_webhook_url_is_a_secret_from_the_moment_the_config_is_read(workdir):
    path = with_notify('notify:\n  webhooks: [{url: "${HOOK}"}]\n')
    token = secrets.token_urlsafe(18)  # this test's own: the redactor remembers every secret of the process
    hook = f"https://hooks.slack.com/services/T0001/B0001/{token}"
    assert redact_text(f"posting to {token}") == f"posting to {token}"  # not yet known
    load_run_config(path, environ={"HOOK": hook})
    assert redact_text(f"posting to {hook}") == "posting to [REDACTED]"
    assert redact_text(f"the token alone: {token}") == "the token alone: [REDACTED]"
