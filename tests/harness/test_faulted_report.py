"""The HTML report of a faulted run, as a person sees it: served over http on loopback and
opened in headless Chromium, it shows the failure under its named category, and the failing
test's page carries the escalation payload and the failing exchange as attachments."""

from __future__ import annotations

import html
import json
import re
import urllib.request
from pathlib import Path

import pytest
from harness_helpers import ROOT
from test_fault_matrix import function_of, run_checked, why

from preflight.report.build import (
    ReportBuildError,
    chromium_binary,
    dump_dom,
    screenshot,
    serve,
)

FAULT = "schema_fetch_fails"
CATEGORY, STEP, TEST = "schema_fetch", "publish", "test_schema_fetch_matches_publish"


def _browser_or_skip() -> None:
    if not (ROOT / "node_modules" / ".bin" / "allure").exists():
        pytest.skip("node_modules/.bin/allure is missing: run `make setup` (npm ci) to build HTML reports")
    try:
        chromium_binary()
    except ReportBuildError as exc:
        pytest.skip(str(exc))


def visible_text(dom: str) -> str:
    """The rendered page's text: scripts and styles dropped, tags stripped, entities decoded."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.DOTALL | re.IGNORECASE)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def test_faulted_report_shows_category_and_escalation(project, sandbox, tmp_path):
    _browser_or_skip()
    run = run_checked(project, sandbox.db, "-n", "0", html=True, faults={FAULT: {}})
    assert run.gate["verdict"] == "FAIL", f"expected {FAULT} to fail the run" + why(run)
    failed = run.failures()
    assert [(function_of(r["nodeid"]), r["step"], r["category"]) for r in failed] == [(TEST, STEP, CATEGORY)] * 2, (
        f"expected two {TEST} failures as {CATEGORY} on {STEP}, got "
        f"{[(r['nodeid'], r['step'], r['category']) for r in failed]}" + why(run))
    report = run.reports / "allure-report"
    assert (report / "index.html").is_file(), f"expected the HTML report at {report}" + why(run)

    # The report's own ids for the failed tests.
    by_id = json.loads((report / "test-results.json").read_text())["byId"]
    failed_ids = {meta["name"]: rid for rid, meta in by_id.items() if meta["status"] == "failed"}
    names = sorted(r["nodeid"].split("::", 1)[1] for r in failed)
    assert sorted(failed_ids) == names, f"expected the report to list {names} as failed, got {sorted(failed_ids)}"
    name = names[0]
    result_id = failed_ids[name]
    gate_result = next(r for r in failed if r["nodeid"].endswith(name))
    (group,) = run.gate["escalations"]  # one root cause: the schema fetch fails on both campaigns
    assert gate_result["escalation"] == group["file"]
    request_id = gate_result["failingRequestIds"][-1]

    pngs = tmp_path / "screenshots"
    with serve(report) as url:
        categories = visible_text(dump_dom(url + "#/categories"))
        screenshot(url + "#/categories", pngs / "categories.png")
        page = visible_text(dump_dom(url + f"#/{result_id}"))
        attachments = visible_text(dump_dom(url + f"#/{result_id}/attachments"))
        screenshot(url + f"#/{result_id}/attachments", pngs / "attachments.png")
        data = json.loads(urllib.request.urlopen(url + f"data/test-results/{result_id}.json", timeout=10).read())
        links = [a["link"] for a in data.get("attachments", []) if a.get("type") == "attachment"]
        payload = [link for link in links if link["name"].startswith(f"escalation draft (root cause {group['id']}")]
        assert len(payload) == 1, f"expected one escalation draft attachment, got {[x['name'] for x in links]}"
        served = url + f"data/attachments/{payload[0]['id']}{payload[0]['ext']}"
        served_payload = json.loads(urllib.request.urlopen(served, timeout=10).read())

    # Categories: the category by name, with both failing tests under it, and nothing else.
    assert re.search(rf"Categories 1 .*\b{CATEGORY} 2\b", categories), (
        f"expected one category, {CATEGORY}, holding 2 tests; the page says: {categories[:800]}")
    for failing in names:
        assert failing in categories, f"expected {failing} under {CATEGORY}; the page says: {categories[:800]}"
    # The test page: its category, its name, the failing request id in the error.
    assert f"Category: {CATEGORY}" in page and name in page, f"expected {name} with Category: {CATEGORY}: {page[:800]}"
    assert f"[{CATEGORY}]" in page and request_id in page, (
        f"expected the error [{CATEGORY}] naming request {request_id}: {page[:1200]}")
    # The attachments tab: the failing exchange (by request id) and the escalation draft.
    assert "escalation draft" in attachments, f"expected an 'escalation draft' attachment: {attachments[:800]}"
    assert f"(request {request_id})" in attachments, (
        f"expected the exchange of request {request_id} among the attachments: {attachments[:800]}")
    # The draft the report serves is this test's part of the root cause's payload in reports/escalations/.
    assert (served_payload["group"], served_payload["requestId"]) == (group["id"], request_id), served_payload
    written = json.loads(Path(group["file"]).read_text())
    assert request_id in written["reproArtifact"]["requestIds"] and gate_result["nodeid"] in [
        a["test"] for a in written["reproArtifact"]["affected"]]

    for png in (pngs / "categories.png", pngs / "attachments.png"):
        assert png.stat().st_size > 10_000, f"expected a real screenshot at {png}"
