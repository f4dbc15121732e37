"""`preflight run`, end to end: the whole lifecycle against real sandbox processes, and what
it leaves in reports/ (gate.json, junit.xml, Allure results with their evidence).

Three module-scoped groups of runs, each inspected by several tests:
- `shipped`: the project as shipped (`make preflight`: embedded sandbox, HTML report);
- `rerun`: two runs with the same --run-id against the shared sandbox, stats before/after;
- `faulted`: a run with the sandbox's `schema_fetch_fails` fault on.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from harness_helpers import explain, make_project

import preflight

CAMPAIGNS = {"spring-ab": ["spring-a", "spring-b"], "diwali-sale": ["diwali-a", "diwali-b", "diwali-c"]}
LEAD_CAMPAIGNS = {"spring-ab"}
FEATURE = {
    "health": "1 · Campaign health",
    "pat_health": "2 · PAT health",
    "lead_capture": "3 · Lead capture",
    "test_conversion": "4 · Test conversion",
    "publish": "5 · Detail page publish",
    "conversion": "6 · Public conversion",
    "landing": "7 · Shopper's journey",
    "readiness": "8 · Readiness",
    "pat_readiness": "8 · Readiness",
    "analytics": "9 · Platform funnel numbers",
}
FEATURES = set(FEATURE.values())
STEP_NUMBER = {step: feature.split(" ", 1)[0] for step, feature in FEATURE.items()}
UC07_ORDER = [
    "health",
    "pat_health",
    "lead_capture",
    "test_conversion",
    "publish",
    "conversion",
    "landing",
    "readiness",
    "pat_readiness",
    "analytics",
]
# (test, step, lead funnels only)
PER_CAMPAIGN = [
    ("suites/test_health.py::test_checks_present_and_traffic_tagged", "health", False),
    ("suites/test_pat_health.py::test_pat_health_agrees_with_jwt", "pat_health", False),
    ("suites/test_lead_capture.py::test_one_lead_captured_and_reviewed", "lead_capture", True),
    ("suites/test_lead_capture.py::test_invalid_email_refused", "lead_capture", True),
    ("suites/test_lead_capture.py::test_tampered_ctx_refused", "lead_capture", True),
    ("suites/test_test_conversion.py::test_conversion_signal_passes", "test_conversion", False),
    ("suites/test_test_conversion.py::test_foreign_ctx_refused", "test_conversion", False),
    ("suites/test_publish.py::test_draft_saved_and_published", "publish", False),
    ("suites/test_publish.py::test_schema_fetch_matches_publish", "publish", False),
    ("suites/test_conversion.py::test_stale_ctx_refused", "conversion", False),
    ("suites/test_landing.py::test_detail_page_asks_for_login", "landing", False),
    ("suites/test_health.py::test_ready_after_lifecycle", "readiness", False),
    ("suites/test_pat_health.py::test_pat_health_agrees_when_ready", "pat_readiness", False),
    ("suites/test_analytics.py::test_funnel_counts_the_run_and_keeps_tests_apart", "analytics", False),
]
PER_VARIANT = [
    ("suites/test_health.py::test_click_redirect_carries_traffic_tags", "health"),
    ("suites/test_test_conversion.py::test_variant_test_conversion", "test_conversion"),
    ("suites/test_conversion.py::test_fresh_ctx_conversion_recorded", "conversion"),
    ("suites/test_conversion.py::test_replay_returns_same_conversion", "conversion"),
    ("suites/test_conversion.py::test_reused_key_with_other_body_refused", "conversion"),
    ("suites/test_conversion.py::test_reused_ctx_deduped_per_click", "conversion"),
    ("suites/test_landing.py::test_shopper_lands_on_the_variant_page", "landing"),
]
RESULT_KEYS = {
    "nodeid",
    "step",
    "campaign",
    "variant",
    "campaignId",
    "slug",
    "outcome",
    "message",
    "requestIds",
    "category",
    "escalation",
    "ticketId",
    "worker",
}
REQUEST_ID = re.compile(r"^req_[0-9a-f]{20}$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def suffix(run_id: str) -> str:
    return hashlib.sha256(run_id.encode()).hexdigest()[:6]


def expected_results(run_id: str, *, browser: bool = True) -> dict[str, dict]:
    """nodeid -> the gate fields fixed by config/preflight.yaml and the suites (`browser`: with the
    shopper's journey, which the harness's own project copies leave out unless they ask for it)."""
    out = {}
    for stem, variants in CAMPAIGNS.items():
        cid = f"pf-{run_id}-{stem}"
        for test, step, lead_only in PER_CAMPAIGN:
            if not lead_only or stem in LEAD_CAMPAIGNS:
                out[f"{test}[{stem}]"] = {"step": step, "campaignId": cid, "slug": None, "stem": stem, "variant": None}
        for test, step in PER_VARIANT:
            for variant in variants:
                out[f"{test}[{stem}:{variant}]"] = {
                    "step": step,
                    "campaignId": cid,
                    "stem": stem,
                    "variant": variant,
                    "slug": f"{variant}-{suffix(run_id)}",
                }
    return out if browser else {nodeid: want for nodeid, want in out.items() if want["step"] != "landing"}


TOTAL = len(expected_results("r"))  # 58 with the shipped config
API_TOTAL = len(expected_results("r", browser=False))  # 51: a project copy without the browser checks


def nodeid_of(result: dict) -> str:
    """The pytest nodeid of an Allure result (its hidden `_nodeid` label; its name is a title in words)."""
    return next(label["value"] for label in result["labels"] if label["name"] == "_nodeid")


def labels(result: dict, name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def all_exchanges(run) -> dict[str, dict]:
    """requestId -> exchange attachment, from the tests and from their fixtures (setup exchanges)."""
    found = {}
    folder = run.reports / "allure-results"
    owners = list(run.allure_results())
    for container in folder.glob("*-container.json"):
        doc = json.loads(container.read_text())
        owners += doc.get("befores", []) + doc.get("afters", [])
    for owner in owners:
        for attachment in owner.get("attachments", []):
            if is_exchange(attachment):
                doc = json.loads(run.attachment_text(attachment))
                found[doc["requestId"]] = doc
    return found


def is_exchange(attachment: dict) -> bool:
    """An exchange attachment ("GET /v2/… -> 200 (request req_…)"), not the artifacts, an escalation
    draft or the browser's evidence (screenshots, page facts, HTML, traces)."""
    return attachment["type"] == "application/json" and " (request " in attachment["name"]


def artifacts_of(run, result: dict) -> dict:
    found = [a for a in result["attachments"] if a["name"] == "artifacts"]
    assert len(found) == 1, f"{result['name']}: {len(found)} artifacts attachments"
    assert found[0]["type"] == "application/json"
    return json.loads(run.attachment_text(found[0]))


# -- the project as shipped: `make preflight` ---------------------------------------------------


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("shipped") / "project", browser=True)
    run = project.run(html=True)
    assert (run.reports / "gate.json").is_file(), explain(run)
    return run


def test_the_embedded_sandbox_is_paced_only_by_its_own_headers(shipped):
    """The embedded sandbox is the run's own: no politeness ceiling (the run's pace, as the gate
    records it), only what its RateLimit headers say when throttled."""
    assert shipped.gate["pacing"]["ceilings"] == {"read": None, "write": None, "public": None}, shipped.gate["pacing"]
    assert shipped.gate["pacing"]["fromHeaders"] is True


def test_shipped_run_passes_and_says_where_its_outputs_are(shipped):
    run, why = shipped, explain(shipped)
    assert run.code == 0, why
    gate = run.gate
    assert gate["verdict"] == "PASS", why
    reports = run.reports
    lines = run.stdout.splitlines()
    assert f"preflight verdict: PASS  (run {gate['runId']}, target sandbox)" in lines, why
    assert f"  gate:    {reports / 'gate.json'}" in lines, why
    assert f"  summary: {reports / 'summary.md'}" in lines, why
    assert f"  junit:   {reports / 'junit.xml'}" in lines, why
    report_lines = [line for line in lines if line.startswith("  report:  ")]
    assert len(report_lines) == 1, why
    assert report_lines[0].startswith(f"  report:  {reports / 'allure-report'}  (serve it over http: "), why
    assert (reports / "allure-report" / "index.html").is_file()
    assert re.search(rf"=+ {TOTAL} passed in [\d.]+s", run.stdout), why
    for path in ("gate.json", "summary.md", "junit.xml", "allure-results"):
        assert (reports / path).exists(), path


def test_gate_has_one_exact_result_per_test(shipped):
    gate, why = shipped.gate, explain(shipped)
    assert {"verdict", "runId", "target", "startedAt", "finishedAt", "results"} <= set(gate)
    assert (
        gate["target"] == "sandbox"
        and gate["problem"] is None
        and gate["reason"]
        == f"all {TOTAL} selected tests ran; {len(gate['notChecked'])} check(s) not checked, by choice "
        "(notChecked says what each would catch)"
    )
    # the shipped config leaves out on purpose only what needs the user: approving a look, judging console errors
    assert gate["unjudged"] == [] and {n["check"].split(": ", 1)[1] for n in gate["notChecked"]} == {
        "the approved look",
        "console errors and failed assets",
    }
    assert gate["tests"] == {
        "planned": TOTAL,
        "selected": TOTAL,
        "ran": TOTAL,
        "selection": None,
        "stopped": None,
        "unfinished": [],
    }
    # the end of the run retired every link of the 2 campaigns (each lends a click to the other's
    # foreign-ctx check: no decoy campaign), and says so
    assert gate["leftovers"] == [] and gate["escalations"] == []
    assert gate["cleanup"] == {"retired": 5, "failed": 0, "writes": 5, "errors": []}, gate["cleanup"]
    assert gate["writePlan"]["writesTotal"] == 17 and gate["writePlan"]["byCampaign"] == {
        "spring-ab": 7,
        "diwali-sale": 10,
    }
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", gate["runId"]), gate["runId"]
    assert STAMP.match(gate["startedAt"]) and STAMP.match(gate["finishedAt"])
    assert gate["startedAt"] <= gate["finishedAt"]
    expected = expected_results(gate["runId"])
    got = {r["nodeid"]: r for r in gate["results"]}
    assert len(gate["results"]) == len(got) == TOTAL, why
    assert set(got) == set(expected), set(got) ^ set(expected)
    for nodeid, result in got.items():
        # a passed test may name what it left out by choice (the look before `preflight approve`)
        assert set(result) - {"notChecked"} == RESULT_KEYS, nodeid
        assert bool(result.get("notChecked")) == nodeid.startswith("suites/test_landing.py::test_shopper"), nodeid
        want = expected[nodeid]
        assert (result["step"], result["campaignId"], result["slug"]) == (
            want["step"],
            want["campaignId"],
            want["slug"],
        ), nodeid
        assert (result["outcome"], result["message"], result["category"], result["escalation"], result["ticketId"]) == (
            "passed",
            "",
            None,
            None,
            None,
        ), nodeid
        assert result["requestIds"] and all(REQUEST_ID.match(i) for i in result["requestIds"]), nodeid
    every_id = [i for r in gate["results"] for i in r["requestIds"]]
    assert len(every_id) == len(set(every_id)), "a request id is claimed by two tests"


def test_junit_xml_has_every_test_with_its_step(shipped):
    root = ET.parse(shipped.reports / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == TOTAL
    assert not root.findall(".//failure") and not root.findall(".//error") and not root.findall(".//skipped")
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
        assert props.get("preflight.step") in FEATURE, (case.get("name"), props)
        assert props.get("preflight.campaignId", "").startswith(f"pf-{shipped.gate['runId']}-")


def test_summary_md_is_the_campaign_step_table(shipped):
    text = (shipped.reports / "summary.md").read_text()
    run_id = shipped.gate["runId"]
    assert text.startswith("## campaign-preflight: ✅ PASS\n")
    # a single run's summary says when it ran, as a merge of shards does (one finisher writes both)
    started, finished = shipped.gate["startedAt"], shipped.gate["finishedAt"]
    assert (
        f"Run `{run_id}` against `sandbox` · {started} → {finished}: {TOTAL} passed ({TOTAL} of {TOTAL} selected ran)."
        in text
    )
    assert (
        "| campaign | 1 · Campaign health | 2 · PAT health | 3 · Lead capture | 4 · Test conversion "
        "| 5 · Detail page publish | 6 · Public conversion | 7 · Shopper's journey | 8 · Readiness |" in text
    )
    assert f"| pf-{run_id}-spring-ab | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ | ✅ |" in text
    assert f"| pf-{run_id}-diwali-sale | ✅ | ✅ | — not a lead funnel | ✅ | ✅ | ✅ | ✅ | ✅ |" in text
    assert "### Failures" not in text


def test_every_test_has_its_artifacts_json(shipped):
    run = shipped
    run_id = run.gate["runId"]
    expected = expected_results(run_id)
    gate = {r["nodeid"]: r for r in run.gate["results"]}
    results = run.allure_results()
    assert len(results) == TOTAL
    exchanges = all_exchanges(run)
    for result in results:
        nodeid = nodeid_of(result)
        want = expected[nodeid]
        art = artifacts_of(run, result)
        assert art["runId"] == run_id, nodeid
        assert art["campaignId"] == want["campaignId"], nodeid
        assert art["slugs"] == [f"{v}-{suffix(run_id)}" for v in CAMPAIGNS[want["stem"]]], nodeid
        assert art["slug"] == want["slug"], nodeid
        assert art["requestIds"] == gate[nodeid]["requestIds"], nodeid
        test = nodeid.split("::")[1].split("[")[0]
        clicks = len(art.get("ctx", []))
        assert len(art.get("clickIds", [])) == clicks
        assert all(re.fullmatch(r"clk_[0-9a-f]{16}", c) for c in art.get("clickIds", [])), nodeid
        if test == "test_one_lead_captured_and_reviewed":
            assert clicks == 1 and len(art["leadIds"]) == 1 and art["leadIds"][0].startswith("lead_"), art
        elif test == "test_variant_test_conversion":
            assert clicks == 1 and len(art["testConversionIds"]) == 1, art
            assert art["testConversionIds"][0].startswith("tcv_"), art
        elif test == "test_draft_saved_and_published":
            assert art["deploymentId"].startswith("dep_"), art
            assert art["schemaS3Key"] == f"site-structure/gharart/campaigns/{want['campaignId']}/v1.json", art
        elif test in (
            "test_fresh_ctx_conversion_recorded",
            "test_replay_returns_same_conversion",
            "test_reused_key_with_other_body_refused",
            "test_reused_ctx_deduped_per_click",
        ):
            assert clicks == 1 and len(art["conversionIds"]) == 1 and art["conversionIds"][0].startswith("cnv_"), art
        elif test in (
            "test_checks_present_and_traffic_tagged",
            "test_pat_health_agrees_with_jwt",
            "test_ready_after_lifecycle",
        ):
            assert set(art["health"]) == {"status", "score"}, art
        if test == "test_ready_after_lifecycle":
            assert art["health"] == {"status": "PASS", "score": 100}, art
        # The click ids are those the context route resolved in this test's own exchanges.
        resolved = [
            exchanges[i]["responseBody"]["clickId"]
            for i in art["requestIds"]
            if exchanges[i]["url"].split("?")[0].endswith("/v2/public/context") and exchanges[i]["status"] == 200
        ]
        assert resolved == art.get("clickIds", []), nodeid
        ctx_in_redirects = [
            parse_qs(urlsplit(exchanges[i]["responseHeaders"]["location"]).query)["ctx"][0]
            for i in art["requestIds"]
            if "/_edge/redirect/" in exchanges[i]["url"]
        ]
        assert ctx_in_redirects == art.get("ctx", []), nodeid


def test_every_exchange_is_attached_with_credentials_redacted(shipped):
    run = shipped
    seen_ids, surfaces = set(), {"jwt": 0, "pat": 0}
    for result in run.allure_results():
        for attachment in result["attachments"]:
            if not is_exchange(attachment):
                continue
            doc = json.loads(run.attachment_text(attachment))
            assert attachment["type"] == "application/json"
            for key in (
                "method",
                "url",
                "status",
                "durationMs",
                "requestId",
                "requestHeaders",
                "requestBody",
                "responseHeaders",
                "responseBody",
            ):
                assert key in doc, (attachment["name"], key)
            path = doc["url"].split("://", 1)[1].split("/", 1)[1].split("?")[0]
            assert attachment["name"] == f"{doc['method']} /{path} -> {doc['status']} (request {doc['requestId']})"
            assert REQUEST_ID.match(doc["requestId"]) and doc["responseHeaders"]["x-request-id"] == doc["requestId"]
            assert isinstance(doc["durationMs"], (int, float)) and doc["durationMs"] >= 0
            auth = doc["requestHeaders"].get("authorization")
            if path.startswith("v2/handles/"):
                assert auth == "Bearer [REDACTED]", (attachment["name"], auth)
                assert "$PREFLIGHT_JWT" in doc["curl"]
                surfaces["jwt"] += 1
            elif re.match(r"v2/public/handles/[^/]+/(campaigns/[^/]+/health|site-structure/)", path):
                assert auth == "Bearer [REDACTED]", (attachment["name"], auth)
                assert "$PREFLIGHT_PAT" in doc["curl"]
                surfaces["pat"] += 1
            else:
                assert auth is None, (attachment["name"], auth)
            seen_ids.add(doc["requestId"])
    assert surfaces["jwt"] > 20 and surfaces["pat"] > 5, surfaces
    # Setup exchanges (the throwaway campaign) are attached to the fixture, in the containers.
    for container in (run.reports / "allure-results").glob("*-container.json"):
        for fixture in json.loads(container.read_text()).get("befores", []):
            for attachment in fixture.get("attachments", []):
                seen_ids.add(json.loads(run.attachment_text(attachment)).get("requestId"))
    gate_ids = {i for r in run.gate["results"] for i in r["requestIds"]}
    assert gate_ids <= seen_ids, f"request ids without an exchange attachment: {sorted(gate_ids - seen_ids)[:5]}"


def test_each_test_has_one_container_for_its_own_fixtures(shipped):
    """CompactFileLogger: a test's function fixtures (set-up exchanges included) in one container
    file, not one file per fixture; the session fixtures keep theirs."""
    results = {r["uuid"]: r for r in shipped.allure_results()}
    own: dict[str, list[list[str]]] = {}
    for path in (shipped.reports / "allure-results").glob("*-container.json"):
        doc = json.loads(path.read_text())
        assert doc.get("children"), f"{path.name}: a container no test refers to"
        if len(doc["children"]) == 1:  # a session fixture used by one test only also has one child
            own.setdefault(doc["children"][0], []).append([f["name"] for f in doc.get("befores", [])])
    assert set(own) == set(results)
    for child, containers in own.items():
        mine = [names for names in containers if "step_run" in names]
        assert len(mine) == 1, (results[child]["name"], containers)
        # step_run reaches the campaign, the client and the artifacts through `preflight`: its closure
        # holds no other fixture of ours (each would be set up and recorded for every test).
        assert not {"artifacts", "throwaway_campaign", "platform", "run_config"} & set(mine[0]), mine[0]
        assert len(mine[0]) == len(set(mine[0])), mine[0]


def test_allure_labels_epic_feature_story(shipped):
    run = shipped
    expected = expected_results(run.gate["runId"])
    features = set()
    for result in run.allure_results():
        nodeid = nodeid_of(result)
        want = expected[nodeid]
        assert labels(result, "epic") == ["Campaign lifecycle"], nodeid
        assert labels(result, "feature") == labels(result, "preflight_step") == [FEATURE[want["step"]]], nodeid
        assert labels(result, "story") == labels(result, "campaign") == [want["stem"]], nodeid
        assert labels(result, "variant") == ([want["variant"]] if want["variant"] else []), nodeid
        assert labels(result, "severity") == ["critical"] and labels(result, "tag") == [], nodeid
        params = {p["name"]: p for p in result["parameters"]}
        assert params["campaignId"]["excluded"] is True
        assert result["status"] == "passed", nodeid
        features.update(labels(result, "feature"))
    assert features == FEATURES


def test_environment_and_executor_describe_the_run(shipped):
    folder = shipped.reports / "allure-results"
    env = dict(line.split("=", 1) for line in (folder / "environment.properties").read_text().splitlines())
    run_id = shipped.gate["runId"]
    assert {k: env[k] for k in ("target", "handle", "plan", "role", "run_id", "harness_version")} == {
        "target": "sandbox",
        "handle": "gharart",
        "plan": "ENTERPRISE",
        "role": "CREATOR",
        "run_id": run_id,
        "harness_version": preflight.__version__,
    }
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["base_url"]), env["base_url"]
    executor = json.loads((folder / "executor.json").read_text())
    assert executor["buildName"] == run_id
    assert executor["name"] == "campaign-preflight"
    assert run_id in executor["reportName"]


def test_one_progress_line_per_campaign_once_its_last_test_is_done(shipped):
    expected = expected_results(shipped.gate["runId"])
    for stem in CAMPAIGNS:
        tests = sum(1 for want in expected.values() if want["stem"] == stem)
        steps = sorted({STEP_NUMBER[want["step"]] for want in expected.values() if want["stem"] == stem})
        line = f"campaign {stem}: {tests} tests, ready (steps {' '.join(steps)} passed)"
        assert shipped.stdout.splitlines().count(line) == 1, f"expected once: {line!r}" + explain(shipped)
    # The README's example of such a line is one the shipped run prints.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = re.search(r"`(campaign spring-ab: \d+ tests, ready \(steps [\d ]+ passed\))`", readme)
    assert example and example.group(1) in shipped.stdout.splitlines(), example and example.group(1)


def test_the_summary_says_why_a_campaign_has_no_lead_capture(shipped):
    """diwali-sale (PRODUCT_SALE) has no step 3: its cell says why instead of a bare dash."""
    rows = [line for line in (shipped.reports / "summary.md").read_text().splitlines() if "-diwali-sale |" in line]
    assert len(rows) == 1 and "| — not a lead funnel |" in rows[0], rows


def test_run_leaves_out_the_plugins_the_suites_never_use(shipped):
    """`preflight run` blocks the dev extras' hypothesis and schemathesis plugins (~1 s of start-up
    per pytest process each), although the project copy's own pytest.ini does not."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = {name: version(name) for name in ("hypothesis", "schemathesis")}
    except PackageNotFoundError as exc:
        pytest.skip(f"{exc.name} is not installed (dev extras): nothing to leave out")
    header = [line for line in shipped.stdout.splitlines() if line.startswith("plugins: ")]
    assert len(header) == 1, explain(shipped)
    assert "allure-pytest" in header[0] and "xdist" in header[0], header[0]
    for name, release in installed.items():
        assert f"{name}-{release}" not in header[0], f"{name} was loaded: {header[0]}"


def test_no_minted_token_anywhere_under_reports(shipped):
    assert shipped.leaked_secrets() == [], explain(shipped)
    # The redaction really ran: the tokens were there and were masked, not simply absent.
    texts = [p.read_text() for p in (shipped.reports / "allure-results").glob("*-attachment.json")]
    assert sum("Bearer [REDACTED]" in t for t in texts) > 20


def test_campaigns_ran_on_two_workers_in_uc07_order(shipped):
    by_campaign: dict[str, list[dict]] = {}
    expected = expected_results(shipped.gate["runId"])
    for result in shipped.allure_results():
        by_campaign.setdefault(expected[nodeid_of(result)]["stem"], []).append(result)
    workers = {stem: {labels(r, "thread")[0] for r in results} for stem, results in by_campaign.items()}
    assert all(len(w) == 1 for w in workers.values()), f"a campaign's tests ran on two workers: {workers}"
    assert workers["spring-ab"] != workers["diwali-sale"], f"both campaigns on one worker: {workers}"
    for stem, results in by_campaign.items():
        steps = [expected[nodeid_of(r)]["step"] for r in sorted(results, key=lambda r: r["start"])]
        positions = [UC07_ORDER.index(s) for s in steps]
        assert positions == sorted(positions), f"{stem} ran out of UC-07 order: {steps}"


# -- a rerun with the same --run-id ---------------------------------------------------------------


@pytest.fixture(scope="module")
def rerun(sandbox, tmp_path_factory):
    """Two runs with one run id from two copies of the project, stats after each (no reset between)."""
    sandbox.reset()
    base = tmp_path_factory.mktemp("rerun")
    run_id = "rerun-" + secrets.token_hex(4)
    first = make_project(base / "first", sandbox=sandbox).run("--run-id", run_id)
    after_first = sandbox.stats()
    second = make_project(base / "second", sandbox=sandbox).run("--run-id", run_id)
    after_second = sandbox.stats()
    return SimpleNamespace(
        run_id=run_id, first=first, second=second, after_first=after_first, after_second=after_second
    )


def test_attached_run_passes_with_exact_counts(rerun):
    run, why = rerun.first, explain(rerun.first)
    assert run.code == 0 and run.gate["verdict"] == "PASS", why
    assert run.gate["runId"] == rerun.run_id and run.gate["target"] == "attached"
    assert run.gate["reportPath"] is None and "Report: not built" in (run.reports / "summary.md").read_text()
    outcomes = {r["nodeid"]: r["outcome"] for r in run.gate["results"]}
    assert set(outcomes) == set(expected_results(rerun.run_id, browser=False))
    assert set(outcomes.values()) == {"passed"}, why
    stats = rerun.after_first
    # 2 campaigns (each lends a click to the other's foreign-ctx check) with their 5 variant links,
    # one lead (spring-ab), a test conversion per variant, 4 conversions per variant, one publish each.
    assert {
        k: stats[k]
        for k in ("campaigns", "links", "leads", "testConversions", "conversions", "deployments", "supportReports")
    } == {
        "campaigns": 2,
        "links": 5,
        "leads": 1,
        "testConversions": 5,
        "conversions": 20,
        "deployments": 2,
        "supportReports": 0,
    }, stats


def test_rerun_with_same_run_id_creates_no_duplicates(rerun):
    before, after = rerun.after_first, rerun.after_second
    for kind in ("campaigns", "links", "leads"):
        assert after[kind] == before[kind], f"the rerun created {kind} again: {before} -> {after}" + explain(
            rerun.second
        )
    assert rerun.second.gate["runId"] == rerun.run_id


def test_rerun_with_same_run_id_still_passes(rerun):
    """The campaign is adopted (409 or replay) and its retired links re-enabled."""
    run = rerun.second
    failures = [(r["nodeid"], r["category"], r["message"].splitlines()[0]) for r in run.failures()]
    assert run.code == 0 and run.gate["verdict"] == "PASS", f"{failures[:3]}{explain(run)}"


# -- a fault on: the matching step fails, the others still report ---------------------------------


@pytest.fixture(scope="module")
def faulted(sandbox, tmp_path_factory):
    sandbox.reset()
    project = make_project(tmp_path_factory.mktemp("faulted") / "project", sandbox=sandbox)
    run = project.run(faults={"schema_fetch_fails": {}})
    log = sandbox.requests(10000)
    stats = sandbox.stats()
    sandbox.set_faults({})
    return SimpleNamespace(run=run, log=log, stats=stats)


SCHEMA_FETCH = "suites/test_publish.py::test_schema_fetch_matches_publish"


def test_fault_fails_only_the_matching_step(faulted):
    run, why = faulted.run, explain(faulted.run)
    assert run.code == 1, why
    gate = run.gate
    assert gate["verdict"] == "FAIL", why
    results = {r["nodeid"]: r for r in gate["results"]}
    assert len(gate["results"]) == API_TOTAL and set(results) == set(expected_results(gate["runId"], browser=False))
    failed = {n for n, r in results.items() if r["outcome"] not in ("passed", "skipped")}
    assert failed == {f"{SCHEMA_FETCH}[spring-ab]", f"{SCHEMA_FETCH}[diwali-sale]"}, why
    assert sum(r["outcome"] == "passed" for r in results.values()) == API_TOTAL - 2
    assert re.search(rf"=+ 2 failed, {API_TOTAL - 2} passed in [\d.]+s", run.stdout), why
    log = {entry["requestId"]: entry for entry in faulted.log}
    for nodeid in sorted(failed):
        result = results[nodeid]
        cid = result["campaignId"]
        assert result["outcome"] == "failed" and result["category"] == "schema_fetch", result
        assert result["message"].startswith(
            "[schema_fetch] fetching the published schema with the PAT: the platform answered 404 not_found"
        ), result
        assert f"  [schema_fetch] {nodeid}" in run.stdout.splitlines(), why
        # The failing request is the PAT schema fetch the sandbox answered 404.
        fetches = [
            log[i]
            for i in result["requestIds"]
            if i in log
            and log[i]["method"] == "GET"
            and log[i]["path"] == f"/v2/public/handles/gharart/site-structure/campaigns/{cid}"
        ]
        assert [f["status"] for f in fetches] == [404], (result["requestIds"], fetches)
        assert result["ticketId"] is None  # not sent without --escalate
        payload = json.loads(Path(result["escalation"]).read_text())
        assert fetches[0]["requestId"] in payload["reproArtifact"]["requestIds"] and payload["runId"] == gate["runId"]
    # One platform defect seen on both campaigns: one payload, listing both tests.
    (escalation,) = gate["escalations"]
    assert set(escalation["tests"]) == failed and {r["escalation"] for n, r in results.items() if n in failed} == {
        escalation["file"]
    }
    publishes = [r for n, r in results.items() if "test_draft_saved_and_published" in n]
    assert [r["outcome"] for r in publishes] == ["passed", "passed"]
    assert faulted.stats["supportReports"] == 0


def test_fault_run_reports_the_failure_everywhere(faulted):
    run = faulted.run
    summary = (run.reports / "summary.md").read_text()
    assert summary.startswith("## campaign-preflight: ❌ FAIL\n")
    assert summary.count("- **category:** `schema_fetch`") == 2
    junit = ET.parse(run.reports / "junit.xml").getroot()
    assert len(junit.findall(".//failure")) == 2 and len(junit.findall(".//testcase")) == API_TOTAL
    failing = [r for r in run.allure_results() if "test_schema_fetch_matches_publish" in nodeid_of(r)]
    assert sorted(r["status"] for r in failing) == ["failed", "failed"]
    for result in failing:
        assert "[schema_fetch]" in result["statusDetails"]["message"]
        names = [a["name"] for a in result["attachments"]]
        assert any(n.startswith("escalation draft (root cause schema_fetch-") for n in names), names
        assert "artifacts" in names, names
    assert run.leaked_secrets() == [], explain(run)
