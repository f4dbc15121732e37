"""`--escalate`: one support report per root cause is POSTed to /v2/support/report and its
ticket recorded on every test it covers; without the flag nothing is sent. Neither run ever calls the operator or
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

from preflight.core.routes import ROUTES

FAULT = {"schema_fetch_fails": {}}
FORBIDDEN = ("/v2/operator/escalations", "/v2/public/content-report")
FAILING = {
    "suites/test_publish.py::test_schema_fetch_matches_publish[spring-ab]",
    "suites/test_publish.py::test_schema_fetch_matches_publish[diwali-sale]",
}
TICKET = re.compile(r"^tkt_[0-9a-f]{16}$")
# Every route a whole run calls (the lifecycle, its setup and teardown, the run's token mints
# and stale ctx, aged by the sandbox's own ctx TTL). `support_report` only with --escalate.
RUN_ROUTES = {
    "sandbox_tokens",
    "sandbox_info",
    "sandbox_ctx",
    "system_health",
    "list_campaigns",
    "usage_meters",
    "create_campaign",
    "put_link",
    "click",
    "resolve_context",
    "campaign_health",
    "public_campaign_health",
    "analytics",  # step 8: the platform's funnel numbers
    "capture_lead",
    "list_leads",
    "export_leads",
    "test_conversion",
    "get_site_structure",
    "public_put_site_structure",
    "public_publish_site_structure",
    "public_get_site_structure",
    "public_conversion",
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
PATTERNS = [
    (name, method, re.compile("^" + re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template)) + "$"))
    for name, (method, template) in {**{n: (r.method, r.template) for n, r in ROUTES.items()}, **EXTRA_ROUTES}.items()
]


def route_of(entry: dict) -> str | None:
    matches = [name for name, method, pattern in PATTERNS if method == entry["method"] and pattern.match(entry["path"])]
    assert len(matches) <= 1, (entry, matches)
    return matches[0] if matches else None


def run_log(log: list[dict]) -> list[dict]:
    """The run's own requests: everything after the test switched the fault on (PUT /__sandbox/faults)."""
    starts = [i for i, entry in enumerate(log) if entry["method"] == "PUT" and entry["path"] == "/__sandbox/faults"]
    assert len(starts) == 1, "expected exactly one fault switch before the run"
    return log[starts[0] + 1 :]


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


def test_escalate_posts_one_report_per_root_cause_and_records_its_ticket(escalated):
    run, why = escalated.run, explain(escalated.run)
    found = failures(escalated)
    posts = [e for e in escalated.log if e["path"] == "/v2/support/report"]
    # The schema fetch fails on both campaigns: one platform defect, one ticket.
    assert [(e["method"], e["status"]) for e in posts] == [("POST", 202)], posts
    assert escalated.stats["supportReports"] == 1
    (ticket,) = escalated.reports
    assert {r["ticketId"] for r in found.values()} == {ticket} and TICKET.match(ticket), found
    (escalation,) = run.gate["escalations"]
    assert set(escalation["tests"]) == FAILING and escalation["ticketId"] == ticket and not escalation["sendError"]
    path = Path(escalation["file"])
    assert path.parent == run.reports / "escalations" and {Path(r["escalation"]) for r in found.values()} == {path}
    payload = json.loads(path.read_text())
    assert payload["ticketId"] == ticket
    stored = escalated.reports[ticket]
    # What the sandbox received is the payload on disk, less the ticket it answered with.
    sent = {k: v for k, v in payload.items() if k != "ticketId"}
    assert {k: v for k, v in stored["body"].items() if v is not None} == {
        k: v for k, v in sent.items() if v is not None
    }
    assert stored["principal"].startswith("jwt:"), stored["principal"]
    campaigns = sorted(r["campaignId"] for r in found.values())
    fetch = next(e for e in escalated.log if e["requestId"] == payload["requestId"])
    assert (fetch["method"], fetch["status"]) == ("GET", 404)
    assert fetch["path"] in {f"/v2/public/handles/gharart/site-structure/campaigns/{cid}" for cid in campaigns}
    assert payload["summary"] == (
        "[schema_fetch] publish: the PAT schema fetch of a published page answers "
        f"not_found (seen by 2 test(s) on {', '.join(campaigns)})"
    )
    assert (payload["handle"], payload["runId"], payload["sessionId"], payload["environment"], payload["role"]) == (
        "gharart",
        run.gate["runId"],
        run.gate["runId"],
        "attached",
        "CREATOR",
    )
    assert f"campaignId(s) {', '.join(campaigns)}" in payload["details"]
    affected = payload["reproArtifact"]["affected"]
    assert {a["test"] for a in affected} == FAILING and all(a["requestIds"] for a in affected)
    ids = {i for r in found.values() for i in r["failingRequestIds"]}
    assert ids <= set(payload["reproArtifact"]["requestIds"]), (ids, payload["reproArtifact"]["requestIds"])
    assert "$PREFLIGHT_PAT" in payload["reproArtifact"]["curl"]
    # The rollback line says what this run really created (from its journal), not a template.
    for cid in campaigns:
        assert "created throwaway campaign(s)" in payload["details"] and cid in payload["details"]
    for nodeid in FAILING:
        assert f"  [schema_fetch] {nodeid}" in run.stdout.splitlines(), why
    assert (
        f"root cause [schema_fetch] {escalation['cause']}: 2 test(s), payload {path}, ticket {ticket}" in run.stdout
    ), why
    assert run.leaked_secrets() == [], why


def test_without_escalate_nothing_is_sent(quiet):
    found = failures(quiet)
    assert quiet.stats["supportReports"] == 0 and quiet.reports == {}
    assert [e for e in quiet.log if e["path"].startswith("/v2/support/")] == []
    (escalation,) = quiet.run.gate["escalations"]
    for result in found.values():
        assert result["ticketId"] is None and result["escalation"] == escalation["file"]
    payload = json.loads(Path(escalation["file"]).read_text())  # written, ready to send by hand
    assert "ticketId" not in payload and payload["summary"].startswith("[schema_fetch] publish: ")
    assert (
        f"root cause [schema_fetch] {escalation['cause']}: 2 test(s), payload {escalation['file']}" in quiet.run.stdout
    )


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
    # The end: the controller retires the links, then sends the reports (with --escalate).
    assert route_of(log[-1]) == ("support_report" if which == "escalated" else "put_link")
    assert [e for e in log if e["path"].startswith(FORBIDDEN)] == []
    unknown = sorted({(e["method"], e["path"]) for e in log if route_of(e) is None})
    assert unknown == [], f"requests to routes outside the contract: {unknown[:10]}"
    called = {route_of(e) for e in log}
    expected = RUN_ROUTES | ({"support_report"} if which == "escalated" else set())
    assert called == expected, (sorted(called - expected), sorted(expected - called))
    assert {e["status"] for e in log if route_of(e) == "support_report"} <= {202}


def test_a_refused_jwt_falls_back_to_the_pat_and_a_report_that_cannot_go_says_why(sandbox):
    """The JWT expired during the run: the report still goes, with the PAT (the contract takes
    either). Both refused: nothing is sent, and the gate says why instead of a ticket."""
    import time
    from types import SimpleNamespace

    from preflight.harness import wrapup
    from preflight.harness.results import Recorder
    from preflight.http.client import Credentials, PlatformClient

    expired = sandbox.admin.post(
        "/__sandbox/tokens", json={"kind": "jwt", "handle": "gharart", "role": "CREATOR", "ttlSeconds": 1}
    ).json()["token"]
    pat = sandbox.mint_pat("gharart", ["analytics.read"])
    time.sleep(1.1)

    def send(jwt: str, pat: str) -> tuple:
        with PlatformClient(
            base_url=sandbox.url, handle="gharart", credentials=Credentials(jwt=jwt, pat=pat)
        ) as client:
            preflight = SimpleNamespace(
                runtime=SimpleNamespace(jwt=jwt, pat=pat, run_id="r-fallback"),
                client=lambda: client,
                recorder=Recorder(),
            )
            return wrapup.sender(preflight)({"summary": "[schema_fetch] publish: x", "details": "d"})

    ticket, why = send(expired, pat)
    assert TICKET.match(ticket or "") and why is None, why
    assert stored_reports(sandbox)[ticket]["principal"].startswith("pat:")
    forged = pat[:-4] + ("AAAA" if not pat.endswith("AAAA") else "BBBB")
    ticket, why = send(expired, forged)
    assert ticket is None and why.startswith("not sent: POST /v2/support/report answered 401 invalid_token"), why
