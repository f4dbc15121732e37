"""The HTML report, opened in a real browser (Debian's Chromium, driven by Playwright) the way its
two readers open it: the marketing manager asking "ready for spend?", the QA lead digging into a
failure. A passing and a faulted run of the project, served over loopback; every request a page
makes to any other host is blocked and recorded: there must be none.

Screenshots of each page checked are kept in the test's tmp_path (printed with -s).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml
from harness_helpers import ROOT, explain, make_project

from preflight.report.build import build_report, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STEPS = [
    "1 · Campaign health",
    "2 · PAT health",
    "3 · Lead capture",
    "4 · Test conversion",
    "5 · Detail page publish",
    "6 · Public conversion",
    "7 · Shopper's journey",
    "8 · Readiness",
    "9 · Platform funnel numbers",
]

# What each test needs is skipped where it is missing, test by test: a missing browser does not
# take the tests that need none with it.
# How long a page may take to draw what a test reads, on a loaded machine: a deadline, never a pause.
WAIT_MS = 60_000
NO_ALLURE = "node_modules/.bin/allure missing: run make setup (it builds the HTML report)"


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) missing: run make setup")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: run make browser")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


def built(sandbox, folder: Path, faults: dict | None = None, browser: bool = False):
    if not (ROOT / "node_modules" / ".bin" / "allure").exists():
        pytest.skip(NO_ALLURE)
    sandbox.reset()
    project = make_project(folder, sandbox=sandbox, browser=browser)
    run = project.run(html=True, faults=faults)
    assert (run.reports / "allure-report" / "index.html").is_file(), explain(run)
    return run


@pytest.fixture(scope="module")
def passing(sandbox, tmp_path_factory):
    run = built(sandbox, tmp_path_factory.mktemp("passing") / "project", browser=True)
    assert run.gate["verdict"] == "PASS", explain(run)
    return run


@pytest.fixture(scope="module")
def faulted(sandbox, tmp_path_factory):
    run = built(sandbox, tmp_path_factory.mktemp("faulted") / "project", {"schema_fetch_fails": {}})
    assert run.gate["verdict"] == "FAIL", explain(run)
    return run


class Visit:
    """A page opened with every request to a host but ours blocked, and recorded."""

    def __init__(self, browser, url: str, shots: Path, name: str, allowed: str, ready: str) -> None:
        self.outside: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.route("**/*", self._route(allowed))
        self.page.goto(url)
        self.page.wait_for_selector("text=Powered by", timeout=WAIT_MS)
        # What the test reads, drawn (an event, not a pause: a loaded machine only takes longer).
        self.page.wait_for_selector(ready, state="attached", timeout=WAIT_MS)
        self.shot = shots / f"{name}.png"
        self.page.screenshot(path=str(self.shot), full_page=True)
        print(f"screenshot: {self.shot}")

    def _route(self, allowed: str):
        def route(handled) -> None:
            url = handled.request.url
            if url.startswith(allowed) or url.startswith(("data:", "blob:")):
                handled.continue_()
            else:
                self.outside.append(url)
                handled.abort()

        return route

    def text(self) -> str:
        return self.page.inner_text("body")


def open_page(
    browser, url: str, tmp_path: Path, name: str, allowed: str | None = None, ready: str = "text=Verdict"
) -> Visit:
    return Visit(browser, url, tmp_path, name, allowed or url.split("#")[0].rsplit("/", 1)[0] + "/", ready)


def matrix_frame_text(visit: Visit) -> str:
    """The readiness matrix attachment's own text, once its frame has loaded it; no frame is a failure
    (the whole page around it names the same causes in its Variables block)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        frame = next((f for f in visit.page.frames if "Readiness matrix" in (f.title() or "")), None)
        text = frame.inner_text("body") if frame is not None else ""
        if "Readiness matrix" in text or time.monotonic() > deadline:
            break
        visit.page.wait_for_timeout(50)
    assert frame is not None, f"no frame titled 'Readiness matrix': frames {[f.url for f in visit.page.frames]}"
    return text


def variables(visit: Visit) -> dict[str, str]:
    """The Variables block as {name: value}, "Show more" opened."""
    more = visit.page.get_by_text("Show more").first
    if more.is_visible():
        more.click()
    text = visit.text().split("Variables", 1)[1].split("Metadata", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()][1:]  # the count first
    return dict(zip(lines[::2], lines[1::2], strict=False))


def tree_groups(visit: Visit) -> list[str]:
    tree = visit.text().split("Sort by", 1)[1]
    return [line.strip() for line in tree.splitlines() if line.strip() in STEPS]


# -- the first screen answers "ready?" ----------------------------------------------------------


def test_a_passing_report_says_ready_on_its_first_screen_in_playbook_order(passing, browser, tmp_path):
    gate = passing.gate
    with serve(passing.reports / "allure-report") as url:
        visit = open_page(browser, url, tmp_path, "passing-first-screen")
        header = visit.page.locator("h2, h1").first.inner_text()
        found = variables(visit)
        groups = tree_groups(visit)
    assert f"campaign-preflight · PASS · run {gate['runId']} · attached" in header, header
    assert found["Verdict"] == "PASS: ready for spend" and found["Ready for spend"] == "2 of 2 campaign(s)", found
    assert found["spring-ab"] == found["diwali-sale"] == "✓ ready", found
    assert found["Left enabled"] == "nothing" and found["Root causes"] == "none", found
    # Per variant: the steps that run per variant, each passed.
    assert found["spring-ab · spring-a"] == "1 ✓ 4 ✓ 6 ✓ 7 ✓" and "diwali-sale · diwali-c" in found, found
    assert groups == STEPS, groups  # the six steps in order, the journey, then readiness, whatever ran first
    assert visit.outside == [], f"the report called other hosts: {visit.outside}"


def test_a_faulted_report_names_the_broken_step_and_its_root_cause(faulted, browser, tmp_path):
    with serve(faulted.reports / "allure-report") as url:
        visit = open_page(browser, url, tmp_path, "faulted-first-screen")
        found = variables(visit)
        visit.page.get_by_text("Global Attachments").first.click()
        visit.page.get_by_text("readiness-matrix.html").first.click()
        matrix_text = matrix_frame_text(visit)
        visit.page.screenshot(path=str(tmp_path / "faulted-matrix.png"), full_page=True)
    assert found["Verdict"] == "FAIL: 1 root cause(s)" and found["Ready for spend"] == "0 of 2 campaign(s)", found
    assert found["spring-ab"] == found["diwali-sale"] == "✗ step 5", found
    assert found["Root causes"] == "schema_fetch (2 tests)", found
    (escalation,) = faulted.gate["escalations"]
    assert escalation["cause"] in matrix_text and Path(escalation["file"]).name in matrix_text, matrix_text[:1500]
    assert "FAIL: 1 root cause(s)" in matrix_text and "spring-ab · spring-a" in matrix_text
    assert visit.outside == [], visit.outside


# -- names and pages a person can read ------------------------------------------------------------


def report_tests(run) -> list[dict]:
    folder = run.reports / "allure-report" / "data" / "test-results"
    return [json.loads(p.read_text()) for p in folder.glob("*.json")]


def test_titles_are_words_and_parameters_are_ids(passing):
    tests = report_tests(passing)
    assert len(tests) == passing.gate["tests"]["ran"]
    for test in tests:
        assert not test["name"].startswith("test_") and ": " in test["name"], test["name"]
        params = {p["name"]: p["value"] for p in test.get("parameters", [])}
        assert "CampaignConfig" not in json.dumps(params) and "VariantConfig" not in json.dumps(params), params
        assert params["campaign"].strip("'") in ("spring-ab", "diwali-sale"), params
        labels = test["groupedLabels"]
        assert labels["preflight_step"][0] in STEPS and labels["severity"] == ["critical"], labels
    names = {t["name"] for t in tests}
    assert "A real click lands on the variant's page with its UTM tags and a ctx: spring-b" in names
    assert "Health has its five checks and every variant link its UTM tags: spring-ab" in names


def test_no_status_is_unknown_not_even_a_fixture_teardown(passing, faulted):
    for run in (passing, faulted):
        for test in report_tests(run):
            stages = test.get("setup", []) + test.get("teardown", [])
            unknown = [s["name"] for s in stages if s.get("status") not in ("passed", "failed", "broken", "skipped")]
            assert test["status"] != "unknown" and unknown == [], (test["name"], unknown)
            assert not any("<lambda>" in s["name"] for s in stages), test["name"]
            # The merged per-test container (CompactFileLogger) still reaches the report's set-up.
            assert "step_run" in {s["name"] for s in test.get("setup", [])}, test["name"]
        stats = (
            json.loads((run.reports / "allure-report" / "widgets" / "statistic.json").read_text())
            if (run.reports / "allure-report" / "widgets" / "statistic.json").exists()
            else {}
        )
        assert not stats.get("unknown"), stats


def test_a_failed_test_page_reads_top_down(faulted, browser, tmp_path):
    failed = [t for t in report_tests(faulted) if t["status"] == "failed"]
    assert len(failed) == 2
    test = sorted(failed, key=lambda t: t["name"])[0]
    assert test["name"] == "The published schema fetch works and serves what was published: diwali-sale"
    assert test["error"]["message"].startswith("[schema_fetch] fetching the published schema with the PAT")
    assert "PreflightFailure" not in json.dumps(test["error"]) and not test["error"].get("trace")
    with serve(faulted.reports / "allure-report") as url:
        visit = open_page(
            browser, url + f"#/{test['id']}", tmp_path, "failed-test", allowed=url, ready="text=next step:"
        )
        page = visit.text()
        visit.page.get_by_text("Attachments").first.click()
        visit.page.wait_for_selector("text=escalation draft", timeout=WAIT_MS)
        attachments = visit.text()
        visit.page.screenshot(path=str(tmp_path / "failed-test-attachments.png"), full_page=True)
    # One error block (the test body's last line may repeat its first line, as Allure does for a failed test).
    assert page.count("  request ids: ") == 1 and page.count("  next step: ") == 1, page
    assert "5 · Detail page publish" in page and "diwali-sale" in page
    result = next(
        r for r in faulted.gate["results"] if r["nodeid"].endswith("[diwali-sale]") and r["outcome"] == "failed"
    )
    rid = result["failingRequestIds"][-1]
    assert f"(request {rid})" in attachments and "escalation draft (root cause schema_fetch-" in attachments
    links = [s["link"] for s in test["steps"] if s.get("type") == "attachment"]
    exchange = next(link for link in links if f"(request {rid})" in link["name"])
    doc = json.loads(
        (faulted.reports / "allure-report" / "data" / "attachments" / (exchange["id"] + exchange["ext"])).read_text()
    )
    assert list(doc)[:3] == ["request", "status", "requestId"] and doc["status"] == 404, list(doc)
    assert visit.outside == []


# -- two views of one run ---------------------------------------------------------------------------


def test_the_campaign_view_groups_by_campaign_then_variant(passing, browser, tmp_path):
    with serve(passing.reports / "allure-report") as url:
        visit = open_page(browser, url + "by-campaign/index.html", tmp_path, "by-campaign", allowed=url)
        text = visit.text()
        found = variables(visit)
    tree = [line.strip() for line in text.split("Sort by", 1)[1].splitlines()]
    assert "diwali-sale" in tree and "spring-ab" in tree, text[:1500]
    assert tree.index("diwali-sale") < tree.index("spring-ab")  # campaigns first, by name
    assert not any(line in STEPS for line in tree[: tree.index("spring-ab")]), tree[:40]
    assert found["Other view"] == "../index.html (by playbook step)" and visit.outside == []


# -- the report does not phone home -------------------------------------------------------------------


@pytest.mark.parametrize("single_file", [False, True], ids=["served", "single-file"])
def test_the_report_calls_no_third_party(passing, browser, tmp_path, single_file):
    report = tmp_path / "report"
    if single_file:
        shutil.copytree(passing.reports / "allure-results", tmp_path / "results")
        build_report(
            tmp_path / "results",
            report,
            project_root=ROOT,
            gate=passing.gate,
            history_path=tmp_path / "history.jsonl",
            single_file=True,
        )
        # Each view one page with its script and data inside: nothing else to fetch.
        assert not list(report.rglob("app-*.js")) and not list(report.rglob("data")), list(report.rglob("*"))
        url = report.joinpath("index.html").as_uri()
        visit = open_page(browser, url, tmp_path, "single-file", allowed="file://")
        assert "PASS: ready for spend" in visit.text()
        outside = visit.outside
    else:
        report = passing.reports / "allure-report"
        with serve(report) as url:
            outside = []
            for name, page in (("root", url), ("campaign-view", url + "by-campaign/index.html")):
                visit = open_page(browser, page, tmp_path, f"offline-{name}", allowed=url)
                outside += visit.outside
    assert outside == [], f"pages called other hosts: {outside}"
    for page in report.rglob("*.html"):
        # No page loads the tag manager (the landing-pages attachment names it as a host the browser blocked).
        assert not re.search(r"<script[^>]*googletagmanager|gtag\(", page.read_text()), page


# -- history that means something ----------------------------------------------------------------------


def test_history_is_per_target_and_says_what_went_red_since_the_last_pass(project, sandbox):
    first = project.run()
    assert first.gate["verdict"] == "PASS" and first.gate["sinceLastPass"]["lastPass"] is None, explain(first)
    first_id = first.gate["runId"]
    second = project.run(faults={"schema_fetch_fails": {}})
    since = second.gate["sinceLastPass"]
    assert since["lastPass"]["runId"] == first_id, since
    assert sorted((c["row"], c["step"], c["now"]) for c in since["changes"]) == [
        ("diwali-sale", "5", "failed"),
        ("spring-ab", "5", "failed"),
    ], since
    summary = (second.reports / "summary.md").read_text()
    assert (
        f"**Since the last PASS:** since run {first_id}" in summary
        and "spring-ab · 5 Detail page publish: ✅ → ❌" in summary
    ), summary
    history = project.path / "reports" / "history"
    entries = [json.loads(line) for line in (history / "attached.jsonl").read_text().splitlines()]
    assert [(e["runId"], e["target"], e["verdict"]) for e in entries] == [
        (first_id, "attached", "PASS"),
        (second.gate["runId"], "attached", "FAIL"),
    ]
    # Another target keeps its own history: its first run has no earlier PASS to compare with.
    targets = project.path / "config" / "targets"
    other = yaml.safe_load((targets / "attached.yaml").read_text()) | {"name": "rehearsal"}
    (targets / "rehearsal.yaml").write_text(yaml.safe_dump(other))
    third = project.run("--target", "rehearsal")
    assert third.gate["sinceLastPass"]["text"] == "no earlier PASS on this target"
    assert (history / "rehearsal.jsonl").is_file() and len((history / "attached.jsonl").read_text().splitlines()) == 2
