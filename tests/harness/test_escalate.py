"""`--escalate`: each platform failure's support report is POSTed to /v2/support/report and its
ticket recorded; without the flag nothing is sent. Neither run ever calls the operator or
moderation routes: the sandbox's own request log (every request it answered) shows it.

Two full runs against the shared sandbox with `schema_fetch_fails` on: one with --escalate,
one without. The reports the sandbox stored are read back from its database (read-only).
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness_helpers import explain, make_project

from preflight.routes import ROUTES

FAULT = {"schema_fetch_fails": {}}
FORBIDDEN = ("/v2/operator/escalations", "/v2/public/content-report")
FAILING = {"suites/test_publish.py::test_schema_fetch_matches_publish[spring-ab]",
           "suites/test_publish.py::test_schema_fetch_matches_publish[diwali-sale]"}
TICKET = re.compile(r"^tkt_[0-9a-f]{16}$")
# Every route a whole run calls (the lifecycle, its setup and teardown, the run's token mints
# and stale ctx, aged by the sandbox's own ctx TTL). `support_report` only with --escalate.
RUN_ROUTES = {
    "sandbox_tokens", "sandbox_info", "sandbox_ctx", "usage_meters", "create_campaign", "put_link", "click", "resolve_context",
    "campaign_health", "public_campaign_health", "capture_lead", "list_leads", "export_leads", "test_conversion",
    "get_site_structure", "public_put_site_structure", "public_publish_site_structure",
    "public_get_site_structure", "public_conversion",
}
EXTRA_ROUTES = {
    "click": ("GET", "/_edge/redirect/{handle}/{slug}"),
    "sandbox_tokens": ("POST", "/__sandbox/tokens"),
    "sandbox_ctx": ("POST", "/__sandbox/ctx"),
    "sandbox_info": ("GET", "/__sandbox/info"),
    "sandbox_faults": ("PUT", "/__sandbox/faults"),
    "operator_escalations": ("POST", "/v2/operator/escalations"),
    "content_report": ("POST", "/v2/public/content-report"),
}
PATTERNS = [(name, method, re.compile("^" + re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template)) + "$"))
            for name, (method, template) in {**{n: (r.method, r.template) for n, r in ROUTES.items()},
                                            **EXTRA_ROUTES}.items()]


def route_of(entry: dict) -> str | None:
    matches = [name for name, method, pattern in PATTERNS
               if method == entry["method"] and pattern.match(entry["path"])]
    assert len(matches) <= 1, (entry, matches)
    return matches[0] if matches else None


def run_log(log: list[dict]) -> list[dict]:
    """The run's own requests: everything after the test switched the fault on (PUT /__sandbox/faults)."""
    starts = [i for i, entry in enumerate(log) if entry["method"] == "PUT" and entry["path"] == "/__sandbox/faults"]
    assert len(starts) == 1, "expected exactly one fault switch before the run"
    return log[starts[0] + 1:]


def stored_reports(sandbox) -> dict[str, dict]:
    """ticketId -> {principal, body}, straight from the sandbox's sqlite database."""
    db = sqlite3.connect(f"file:{sandbox.db}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT ticket_id, principal, body FROM support_reports").fetchall()
    finally:
        db.close()
    return {ticket: {"principal": principal, "body": json.loads(body)} for ticket, principal, body in rows}


def faulted_run(sandbox, folder: Path, *args: str) -> SimpleNamespace:
    sandbox.reset()
    run = make_project(folder, sandbox=sandbox).run(*args, faults=FAULT)
    log = sandbox.requests(10000)
    stats, reports = sandbox.stats(), stored_reports(sandbox)
    sandbox.set_faults({})
    return SimpleNamespace(run=run, log=run_log(log), stats=stats, reports=reports)


@pytest.fixture(scope="module")
def escalated(sandbox, tmp_path_factory):
    return faulted_run(sandbox, tmp_path_factory.mktemp("escalated") / "project", "--escalate")


@pytest.fixture(scope="module")
def quiet(sandbox, tmp_path_factory):
    return faulted_run(sandbox, tmp_path_factory.mktemp("quiet") / "project")


def failures(outcome: SimpleNamespace) -> dict[str, dict]:
    run = outcome.run
    assert run.code == 1 and run.gate["verdict"] == "FAIL", explain(run)
    found = {r["nodeid"]: r for r in run.failures()}
    assert set(found) == FAILING, explain(run)
    assert all(r["category"] == "schema_fetch" for r in found.values())
    return found


def test_escalate_posts_each_failure_and_records_its_ticket(escalated):
    run, why = escalated.run, explain(escalated.run)
    found = failures(escalated)
    posts = [e for e in escalated.log if e["path"] == "/v2/support/report"]
    assert [(e["method"], e["status"]) for e in posts] == [("POST", 202), ("POST", 202)], posts
    assert escalated.stats["supportReports"] == 2
    assert set(escalated.reports) == {r["ticketId"] for r in found.values()}, (escalated.reports.keys(), found)
    for nodeid, result in found.items():
        assert TICKET.match(result["ticketId"]), result
        path = Path(result["escalation"])
        assert path.parent == run.reports / "escalations", path
        payload = json.loads(path.read_text())
        assert payload["ticketId"] == result["ticketId"]
        stored = escalated.reports[result["ticketId"]]
        # What the sandbox received is the payload on disk, less the ticket it answered with.
        sent = {k: v for k, v in payload.items() if k != "ticketId"}
        assert {k: v for k, v in stored["body"].items() if v is not None} == {
            k: v for k, v in sent.items() if v is not None}
        assert stored["principal"].startswith("jwt:"), stored["principal"]
        cid = result["campaignId"]
        fetch = next(e for e in escalated.log if e["requestId"] == payload["requestId"])
        assert (fetch["method"], fetch["path"], fetch["status"]) == (
            "GET", f"/v2/public/handles/gharart/site-structure/campaigns/{cid}", 404)
        assert payload["summary"] == ("[schema_fetch] publish: fetching the published schema with the PAT: "
                                      "the platform answered 404 not_found")
        assert (payload["handle"], payload["runId"], payload["sessionId"], payload["environment"],
                payload["role"]) == ("gharart", run.gate["runId"], run.gate["runId"], "attached", "CREATOR")
        assert f"campaignId {cid}" in payload["details"]
        assert "$PREFLIGHT_PAT" in payload["reproArtifact"]["curl"]
        assert f"  [schema_fetch] {nodeid}" in run.stdout.splitlines(), why
    assert "escalation payloads: 2 in " in run.stdout, why
    # The support report's own exchange is evidence of the failing test too, redacted.
    for result in run.allure_results():
        if result["name"].startswith("test_schema_fetch_matches_publish"):
            sends = [a for a in result["attachments"] if a["name"].startswith("POST /v2/support/report -> 202")]
            assert len(sends) == 1, [a["name"] for a in result["attachments"]]
            doc = json.loads(run.attachment_text(sends[0]))
            assert doc["requestHeaders"]["authorization"] == "Bearer [REDACTED]"
            assert TICKET.match(doc["responseBody"]["ticketId"])
    assert run.leaked_secrets() == [], why


def test_without_escalate_nothing_is_sent(quiet):
    found = failures(quiet)
    assert quiet.stats["supportReports"] == 0 and quiet.reports == {}
    assert [e for e in quiet.log if e["path"].startswith("/v2/support/")] == []
    for result in found.values():
        assert result["ticketId"] is None
        payload = json.loads(Path(result["escalation"]).read_text())  # written, ready to send by hand
        assert "ticketId" not in payload and payload["summary"].startswith("[schema_fetch] publish: ")
    assert "escalation payloads: 2 in " in quiet.run.stdout


@pytest.mark.parametrize("which", ["escalated", "quiet"])
def test_run_never_calls_operator_or_moderation_routes(request, which):
    outcome = request.getfixturevalue(which)
    log = outcome.log
    # The log covers the whole run: every request id the run recorded is in it, from the first
    # token mint to the teardown that retires the links.
    logged = {e["requestId"] for e in log}
    recorded = {i for r in outcome.run.gate["results"] for i in r["requestIds"]}
    assert recorded and recorded <= logged, sorted(recorded - logged)[:5]
    assert [route_of(e) for e in log[:2]] == ["sandbox_tokens", "sandbox_tokens"]
    assert route_of(log[-1]) == "put_link"
    assert [e for e in log if e["path"].startswith(FORBIDDEN)] == []
    unknown = sorted({(e["method"], e["path"]) for e in log if route_of(e) is None})
    assert unknown == [], f"requests to routes outside the contract: {unknown[:10]}"
    called = {route_of(e) for e in log}
    expected = RUN_ROUTES | ({"support_report"} if which == "escalated" else set())
    assert called == expected, (sorted(called - expected), sorted(expected - called))
    assert {e["status"] for e in log if route_of(e) == "support_report"} <= {202}
