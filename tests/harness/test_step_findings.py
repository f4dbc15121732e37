"""The steps' smaller findings, each fired by one cheap `preflight run` (one campaign, the one test
that judges it, `-k`) against the shared sandbox: a click answered without a way on, an answer that
is not the JSON object the contract promises, and a browser that cannot run here. Part of the fault
matrices (the Makefile's MATRIX): tests/tools/raises_covered.py counts each finding fired here.
"""

from __future__ import annotations

import os
import secrets

import pytest
import yaml
from harness_helpers import explain, make_project

from preflight.lifecycle.model import live_slug

CLICK = "test_click_redirect_carries_traffic_tags"
LEAD = "test_one_lead_captured_and_reviewed"
JOURNEY = "test_shopper_lands_on_the_variant_page"


def one_campaign(project, stem: str = "spring-ab") -> None:
    project.edit_config(lambda data: data.update(campaigns=[c for c in data["campaigns"] if c["campaignId"] == stem]))


def failed(run, test: str) -> dict[str, dict]:
    """variant -> the gate result of one test function."""
    return {r.get("variant") or r["campaign"]: r for r in run.gate["results"] if f"::{test}[" in r["nodeid"]}


# -- a click that does not reach its destination (lifecycle/clicks.refused) ----------------------------


def test_a_click_answered_302_without_a_location_is_a_contract_violation(project, sandbox):
    run_id = f"nl-{secrets.token_hex(3)}"
    one_campaign(project)
    faults = {"click_fails": {"slug": live_slug(run_id, "spring-a"), "status": 302}}
    run = project.run("--run-id", run_id, "--", "-k", CLICK, faults=faults)
    assert (run.gate["verdict"], run.code) == ("FAIL", 1), explain(run)
    results = failed(run, CLICK)
    assert {v: r["outcome"] for v, r in results.items()} == {"spring-a": "failed", "spring-b": "passed"}, explain(run)
    found = results["spring-a"]
    assert (found["step"], found["category"]) == ("health", "contract_violation"), found
    assert "answers 302 without a Location" in found["message"], found["message"]
    assert found["cause"] == "a click on a link the run made answers 302", found
    assert found["escalation"] is not None, found  # the platform's edge: escalated


def test_a_click_refused_for_an_unverified_destination_domain_is_the_marketers(project, sandbox):
    """The destination's domain listed, not VERIFIED: the platform refuses every click (403
    destination_unverified), the marketer verifies it. The links keep their real destinations
    (gharart.example, never mapped), as a listed domain is matched by host."""
    one_campaign(project)
    target = project.path / "config" / "targets" / "attached.yaml"
    data = yaml.safe_load(target.read_text())
    data.setdefault("sandbox", {})["map_destinations"] = False
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    listed = sandbox.admin.post(
        "/v2/handles/gharart/destination-domains",
        json={"domain": "gharart.example"},
        headers={"authorization": f"Bearer {sandbox.mint_jwt('gharart')}"},
    )
    assert listed.status_code == 201 and listed.json()["status"] != "VERIFIED", listed.text
    try:
        run = project.run("--", "-k", CLICK)
    finally:
        sandbox.reset()  # the domain listed is this test's alone
    assert (run.gate["verdict"], run.code) == ("FAIL", 1), explain(run)
    results = failed(run, CLICK)
    assert {v: (r["outcome"], r["category"]) for v, r in results.items()} == {
        "spring-a": ("failed", "destination_trust"),
        "spring-b": ("failed", "destination_trust"),
    }, explain(run)
    message = results["spring-a"]["message"]
    assert "its destination's domain is listed and not VERIFIED (403 destination_unverified)" in message, message
    assert all(r["escalation"] is None for r in results.values()) and run.gate["escalations"] == []


# -- an answer that is not the JSON object the contract promises (checks.expect_json_object) -----------

NOT_AN_OBJECT = {
    "not JSON": ({"contentType": "text/plain"}, "listing leads: the answer is not a JSON object"),
    "without items": ({"field": "items", "remove": True}, "listing leads: the answer lacks items"),
    "items not a list": ({"field": "items", "value": "none"}, "listing leads: items of the wrong type"),
}


@pytest.mark.parametrize("case", sorted(NOT_AN_OBJECT))
def test_a_lead_list_that_is_not_the_contracts_object_is_a_contract_violation(case, project, sandbox):
    options, said = NOT_AN_OBJECT[case]
    one_campaign(project)
    faults = {"answer_rewritten": {"path": "/v2/handles/*/leads", "method": "GET", **options}}
    run = project.run("--", "-k", LEAD, faults=faults)
    assert (run.gate["verdict"], run.code) == ("FAIL", 1), explain(run)
    (result,) = failed(run, LEAD).values()
    assert (result["outcome"], result["step"], result["category"]) == ("failed", "lead_capture", "contract_violation")
    assert said in result["message"] and result["message"].startswith("[contract_violation]"), result["message"]


# -- a browser that cannot run here (browser/launch.py): the browser checks cannot judge ---------------


def browser_run(project, **env: str):
    one_campaign(project)
    return project.run("--", "-k", JOURNEY, env=env)


def test_a_browser_executable_that_is_no_file_is_named_and_the_checks_hold(sandbox, tmp_path):
    sandbox.reset()
    project = make_project(tmp_path / "project", sandbox=sandbox, browser=True)
    missing = tmp_path / "no-such-chromium"
    project.edit_config(lambda data: data["browser"].update(executable=str(missing)))
    run = browser_run(project)
    assert (run.gate["verdict"], run.code) == ("HOLD", 3), explain(run)
    reason = run.gate["browser"]["reason"]
    assert f"browser.executable in the config names {missing}, which is not an executable file" in reason, reason
    journeys = failed(run, JOURNEY)
    assert {v: (r["outcome"], r["skip"]) for v, r in journeys.items()} == {
        "spring-a": ("skipped", "unjudged"),
        "spring-b": ("skipped", "unjudged"),
    }, explain(run)


def test_without_playwright_the_browser_checks_hold_saying_to_run_make_setup(sandbox, tmp_path):
    """A broken install: `playwright.sync_api` cannot be imported (a package that shadows it first on
    PYTHONPATH stands in for one missing)."""
    shadow = tmp_path / "shadow" / "playwright"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    (shadow / "sync_api.py").write_text("raise ImportError('No module named playwright.sync_api')\n")
    sandbox.reset()
    project = make_project(tmp_path / "project", sandbox=sandbox, browser=True)
    run = browser_run(
        project, PYTHONPATH=os.pathsep.join(filter(None, (str(shadow.parent), os.environ.get("PYTHONPATH"))))
    )
    assert (run.gate["verdict"], run.code) == ("HOLD", 3), explain(run)
    reason = run.gate["browser"]["reason"]
    assert "Playwright is not installed (No module named playwright.sync_api): run make setup" in reason, reason
    assert all(r["skip"] == "unjudged" for r in failed(run, JOURNEY).values()), explain(run)


# -- the click's ctx lost on the platform's side, as the shopper's browser meets it (landing_url) -----


def test_a_redirect_without_a_ctx_is_the_platforms_loss_in_the_browser(sandbox, tmp_path):
    """The platform's redirect carries no ctx (`ctx_dropped`): the page's URL has none, and it is the
    platform's (escalated), not the site's or the page script's."""
    run_id = f"cd-{secrets.token_hex(3)}"
    project = make_project(tmp_path / "project", sandbox=sandbox, browser=True)
    one_campaign(project)
    faults = {"ctx_dropped": {"slug": live_slug(run_id, "spring-a")}}
    run = project.run("--run-id", run_id, "--", "-k", JOURNEY, faults=faults)
    assert (run.gate["verdict"], run.code) == ("FAIL", 1), explain(run)
    journeys = failed(run, JOURNEY)
    assert {v: r["outcome"] for v, r in journeys.items()} == {"spring-a": "failed", "spring-b": "passed"}, explain(run)
    found = journeys["spring-a"]
    assert (found["category"], found["cause"]) == ("attribution", "a short-link click's redirect carries no ctx")
    assert "the landing page's URL has lost the click's ctx" in found["message"], found["message"]
    assert found["escalation"] is not None, found  # the platform's loss: escalated
