"""The shopper's journey (step 7) in real `preflight run`s against a real sandbox process, driving
Debian's Chromium: a healthy run, each landing-page fault reported with its category and variant,
a lead sent from the page, the detail page's login gate, what the browser blocks, no token in any
browser artifact, and the report showing the screenshots (and running none of a page's script)
in headless Chromium, as its reader opens it.

Several faults share one run, each limited to one variant (`slug`), so the runs stay few.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from harness_helpers import ROOT, explain, make_project
from test_fault_matrix import minted_secrets

from preflight.lifecycle.model import live_slug
from preflight.report.build import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VARIANTS = {"spring-ab": ["spring-a", "spring-b"], "diwali-sale": ["diwali-a", "diwali-b", "diwali-c"]}
JOURNEY = "test_shopper_lands_on_the_variant_page"
DETAIL = "test_detail_page_asks_for_login"
TRACKERS = {"connect.facebook.net", "www.facebook.com", "www.googletagmanager.com", "analytics.tiktok.com"}
PNG = b"\x89PNG\r\n\x1a\n"

playwright = pytest.importorskip("playwright.sync_api", reason="playwright missing: run make setup")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run make browser")


def browser_project(folder: Path, sandbox, **browser) -> object:
    sandbox.reset()
    project = make_project(folder, sandbox=sandbox, browser=True)
    project.edit_config(lambda data: data["browser"].update(browser))
    return project


def only_campaign(project, stem: str) -> None:
    project.edit_config(lambda data: data.update(campaigns=[c for c in data["campaigns"] if c["campaignId"] == stem]))


def results_of(run, test: str) -> dict[str, dict]:
    """variant (or campaign) -> gate result of one test function."""
    return {r.get("variant") or r["campaign"]: r for r in run.gate["results"] if f"::{test}[" in r["nodeid"]}


def attachments_of(run, nodeid_part: str) -> list[dict]:
    return run.allure_result(nodeid_part)["attachments"]


def artifacts(run, nodeid_part: str) -> dict:
    (found,) = [a for a in attachments_of(run, nodeid_part) if a["name"] == "artifacts"]
    return json.loads(run.attachment_text(found))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG, "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def browser_artifacts(run) -> dict[str, bytes]:
    """Every file the browser made that reached the report: screenshots, page HTML, traces (each
    trace's files unzipped), and the run's landing folder."""
    found: dict[str, bytes] = {}
    folder = run.reports / "allure-results"
    for result in run.allure_results():
        for attachment in result["attachments"]:
            if attachment["type"] in ("image/png", "text/plain", "application/zip"):
                found[attachment["name"] + " " + attachment["source"]] = (folder / attachment["source"]).read_bytes()
    for path in (run.reports / "landing").rglob("*"):
        if path.is_file():
            found[str(path)] = path.read_bytes()
    for name, data in list(found.items()):
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    found[f"{name}!{member}"] = archive.read(member)
    return found


def assert_no_token(run, sandbox, since: float) -> None:
    tokens = minted_secrets(sandbox.db, handle="gharart", role="CREATOR", since=since, until=time.time())
    shapes = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.|patv1_[A-Za-z0-9]+\.[A-Za-z0-9_-]{8,}")
    files = browser_artifacts(run)
    assert files, "expected browser artifacts to scan"
    texts = {name: data.decode("latin-1") for name, data in files.items()}
    leaked = [name for name, data in files.items() if shapes.search(data)] + tokens.places(texts)
    assert leaked == [], f"a token in a browser artifact: {leaked}"
    assert run.leaked_secrets(extra=tokens.strings) == [], explain(run)


def report_test(report: Path, title_end: str) -> dict:
    """A test of the built report, by the end of its title (a test's title in words: campaign or variant)."""
    tests = [json.loads(p.read_text()) for p in (report / "data" / "test-results").glob("*.json")]
    (found,) = [t for t in tests if t["name"].endswith(title_end)]
    return found


@pytest.fixture(scope="module")
def chromium():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


# -- a healthy run ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(sandbox, tmp_path_factory):
    """The shipped config, each variant expecting its own title on its page, a lead sent from each
    LEAD_CAPTURE page; the report built."""
    project = browser_project(tmp_path_factory.mktemp("healthy") / "project", sandbox, submit_lead=True)

    def expect_titles(data):
        for campaign in data["campaigns"]:
            for variant in campaign["variants"]:
                variant["expect"] = {"landing": {"text": variant["title"], "selector": "#hero"}}

    project.edit_config(expect_titles)
    since = time.time()
    run = project.run(html=True)
    assert run.gate["verdict"] == "PASS", explain(run)
    jwt = sandbox.mint_jwt("gharart")
    campaign_id = f"pf-{run.gate['runId']}-spring-ab"
    leads = sandbox.admin.get(
        "/v2/handles/gharart/leads", params={"campaignId": campaign_id}, headers={"authorization": f"Bearer {jwt}"}
    ).json()["items"]
    return run, leads, since


def test_a_healthy_run_is_pass_with_two_screenshots_per_variant(healthy):
    run, _, _ = healthy
    journeys = results_of(run, JOURNEY)
    assert sorted(journeys) == sorted(v for vs in VARIANTS.values() for v in vs)
    assert all(r["outcome"] == "passed" and r["step"] == "landing" for r in journeys.values()), explain(run)
    for variant in journeys:
        shots = [
            a
            for a in attachments_of(run, f"{JOURNEY}[{journeys[variant]['campaign']}:{variant}]")
            if a["type"] == "image/png"
        ]
        shots = [a for a in shots if a["name"].startswith("landing page")]
        assert sorted(a["name"] for a in shots) == ["landing page · desktop 1366×768", "landing page · phone 390×844"]
        for shot in shots:
            width, height = png_size((run.reports / "allure-results" / shot["source"]).read_bytes())
            assert (width, height >= 768) == ((390, True) if "phone" in shot["name"] else (1366, True)), shot
    browser = run.gate["browser"]
    assert browser["status"] == "ran" and browser["tests"] == {"ran": 7, "skipped": 0, "failed": 0}, browser
    assert browser["screenshots"] == 12 and Path(browser["overview"]).name == "landing-pages.html", browser
    summary = (run.reports / "summary.md").read_text()
    assert "### The shopper's journey (a real browser)" in summary and "- ✅ ran: 7 browser test(s) ran" in summary


def test_each_visit_lands_with_its_ctx_and_tags_and_says_it_is_a_preflight(healthy):
    run, _, _ = healthy
    art = artifacts(run, f"{JOURNEY}[diwali-sale:diwali-c]")
    assert [v["viewport"] for v in art["landing"]] == ["phone", "desktop"]
    for visit in art["landing"]:
        assert visit["finalStatus"] == 200 and [h["status"] for h in visit["hops"]] == [302, 200], visit
        final = visit["finalUrl"]
        assert "utm_source=instagram" in final and "utm_medium=cpc" in final and "ctx=c1." in final, final
        assert "/_site/gharart.example/diwali" in final and visit["title"].startswith("Free shipping"), visit
        assert visit["userAgent"].endswith(" campaign-preflight/0.1.0"), visit["userAgent"]
        measured = {key: visit[key] for key in ("lcpMs", "loadMs", "error")}
        assert visit["lcpMs"] is not None and visit["loadMs"] is not None, measured
    assert "Mobile" in art["landing"][0]["userAgent"] and "Mobile" not in art["landing"][1]["userAgent"]
    # each ctx the browser landed with was resolved to its click (the exchanges are the test's own)
    assert len(art["ctx"]) == len(art["clickIds"]) == 2, art


def test_a_lead_sent_from_the_page_is_captured_for_its_variant(healthy):
    run, leads, _ = healthy
    run_id = run.gate["runId"]
    for variant in VARIANTS["spring-ab"]:
        art = artifacts(run, f"{JOURNEY}[spring-ab:{variant}]")
        lead = art["browserLead"]
        assert lead["slug"] == live_slug(run_id, variant) and lead["status"] == "CAPTURED", lead
        listed = [item for item in leads if item["leadId"] == lead["leadId"]]
        assert len(listed) == 1 and listed[0]["slug"] == lead["slug"], leads
        assert f"-{variant}@" in listed[0]["email"], listed[0]
        posts = [
            a["name"] for a in attachments_of(run, f"{JOURNEY}[spring-ab:{variant}]") if a["name"].startswith("POST ")
        ]
        assert any(name.startswith("POST /v2/public/handles/gharart/leads -> 201 (request req_") for name in posts)
    # a PRODUCT_SALE page sends no lead
    assert "browserLead" not in artifacts(run, f"{JOURNEY}[diwali-sale:diwali-a]")


def test_the_detail_page_shows_its_login_gate(healthy):
    run, _, _ = healthy
    details = results_of(run, DETAIL)
    assert {k: r["outcome"] for k, r in details.items()} == {"spring-ab": "passed", "diwali-sale": "passed"}
    art = artifacts(run, f"{DETAIL}[spring-ab]")
    assert art["detailPage"].endswith("/_edge/pages/gharart/spring-offer"), art
    assert art["detailPageVisit"]["finalStatus"] == 200 and art["detailPageVisit"]["title"] == "spring-offer"
    names = [a["name"] for a in attachments_of(run, f"{DETAIL}[spring-ab]")]
    assert "detail page · phone 390×844" in names, names


def test_ad_and_analytics_hosts_are_blocked_and_the_report_says_so(healthy):
    run, _, _ = healthy
    blocked = run.gate["browser"]["blocked"]
    assert set(blocked) == TRACKERS and all(count == 10 for count in blocked.values()), blocked  # 5 variants × 2
    assert set(artifacts(run, f"{JOURNEY}[spring-ab:spring-a]")["blocked"]) == TRACKERS
    summary = (run.reports / "summary.md").read_text()
    assert "connect.facebook.net ×10" in summary and "www.googletagmanager.com ×10" in summary, summary
    overview = Path(run.gate["browser"]["overview"]).read_text()
    assert "analytics.tiktok.com: 10 request(s)" in overview


def test_no_token_in_any_browser_artifact_of_a_healthy_run(healthy, sandbox):
    run, _, since = healthy
    assert_no_token(run, sandbox, since)


def test_the_report_shows_the_screenshots(healthy, chromium, tmp_path):
    """The built report, opened in headless Chromium: a journey test's screenshots render as images,
    and the global attachment shows every variant side by side."""
    run, _, _ = healthy
    report = run.reports / "allure-report"
    result = report_test(report, "lands on the variant's working page, ctx and tags kept, on every viewport: spring-b")
    with serve(report) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        outside: list[str] = []
        page.route(
            "**/*",
            lambda r: (
                r.continue_()
                if r.request.url.startswith((url, "data:", "blob:"))
                else (outside.append(r.request.url), r.abort())
            ),
        )
        page.goto(url + f"#/{result['id']}")
        page.get_by_text("Attachments").first.click()
        page.get_by_text("landing page · phone 390×844").first.click()
        image = page.locator("img[src^='blob:']").first
        image.wait_for(state="visible", timeout=20_000)
        assert image.evaluate("img => img.complete && img.naturalWidth") == 390
        page.screenshot(path=str(tmp_path / "journey-test.png"), full_page=True)
        page.goto(url)
        page.get_by_text("Global Attachments").first.click()
        page.get_by_text("landing-pages.html").first.click()
        frame = None
        for _ in range(100):  # the attachment's frame appears once it is fetched
            frame = next((f for f in page.frames if (f.title() or "") == "Landing pages"), None)
            if frame is not None:
                break
            page.wait_for_timeout(100)
        assert frame is not None, "the landing-pages.html attachment did not open"
        frame.locator("img").last.wait_for(state="attached", timeout=20_000)
        shown = frame.locator("img").evaluate_all("imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
        assert shown == 12, f"expected 12 screenshots side by side, {shown} rendered"
        assert "spring-ab" in frame.inner_text("body") and "diwali-c" in frame.inner_text("body")
        page.screenshot(path=str(tmp_path / "landing-pages.png"), full_page=True)
    assert outside == [], outside


# -- every landing-page fault, each on its own variant ------------------------------------------------


@pytest.fixture(scope="module")
def faulted(sandbox, tmp_path_factory):
    """One run, a fault per variant (and the detail page's on one campaign), with a Largest
    Contentful Paint budget and console errors failing; the report built."""
    run_id = f"lf-{secrets.token_hex(3)}"
    project = browser_project(
        tmp_path_factory.mktemp("faulted") / "project", sandbox, lcp_budget_ms=1500, fail_on_console_errors=True
    )
    faults = {
        "landing_not_found": {"slug": live_slug(run_id, "spring-a")},
        "lead_form_missing": {"slug": live_slug(run_id, "spring-b")},
        "site_redirect_drops_query": {"slug": live_slug(run_id, "diwali-a")},
        "landing_script_error": {"slug": live_slug(run_id, "diwali-b")},
        "landing_slow": {"slug": live_slug(run_id, "diwali-c")},
        "detail_page_ungated": {"campaignId": f"pf-{run_id}-diwali-sale"},
    }
    since = time.time()
    run = project.run("--run-id", run_id, html=True, faults=faults)
    assert run.gate["verdict"] == "FAIL" and run.code == 1, explain(run)
    return run, since


EXPECTED = {
    "spring-a": ("landing_page", "answers 404"),
    "spring-b": ("landing_page", "has no visible lead form (form#lead)"),
    "diwali-a": (
        "attribution",
        "the landing page's URL has lost the click's ctx (and utm_campaign, utm_medium, utm_source)",
    ),
    "diwali-b": ("landing_page", "offer widget failed"),
    "diwali-c": ("landing_page", "Largest Contentful Paint"),
}


def test_each_landing_fault_is_reported_with_its_category_and_variant(faulted):
    run, _ = faulted
    journeys = results_of(run, JOURNEY)
    got = {variant: (r["outcome"], r["step"], r["category"]) for variant, r in journeys.items()}
    assert got == {v: ("failed", "landing", category) for v, (category, _) in EXPECTED.items()}, explain(run)
    for variant, (_, text) in EXPECTED.items():
        message = journeys[variant]["message"]
        assert text in message and message.startswith(f"[{EXPECTED[variant][0]}] on phone (390×844): "), message
        assert "also failed on desktop (1366×768)" in message.splitlines()[0], message
        assert "request ids: req_" in message, message  # the browser's click, with the platform's request id
    # nothing else broke: the API's pipeline is healthy
    others = [r["nodeid"] for r in run.failures() if JOURNEY not in r["nodeid"] and DETAIL not in r["nodeid"]]
    assert others == [], others


def test_the_customer_site_is_never_escalated_but_the_detail_page_is(faulted):
    run, _ = faulted
    journeys = results_of(run, JOURNEY)
    assert all(r["escalation"] is None for r in journeys.values()), journeys
    assert journeys["diwali-a"]["party"] == "customer site"
    (escalation,) = run.gate["escalations"]
    detail = results_of(run, DETAIL)
    assert detail["diwali-sale"]["category"] == "publish_access_mode" and detail["spring-ab"]["outcome"] == "passed"
    assert escalation["category"] == "publish_access_mode" and escalation["tests"] == [detail["diwali-sale"]["nodeid"]]
    assert "shows its content without a login" in escalation["cause"]
    summary = (run.reports / "summary.md").read_text()
    assert "- **category:** `landing_page` (customer site side)" in summary
    assert "- **category:** `attribution` (customer site side)" in summary
    assert summary.count("none (customer site side: not the platform's to fix)") == 5, summary
    assert "make the site's redirect from /_site/gharart.example/diwali keep the query string" in summary


def test_a_failed_visit_carries_its_screenshots_html_as_text_and_a_trace(faulted):
    run, _ = faulted
    attachments = attachments_of(run, f"{JOURNEY}[diwali-sale:diwali-b]")
    by_type = {a["name"]: a["type"] for a in attachments}
    assert by_type["landing page · phone 390×844"] == by_type["landing page · desktop 1366×768"] == "image/png"
    assert by_type["landing page HTML · phone (as text)"] == "text/plain"  # shown, never rendered
    assert "text/html" not in by_type.values()
    trace = next(a for a in attachments if a["name"].startswith("Playwright trace · landing page · phone"))
    assert trace["type"] == "application/zip" and trace["source"].endswith(".zip")
    with zipfile.ZipFile(run.reports / "allure-results" / trace["source"]) as archive:
        assert any(name.endswith(".trace") for name in archive.namelist()), archive.namelist()
    html = next(a for a in attachments if a["name"] == "landing page HTML · phone (as text)")
    assert "offer-widget.js" in run.attachment_text(html)


def test_no_token_in_any_browser_artifact_of_a_failed_run(faulted, sandbox):
    run, since = faulted
    assert_no_token(run, sandbox, since)


def test_nothing_a_page_says_runs_in_the_report(faulted, chromium, tmp_path):
    """The page's script error carries markup that would call /__pf_xss if it ran; its HTML holds
    scripts. Opened in the report (its failure, its HTML, what the browser saw), none of it runs."""
    run, _ = faulted
    report = run.reports / "allure-report"
    result = report_test(report, "lands on the variant's working page, ctx and tags kept, on every viewport: diwali-b")
    calls: list[str] = []
    with serve(report) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.route(
            "**/*",
            lambda r: (calls.append(r.request.url), r.continue_() if r.request.url.startswith(url) else r.abort()),
        )
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url + f"#/{result['id']}")
        page.get_by_text("offer widget failed").first.wait_for(timeout=20_000)
        page.get_by_text("Attachments").first.click()
        for name in ("landing page HTML · phone (as text)", "landing page · phone: what the browser saw"):
            page.get_by_text(name).first.click()
        page.get_by_text("<!doctype html>").first.wait_for(timeout=20_000)  # the HTML, as text
        page.screenshot(path=str(tmp_path / "failed-journey.png"), full_page=True)
        injected = page.evaluate("() => document.querySelectorAll('img[src=x], script[src*=offer-widget]').length")
    assert not [c for c in calls if "__pf_xss" in c] and dialogs == [] and injected == 0, (calls, dialogs)


# -- what the customer's site drops, and a form without its email field ---------------------------------


@pytest.fixture(scope="module")
def site_drops(sandbox, tmp_path_factory):
    """One run of the journey alone, a site fault per variant with the options that leave the ctx in
    place: the loss of the tags alone is then the site's (its redirect, or its page's script)."""
    run_id = f"sd-{secrets.token_hex(3)}"
    project = browser_project(tmp_path_factory.mktemp("site-drops") / "project", sandbox)
    faults = {
        "lead_form_missing": {"slug": live_slug(run_id, "spring-a"), "emailOnly": True},
        "site_redirect_drops_query": {"slug": live_slug(run_id, "spring-b"), "keep": "ctx"},
        "landing_strips_ctx": {"slug": live_slug(run_id, "diwali-a"), "params": "utm_medium"},
    }
    run = project.run("--run-id", run_id, "--", "-k", JOURNEY, faults=faults)
    assert run.gate["verdict"] == "FAIL" and run.code == 1, explain(run)
    return run


SITE_DROPS = {
    "spring-a": ("landing_page", "has a lead form (form#lead) without an email field", None),
    "spring-b": (
        "missing_traffic_tags",
        "the landing page's URL lacks or changed utm_campaign, utm_medium, utm_source",
        "the landing site's own redirect drops utm tags from the URL",
    ),
    "diwali-a": (
        "missing_traffic_tags",
        "lacks or changed utm_medium after its own script ran (its answer's URL had them)",
        "the landing page's own script removes utm tags from its URL",
    ),
}  # variant: category, message, root cause (None: not asserted)


@pytest.mark.parametrize("variant", sorted(SITE_DROPS))
def test_what_the_site_drops_is_the_sites_finding(site_drops, variant):
    result = results_of(site_drops, JOURNEY)[variant]
    category, text, cause = SITE_DROPS[variant]
    assert (result["outcome"], result["step"], result["category"]) == ("failed", "landing", category), explain(
        site_drops
    )
    assert text in result["message"] and result["message"].startswith(f"[{category}] on phone"), result["message"]
    assert result["party"] == "customer site" and result["escalation"] is None, result
    if cause is not None:
        assert result["cause"] == cause, result


def test_the_variants_without_a_site_fault_pass(site_drops):
    journeys = results_of(site_drops, JOURNEY)
    assert {v: r["outcome"] for v, r in journeys.items() if v not in SITE_DROPS} == {
        "diwali-b": "passed",
        "diwali-c": "passed",
    }, explain(site_drops)
    assert site_drops.gate["escalations"] == []


# -- the platform's faults as the shopper meets them -------------------------------------------------


def autumn(campaigns: list[dict]) -> dict:
    """A second LEAD_CAPTURE campaign, so each of the lead form's failures has a variant of its own."""
    spring = next(c for c in campaigns if c["campaignId"] == "spring-ab")
    variants = [
        {
            **v,
            "slug": v["slug"].replace("spring", "autumn"),
            "destinationUrl": v["destinationUrl"].replace("spring", "autumn"),
        }
        for v in spring["variants"]
    ]
    variants[1]["expect"] = {"landing": {"text": "Winter clearance"}}  # not what autumn-b's page shows
    detail = {**spring["detailPage"], "detailsPageSlug": "autumn-offer"}
    return {**spring, "campaignId": "autumn-ab", "name": "Autumn funnel", "variants": variants, "detailPage": detail}


def winter(campaigns: list[dict]) -> dict:
    """A third PRODUCT_SALE campaign: its two variants' clicks are broken on the platform's side."""
    diwali = next(c for c in campaigns if c["campaignId"] == "diwali-sale")
    variants = [
        {**v, "slug": f"winter-{v['slug'][-1]}", "destinationUrl": v["destinationUrl"].replace("diwali", "winter")}
        for v in diwali["variants"][:2]
    ]
    detail = {**diwali["detailPage"], "detailsPageSlug": "winter-offer"}
    return {**diwali, "campaignId": "winter-sale", "name": "Winter sale", "variants": variants, "detailPage": detail}


@pytest.fixture(scope="module")
def platform_faulted(sandbox, tmp_path_factory):
    """One run, a platform (or site) fault per variant and per detail page, each found by the
    browser's checks (the API's steps see the platform's too), with a lead sent from each page."""
    run_id = f"pf-{secrets.token_hex(3)}"
    project = browser_project(tmp_path_factory.mktemp("platform") / "project", sandbox, submit_lead=True)
    project.edit_config(lambda data: data["campaigns"].extend([autumn(data["campaigns"]), winter(data["campaigns"])]))
    faults = {
        "lead_dropped_silently": {"slug": live_slug(run_id, "spring-a")},
        "attribution_swapped": {"slug": live_slug(run_id, "spring-b")},
        "lead_form_inert": {"slug": live_slug(run_id, "autumn-a")},
        "redirect_swapped": {"slug": live_slug(run_id, "diwali-a")},
        "traffic_tag_changed": {"slug": live_slug(run_id, "diwali-b")},
        "ctx_misattributed": {"slug": live_slug(run_id, "diwali-c")},
        "click_fails": {"slug": live_slug(run_id, "winter-a"), "status": 404},  # 404: not retried
        "bridge_clicks": {"slug": live_slug(run_id, "winter-b"), "markup": "none"},
        "publish_fails": {"campaignId": f"pf-{run_id}-spring-ab"},
        "detail_page_down": {"campaignId": f"pf-{run_id}-autumn-ab"},
        "publish_left_public": {"campaignId": f"pf-{run_id}-diwali-sale"},
    }
    run = project.run("--run-id", run_id, faults=faults)
    assert run.gate["verdict"] == "FAIL" and run.code == 1, explain(run)
    return run


PLATFORM_EXPECTED = {
    "spring-a": ("lead_capture", "a lead sent from spring-a's page was acknowledged but not stored (202)", True),
    "spring-b": ("attribution", "a lead sent from spring-b's page is credited to spring-a-", True),
    "autumn-a": ("landing_page", "the lead form (form#lead) sends nothing: no POST to …/leads within 5 s", False),
    "autumn-b": ("landing_page", "does not show the text 'Winter clearance'", False),
    "diwali-a": ("attribution", "the click on diwali-a-", True),
    "diwali-b": ("missing_traffic_tags", "lacks or changed utm_medium", True),
    "diwali-c": ("attribution", "the browser's click on diwali-c-", True),
    "winter-a": ("contract_violation", "the browser's click on winter-a-", True),
    # the HTTP follower's finding, word for word (lifecycle/clicks.py judges the browser's click too)
    "winter-b": ("contract_violation", "answers 200 with a page that sends the visitor nowhere", True),
}  # variant: category, message, escalated (the platform's; the customer site's never)
PLATFORM_DETAIL = {
    "spring-ab": ("schema_fetch", "nothing is published for this campaign"),
    "autumn-ab": ("contract_violation", "does not load: it answers 404"),
    "diwali-sale": ("publish_access_mode", "shows its content to a visitor without a session"),
    "winter-sale": ("passed", ""),
}


def test_each_platform_fault_is_found_in_the_browser_with_its_category(platform_faulted):
    run = platform_faulted
    journeys = results_of(run, JOURNEY)
    got = {variant: (r["outcome"], r["category"], r["escalation"] is not None) for variant, r in journeys.items()}
    want = {v: ("failed", category, escalated) for v, (category, _, escalated) in PLATFORM_EXPECTED.items()}
    assert got == want, explain(run)
    for variant, (_, text, _) in PLATFORM_EXPECTED.items():
        assert text in journeys[variant]["message"], journeys[variant]["message"]
    detail = results_of(run, DETAIL)
    assert {c: r["category"] or r["outcome"] for c, r in detail.items()} == {
        c: category for c, (category, _) in PLATFORM_DETAIL.items()
    }, explain(run)
    for campaign, (_, text) in PLATFORM_DETAIL.items():
        assert text in detail[campaign]["message"], detail[campaign]["message"]


def test_a_click_sent_to_a_sibling_names_both_variants(platform_faulted):
    message = results_of(platform_faulted, JOURNEY)["diwali-a"]["message"]
    assert re.search(r"sends the shopper to diwali-[bc]-\w+'s page", message), message


def test_a_bridge_page_to_nowhere_is_one_root_cause_for_the_browser_and_the_api(platform_faulted):
    run = platform_faulted
    browser = results_of(run, JOURNEY)["winter-b"]
    http = results_of(run, "test_click_redirect_carries_traffic_tags")["winter-b"]
    assert (browser["category"], browser["cause"]) == (http["category"], http["cause"]), (browser, http)
    assert browser["cause"] == "a click answers 200 with no bridge page markup", browser


# -- a bridge page that sends the shopper two ways ------------------------------------------------------


@pytest.fixture(scope="module")
def split_bridge(sandbox, tmp_path_factory):
    """One campaign, spring-b's clicks answered by a bridge page whose meta refresh and continue link
    go two ways (`bridge_clicks` markup split, as the fault matrix's case for the API's clicks)."""
    run_id = f"sb-{secrets.token_hex(3)}"
    project = browser_project(tmp_path_factory.mktemp("split") / "project", sandbox)
    only_campaign(project, "spring-ab")
    run = project.run(
        "--run-id", run_id, faults={"bridge_clicks": {"slug": live_slug(run_id, "spring-b"), "markup": "split"}}
    )
    assert run.gate["verdict"] == "FAIL" and run.code == 1, explain(run)
    return run


def test_a_split_bridge_page_fails_the_browser_as_it_fails_the_http_follower(split_bridge):
    """The browser follows the refresh to a page that works, yet its journey fails as the health
    step's HTTP click does: one click follower, one category, one root cause, one escalation."""
    run = split_bridge
    journeys = results_of(run, JOURNEY)
    assert {v: r["outcome"] for v, r in journeys.items()} == {"spring-a": "passed", "spring-b": "failed"}, explain(run)
    browser = journeys["spring-b"]
    http = results_of(run, "test_click_redirect_carries_traffic_tags")["spring-b"]
    cause = "a bridge page's refresh and continue link disagree"
    assert (browser["category"], browser["cause"]) == (http["category"], http["cause"]) == ("contract_violation", cause)
    for result in (browser, http):
        assert re.search(
            r"the bridge page of spring-b-\w+ sends the visitor two ways: its meta refresh goes to ", result["message"]
        )
    assert browser["message"].startswith("[contract_violation] on phone (390×844): "), browser["message"]
    assert "request ids: req_" in browser["message"], browser["message"]  # the browser's own click
    (escalation,) = [e for e in run.gate["escalations"] if e["cause"] == cause]
    assert {browser["nodeid"], http["nodeid"]} <= set(escalation["tests"]), escalation
    # facts only: the browser recorded both ways and landed where the refresh sent it
    for visit in artifacts(run, f"{JOURNEY}[spring-ab:spring-b]")["landing"]:
        bridge = visit["bridge"]
        assert bridge["refresh"] != bridge["continue"] and bridge["refresh"].startswith(bridge["continue"]), visit
        assert [h["status"] for h in visit["hops"]] == [200, 200] and "ctx=" in visit["finalUrl"], visit


# -- recorded, not failing; no browser; off ------------------------------------------------------------


def test_console_errors_and_failed_assets_are_findings_unless_configured(sandbox, tmp_path):
    project = browser_project(tmp_path / "project", sandbox)
    only_campaign(project, "spring-ab")
    run = project.run(faults={"landing_script_error": {}, "landing_asset_missing": {}})
    assert run.gate["verdict"] == "PASS", explain(run)
    findings = artifacts(run, f"{JOURNEY}[spring-ab:spring-a]")["landingFindings"]
    assert findings["failing"] is False
    text = "\n".join(findings["findings"])
    assert "phone: console error: Error: offer widget failed" in text, text
    assert re.search(r"desktop: failed request: stylesheet http://\S+/_site/_assets/theme-2026.css -> 404", text), text


def test_without_a_browser_the_checks_could_not_judge_hold_never_passed(sandbox, tmp_path):
    project = browser_project(tmp_path / "project", sandbox, executable="/bin/false")
    only_campaign(project, "spring-ab")
    run = project.run()
    gate = run.gate
    assert (gate["verdict"], run.code) == ("HOLD", 3), explain(run)
    skipped = [r for r in gate["results"] if r["step"] == "landing"]
    assert len(skipped) == 3 and all(r["outcome"] == "skipped" for r in skipped), skipped
    assert all("no browser can run here" in r["message"] and r["skip"] == "unjudged" for r in skipped), skipped
    assert all("install Chromium" in entry["fix"] for entry in gate["unjudged"]), gate["unjudged"]
    assert gate["browser"]["status"] == "skipped" and "does not start" in gate["browser"]["reason"], gate["browser"]
    assert "no browser can run here" in gate["reason"] and "install Chromium" in gate["reason"], gate["reason"]
    summary = (run.reports / "summary.md").read_text()
    assert (
        summary.startswith("## campaign-preflight: ⏸ HOLD") and "- **why skipped:** no browser can run here" in summary
    )
    assert "| ⏸ 3 not judged |" in summary, summary
    assert gate["matrix"]["spring-ab"]["7"] == "unjudged"


def test_with_a_budget_a_page_whose_paint_cannot_be_measured_could_not_judge(sandbox, tmp_path):
    run_id = f"lu-{secrets.token_hex(3)}"
    project = browser_project(tmp_path / "project", sandbox, lcp_budget_ms=2500)
    only_campaign(project, "spring-ab")
    run = project.run("--run-id", run_id, faults={"landing_paint_unmeasured": {"slug": live_slug(run_id, "spring-a")}})
    assert (run.gate["verdict"], run.code) == ("HOLD", 3), explain(run)
    journeys = results_of(run, JOURNEY)
    assert journeys["spring-b"]["outcome"] == "passed", journeys["spring-b"]
    held = journeys["spring-a"]
    assert (held["outcome"], held["skip"]) == ("skipped", "unjudged"), held
    assert "no Largest Contentful Paint was reported on phone, desktop" in held["message"], held["message"]
    assert "lcp_budget_ms" in held["fix"], held


def test_a_required_browser_that_cannot_run_is_an_error_before_any_write(sandbox, tmp_path):
    project = browser_project(tmp_path / "project", sandbox, executable="/bin/false", use="required")
    run = project.run()
    gate = run.gate
    assert (gate["verdict"], run.code, gate["problemCategory"]) == ("ERROR", 2, "config"), explain(run)
    assert "browser.use: required" in gate["problem"] and "no browser runs here" in gate["problem"]
    assert sandbox.stats()["campaigns"] == 0, "expected nothing written before the browser check"


def test_browser_off_leaves_the_checks_out_and_the_gate_says_so(sandbox, tmp_path):
    project = browser_project(tmp_path / "project", sandbox, use="off")
    only_campaign(project, "spring-ab")
    run = project.run("--", "-k", "test_checks_present_and_traffic_tagged")
    assert run.gate["browser"] == {
        "use": "off",
        "status": "off",
        "reason": "browser.use: off in the config: no browser check ran",
    }
    assert not [r for r in run.gate["results"] if r["step"] == "landing"]
    assert "the browser checks are off (browser.use: off)" in run.gate["reason"], run.gate["reason"]


def test_the_shipped_config_runs_the_browser_checks():
    text = (ROOT / "config" / "preflight.yaml").read_text()
    assert re.search(r"^browser: .*\n  use: auto ", text, re.M), "make preflight runs the browser checks by default"


def test_a_destination_that_does_not_resolve_is_the_sites_not_the_platforms(sandbox, tmp_path):
    """Without the sandbox's copy of the site (as on a remote target, which never maps), the links point
    at https://gharart.example/…, which never resolves: the platform's redirect is right, the page is not."""
    project = browser_project(tmp_path / "project", sandbox)
    only_campaign(project, "spring-ab")
    target = project.path / "config" / "targets" / "attached.yaml"
    data = yaml.safe_load(target.read_text())
    data.setdefault("sandbox", {})["map_destinations"] = False
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    run = project.run()
    journeys = results_of(run, JOURNEY)
    assert {v: (r["category"], r["escalation"]) for v, r in journeys.items()} == {
        "spring-a": ("landing_page", None),
        "spring-b": ("landing_page", None),
    }, explain(run)
    message = journeys["spring-a"]["message"]
    assert "the landing page gharart.example/spring does not load: " in message and "ERR_NAME_NOT_RESOLVED" in message
    assert "if this machine cannot reach the site" in message, message
    # the platform's own redirect check, which compares with the link's destination, still passes
    assert [r["outcome"] for r in run.results("test_click_redirect_carries_traffic_tags")] == ["passed", "passed"]
    assert run.gate["verdict"] == "FAIL" and run.gate["escalations"] == []
