"""Gate verdict rule, gate.json shape, summary.md table and failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from preflight.classify import NEXT_STEPS
from preflight.report.gate import RESULT_KEYS, compute_verdict, render_summary, write_gate, write_summary


def result(outcome="passed", *, step="health", campaign="pf-1-spring-ab", slug="spring-a",
           category=None, message="", ids=(), escalation=None, ticket=None, nodeid=None):
    return {"nodeid": nodeid or f"suites/test_{step}.py::test_it[{campaign}:{slug}]", "step": step,
            "campaignId": campaign, "slug": slug, "outcome": outcome, "message": message, "category": category,
            "requestIds": list(ids), "escalation": escalation, "ticketId": ticket}


@pytest.mark.parametrize("results, verdict", [
    ([result()], "PASS"),
    ([result(), result("skipped")], "PASS"),
    ([result("skipped")], "FAIL"),  # nothing ran, nothing proven
    ([], "ERROR"),  # the run did not start
    ([result(), result("failed", category="platform_error")], "FAIL"),
    ([result("error", category="throttled")], "FAIL"),
    ([result("failed", category="harness_error")], "ERROR"),
    ([result("error", category="config")], "ERROR"),
    ([result("failed", category="invalid_ctx"), result("error", category="harness_error")], "ERROR"),
    ([result("failed")], "ERROR"),  # unclassified failure: the harness's own gap
])
def test_verdict_rule(results, verdict):
    assert compute_verdict(results) == verdict


def test_a_start_problem_is_an_error():
    assert compute_verdict([result()], problem="sandbox did not start") == "ERROR"


def test_gate_json_shape(tmp_path):
    results = [result(), result("failed", step="test_conversion", slug="spring-b", category="invalid_ctx",
                                message="[invalid_ctx] refused\n  request ids: req-9", ids=["req-8", "req-9"],
                                escalation="reports/escalations/x.json", ticket="T-1")]
    results[0]["extra"] = "dropped"
    path = write_gate(tmp_path / "gate.json", run_id="run-1", target="sandbox",
                      started_at=datetime(2026, 6, 19, 10, 0, tzinfo=UTC),
                      finished_at="2026-06-19T10:05:00Z", results=results,
                      report_path="reports/allure-report/index.html")
    doc = json.loads(path.read_text())
    assert doc["verdict"] == "FAIL" and doc["runId"] == "run-1" and doc["target"] == "sandbox"
    assert doc["startedAt"] == "2026-06-19T10:00:00Z" and doc["finishedAt"] == "2026-06-19T10:05:00Z"
    assert doc["reportPath"] == "reports/allure-report/index.html" and doc["problem"] is None
    assert [tuple(r) for r in doc["results"]] == [RESULT_KEYS, RESULT_KEYS]
    assert doc["results"][1]["requestIds"] == ["req-8", "req-9"] and doc["results"][1]["ticketId"] == "T-1"
    assert not list(tmp_path.glob("*.tmp"))


def test_gate_json_is_redacted(tmp_path):
    jwt = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # in parts: no committed line looks like a token
    write_gate(tmp_path / "gate.json", run_id="r", target="t", started_at=None, finished_at=None,
               results=[result("failed", category="auth", message=f"refused {jwt}")], report_path=None)
    assert jwt not in (tmp_path / "gate.json").read_text()


def _table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_summary_table_is_campaign_by_step():
    results = [
        result(step="test_conversion", slug="spring-a"),
        result("failed", step="test_conversion", slug="spring-b", category="invalid_ctx",
               message="[invalid_ctx] refused | piped\n  next step: use a fresh ctx (UC-07 step 4)", ids=["req-9"],
               escalation="reports/escalations/a.json", ticket="T-7"),
        result(step="health"),
        result("skipped", step="lead_capture"),
        result(step="health", campaign="pf-1-summer"),
    ]
    text = render_summary(run_id="run-1", target="sandbox", results=results, report_path="reports/allure-report/index.html")
    assert text.startswith("## campaign-preflight: ❌ FAIL")
    rows = _table_rows(text)
    assert rows[0] == ["campaign", "health", "lead_capture", "test_conversion"]  # UC-07 order
    assert "|---|---|---|---|" in text.splitlines()
    assert rows[2] == ["pf-1-spring-ab", "✅", "⏭", "❌ spring-b"]
    assert rows[3] == ["pf-1-summer", "✅", "—", "—"]
    assert all(len(r) == 4 for r in rows if r != ["---|---|---|---"])
    failures = text.split("### Failures", 1)[1]
    assert "`invalid_ctx`" in failures
    assert "[invalid_ctx] refused \\| piped" in failures  # first line only, pipe escaped
    assert "`req-9`" in failures
    assert "use a fresh ctx (UC-07 step 4)" in failures
    assert "`reports/escalations/a.json` (ticket `T-7`)" in failures
    assert text.rstrip().endswith("Report: `reports/allure-report/index.html`")


def test_summary_next_step_falls_back_to_the_category_default(tmp_path):
    path = write_summary(tmp_path / "summary.md", run_id="r", target="t", report_path=None,
                         results=[result("error", category="harness_error", message="KeyError: 'x'")])
    text = path.read_text()
    assert "## campaign-preflight: 💥 ERROR" in text
    assert NEXT_STEPS["harness_error"].replace("<", "&lt;") in text
    assert "- **escalation:** none" in text and "Report: not built" in text


def test_summary_when_the_run_could_not_start():
    text = render_summary(run_id=None, target="sandbox", results=[], report_path=None, problem="port in use")
    assert "ERROR" in text and "could not start:** port in use" in text and "_No results" in text
