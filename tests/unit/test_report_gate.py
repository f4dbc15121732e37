"""Gate verdict rule, gate.json shape, summary.md table and failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from preflight.lifecycle.classify import NEXT_STEPS
from preflight.report.facts import RunFacts
from preflight.report.gate import RESULT_KEYS, write_gate
from preflight.report.judgement import verdict as judge
from preflight.report.summary import render_summary, write_summary


def result(
    outcome="passed",
    *,
    step="health",
    campaign="pf-1-spring-ab",
    slug="spring-a",
    category=None,
    message="",
    ids=(),
    escalation=None,
    ticket=None,
    nodeid=None,
    next_step=None,
    skip=None,
    fix=None,
):
    return {
        "nodeid": nodeid or f"suites/test_{step}.py::test_it[{campaign}:{slug}]",
        "step": step,
        "campaignId": campaign,
        "slug": slug,
        "outcome": outcome,
        "message": message,
        "category": category,
        "requestIds": list(ids),
        "escalation": escalation,
        "ticketId": ticket,
        **({"nextStep": next_step} if next_step else {}),
        **({"skip": skip} if skip else {}),
        **({"fix": fix} if fix else {}),
    }


@pytest.mark.parametrize(
    "results, verdict",
    [
        ([result()], "PASS"),
        ([result(), result("skipped", skip="by choice")], "PASS"),  # left out on purpose: out of scope
        ([result(), result("skipped")], "HOLD"),  # a skip that does not say it was by choice could not judge
        ([result(), result("skipped", skip="unjudged")], "HOLD"),
        ([result("skipped")], "HOLD"),  # nothing judged, nothing broken: not proven
        ([result("skipped", skip="by choice")], "ERROR"),  # every test left out: nothing checked
        ([result("skipped"), result("failed", category="attribution")], "FAIL"),  # a finding wins
        ([], "ERROR"),  # nothing selected or the run did not start
        ([result(), result("failed", category="platform_error")], "FAIL"),
        ([result(), result("failed", category="attribution")], "FAIL"),
        ([result("error", category="throttled")], "ERROR"),  # pacing: the user's side
        ([result("failed", category="auth")], "ERROR"),  # the user's own token
        ([result("failed", category="quota")], "ERROR"),
        ([result("failed", category="harness_error")], "ERROR"),
        ([result("error", category="config")], "ERROR"),
        ([result("failed", category="invalid_ctx"), result("error", category="harness_error")], "ERROR"),
        ([result("failed")], "ERROR"),  # unclassified failure: the harness's own gap
    ],
)
def test_verdict_rule(results, verdict):
    assert judge(results)[0] == verdict


def test_a_start_problem_is_an_error():
    verdict, reason = judge([result()], RunFacts(problem="sandbox did not start"))
    assert verdict == "ERROR" and reason == "the run could not start its tests: sandbox did not start"


@pytest.mark.parametrize(
    "facts, reason",
    [
        (RunFacts(selected=3, stopped="interrupted by SIGINT"), "interrupted by SIGINT: 2 of 3 selected tests ran"),
        (
            RunFacts(selected=3, stopped="stopped: stopping after 1 failures"),
            "stopped: stopping after 1 failures: 2 of 3 selected tests ran",
        ),
        (RunFacts(selected=3), "tests went missing (a worker was lost?): 2 of 3 selected tests ran"),
    ],
)
def test_a_shortfall_is_an_error_even_with_a_failure(facts, reason):
    results = [result(), result("failed", category="invalid_ctx")]
    assert judge(results, facts) == ("ERROR", reason)


def test_a_selection_the_user_made_is_no_shortfall():
    facts = RunFacts(planned=51, selected=2, selection="-k spring")
    assert judge([result(), result()], facts) == ("PASS", "all 2 selected tests ran")


def test_gate_json_shape(tmp_path):
    results = [
        result(),
        result(
            "failed",
            step="test_conversion",
            slug="spring-b",
            category="invalid_ctx",
            message="[invalid_ctx] refused\n  request ids: req-9",
            ids=["req-8", "req-9"],
            escalation="reports/escalations/x.json",
            ticket="T-1",
        ),
    ]
    results[0]["extra"] = "dropped"
    path = write_gate(
        tmp_path / "gate.json",
        run_id="run-1",
        target="sandbox",
        started_at=datetime(2026, 6, 19, 10, 0, tzinfo=UTC),
        finished_at="2026-06-19T10:05:00Z",
        results=results,
        report_path="reports/allure-report/index.html",
    )
    doc = json.loads(path.read_text())
    assert doc["verdict"] == "FAIL" and doc["runId"] == "run-1" and doc["target"] == "sandbox"
    assert doc["exitCode"] == 1 and doc["reason"] == "1 test(s) failed from 1 root cause(s): invalid_ctx"
    assert doc["tests"]["ran"] == 2 and doc["leftovers"] == [] and doc["escalations"] == []
    assert doc["startedAt"] == "2026-06-19T10:00:00Z" and doc["finishedAt"] == "2026-06-19T10:05:00Z"
    assert doc["reportPath"] == "reports/allure-report/index.html" and doc["problem"] is None
    assert [tuple(r) for r in doc["results"]] == [RESULT_KEYS, RESULT_KEYS]
    assert doc["results"][1]["requestIds"] == ["req-8", "req-9"] and doc["results"][1]["ticketId"] == "T-1"
    assert not list(tmp_path.glob("*.tmp"))


def test_gate_json_is_redacted(tmp_path):
    jwt = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # in parts: no committed line looks like a token
    write_gate(
        tmp_path / "gate.json",
        run_id="r",
        target="t",
        started_at=None,
        finished_at=None,
        results=[result("failed", category="auth", message=f"refused {jwt}")],
        report_path=None,
    )
    assert jwt not in (tmp_path / "gate.json").read_text()


def _table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_summary_table_is_campaign_by_step():
    results = [
        result(step="test_conversion", slug="spring-a"),
        result(
            "failed",
            step="test_conversion",
            slug="spring-b",
            category="invalid_ctx",
            message="[invalid_ctx] refused | piped\n  next step: use a fresh ctx (UC-07 step 4)",
            next_step="use a fresh ctx (UC-07 step 4)",  # carried as data, never dug out of the message
            ids=["req-9"],
            escalation="reports/escalations/a.json",
            ticket="T-7",
        ),
        result(step="health"),
        result("skipped", step="lead_capture"),
        result(step="health", campaign="pf-1-summer"),
    ]
    text = render_summary(
        run_id="run-1", target="sandbox", results=results, report_path="reports/allure-report/index.html"
    )
    assert text.startswith("## campaign-preflight: ❌ FAIL")
    rows = _table_rows(text)
    # the steps' numbered titles, as in the report, in UC-07 order
    assert rows[0] == ["campaign", "1 · Campaign health", "3 · Lead capture", "4 · Test conversion"]
    assert "|---|---|---|---|" in text.splitlines()
    assert rows[2] == ["pf-1-spring-ab", "✅", "⏸ 1 not judged", "❌ spring-b"]
    # No lead capture test for a campaign of another goal: the cell says why; a step it should have, no reason.
    assert rows[3] == ["pf-1-summer", "✅", "— not a lead funnel", "—"]
    chosen = render_summary(
        run_id="run-1", target="sandbox", results=results, report_path=None, facts=RunFacts(selection="-k summer")
    )
    assert _table_rows(chosen)[3] == ["pf-1-summer", "✅", "— not selected, or not a lead funnel", "— not selected"]
    # The two readiness re-checks share one column, as they share the report's seventh group.
    ready = render_summary(
        run_id="run-1",
        target="sandbox",
        results=[result(step="readiness"), result("failed", step="pat_readiness", category="health_mismatch")],
        report_path=None,
    )
    assert _table_rows(ready)[0] == ["campaign", "8 · Readiness"] and _table_rows(ready)[2][1].startswith("❌")
    assert all(len(r) == 4 for r in rows if r != ["---|---|---|---"])
    failures = text.split("### Failures", 1)[1]
    assert "`invalid_ctx`" in failures
    assert "[invalid_ctx] refused \\| piped" in failures  # first line only, pipe escaped
    assert "`req-9`" in failures
    assert "use a fresh ctx (UC-07 step 4)" in failures
    assert "`reports/escalations/a.json` (ticket `T-7`)" in failures
    assert text.rstrip().endswith("Report: `reports/allure-report/index.html`")


def test_summary_next_step_falls_back_to_the_category_default(tmp_path):
    path = write_summary(
        tmp_path / "summary.md",
        run_id="r",
        target="t",
        report_path=None,
        results=[result("error", category="harness_error", message="KeyError: 'x'")],
    )
    text = path.read_text()
    assert "## campaign-preflight: 💥 ERROR" in text
    assert NEXT_STEPS["harness_error"].replace("<", "&lt;") in text
    assert "- **escalation:** none" in text and "Report: not built" in text


def test_summary_when_the_run_could_not_start():
    text = render_summary(
        run_id=None, target="sandbox", results=[], report_path=None, facts=RunFacts(problem="port in use")
    )
    assert "ERROR" in text and "**the run could not start its tests: port in use**" in text and "_No results" in text
    two = render_summary(
        run_id=None, target="t", results=[], report_path=None, facts=RunFacts(problem="JWT: expired\nPAT: refused")
    )
    assert "> - JWT: expired" in two and "> - PAT: refused" in two


def test_a_skipped_check_is_never_a_pass_and_says_why():
    chosen = result(
        "skipped", message="needs test_x of campaign spring-ab, which the selection left out", skip="by choice"
    )
    text = render_summary(run_id="r", target="t", results=[result(), chosen], report_path=None)
    assert _table_rows(text)[2] == ["pf-1-spring-ab", "⏭ 1 passed, 1 not checked (by choice)"]
    assert "### Not checked, by choice" in text and "which the selection left out" in text
    assert text.startswith("## campaign-preflight: ✅ PASS")
    held = result("skipped", message="analytics lag: freshness STALE", skip="unjudged", fix="wait and re-run")
    text = render_summary(run_id="r", target="t", results=[result(), held], report_path=None)
    assert text.startswith("## campaign-preflight: ⏸ HOLD")
    assert _table_rows(text)[2] == ["pf-1-spring-ab", "⏸ 1 not judged"]
    assert "### Could not judge (HOLD: not proven ready)" in text
    assert "analytics lag: freshness STALE · **to judge it:** wait and re-run" in text


def test_summary_shows_root_causes_and_leftovers():
    facts = RunFacts(
        escalations=[
            {
                "id": "g1",
                "category": "invalid_ctx",
                "cause": "test-conversion refuses a fresh ctx",
                "tests": ["a", "b"],
                "campaigns": ["pf-1-spring-ab"],
                "file": "reports/escalations/g1.json",
                "ticketId": None,
                "sendError": "POST /v2/support/report answered 401 invalid_token",
            }
        ],
        leftovers=[{"campaignId": "pf-1-spring-ab", "linksLeftEnabled": [{"slug": "spring-a", "state": "enabled"}]}],
        cleanup={"command": "preflight cleanup --run-id 1 --yes"},
    )
    text = render_summary(
        run_id="r", target="t", results=[result("failed", category="invalid_ctx")], report_path=None, facts=facts
    )
    assert "test-conversion refuses a fresh ctx: 2 test(s), campaigns pf-1-spring-ab" in text
    assert "**not sent:** POST /v2/support/report answered 401 invalid_token" in text
    assert "- `pf-1-spring-ab`: spring-a (enabled)" in text and "`preflight cleanup --run-id 1 --yes`" in text


def test_the_matrix_page_says_why_a_campaign_has_no_lead_capture():
    from preflight.report.front import matrix_page

    gate = {
        "verdict": "PASS",
        "matrix": {
            "spring-ab": {"1": "passed", "3": "passed"},
            "diwali-sale": {"1": "passed"},
            "diwali-sale · diwali-a": {"1": "passed"},
        },
    }
    rows = [row for row in matrix_page(gate).split("<tr>") if row.startswith("<th")]
    diwali, variant = rows[2], rows[3]
    assert diwali.endswith('<td class="none">not a lead funnel</td></tr>'), diwali
    assert variant.split("</tr>")[0].endswith('<td class="none"></td>'), variant  # a variant's row: no reason
