"""The page the shopper should see: the approved look of each landing page, through a forwarding
proxy on 127.0.0.1 in front of a sandbox started as its own process, its `/_site/` pages standing in
for the customer's site (a sandbox target whose base_url is the proxy: every click, page and
asset goes through it).

A healthy run is PASS with the look not checked, by choice (nothing approved yet); `preflight
approve` stores a PNG per variant and viewport beside the config; two more healthy runs are PASS
with every look the same. Then one run breaks each promise on its own variant (another heading
and no hero, a 200 page saying it does not exist, a script dropping the ctx after load, an 8 s
bridge page, a detail page showing its content under its gate, a publish whose url is another
page), each failing where it touches, and a variant with no approved look is HOLD where
`browser.visual.required`. A new creative takes two commands: the run shows the diff, approve
takes it. The browser layer's own part (approve in a test, change the page, see the diff; the same
page with a new ctx and another time gives none) is tested on the sandbox's pages directly.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from harness_helpers import attach_to, explain, make_project
from test_landing import CHROMIUM, JOURNEY, PNG, attachments_of, only_campaign, results_of

from preflight.lifecycle.model import live_slug

playwright = pytest.importorskip("playwright.sync_api", reason="playwright missing: run make setup")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium missing: run make browser")

DETAIL = "test_detail_page_asks_for_login"
VIEWPORTS = ("desktop", "phone")
VARIANTS = {"spring-ab": ["spring-a", "spring-b"], "diwali-sale": ["diwali-a", "diwali-b", "diwali-c"]}
IMAGE_DIFF = "application/vnd.allure.image.diff"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "content-length"}


# -- a forwarding proxy ----------------------------------------------------------------------------


class Forwarder:
    """A small HTTP proxy on 127.0.0.1 that forwards every request, as it came (its Host too, so the
    sandbox's own URLs name the proxy), to `upstream`, and its answer back unchanged."""

    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.Client(base_url=upstream, follow_redirects=False, timeout=60)
        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="forwarder", daemon=True)

    def _handler(self):
        forwarder = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
                forwarder.paths.append(self.path)
                answer = forwarder.upstream.request(self.command, self.path, headers=headers, content=body)
                data = answer.content
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() not in HOP_BY_HOP | {"content-encoding", "date", "server"}:
                        self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

            def log_message(self, *args) -> None:  # quiet
                pass

        return Forward

    def __enter__(self) -> Forwarder:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()


@pytest.fixture(scope="module")
def proxy(sandbox):
    with Forwarder(sandbox.url) as forwarder:
        yield forwarder


def proxied_project(folder: Path, sandbox, proxy):
    """The shipped config (the browser on, phone and desktop), its sandbox target at the proxy. The
    Largest Contentful Paint is measured, not judged: the look is this file's subject, and a proxy in
    Python on a shared machine is no measure of a page's speed."""
    sandbox.reset()
    project = make_project(folder, sandbox=sandbox, browser=True)
    attach_to(project, proxy.url)
    project.edit_config(lambda data: data["browser"].pop("lcp_budget_ms"))
    return project


def approve(project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", "approve", *args], cwd=project.path, capture_output=True, text=True
    )


def looks_of(run, campaign: str, variant: str) -> dict[str, dict]:
    """viewport -> the look the journey test recorded (its artifacts)."""
    (found,) = [a for a in attachments_of(run, f"{JOURNEY}[{campaign}:{variant}]") if a["name"] == "artifacts"]
    return {look["viewport"]: look for look in json.loads(run.attachment_text(found)).get("looks", [])}


def not_checked(run, campaign: str, variant: str) -> list[dict]:
    (found,) = [a for a in attachments_of(run, f"{JOURNEY}[{campaign}:{variant}]") if a["name"] == "artifacts"]
    return json.loads(run.attachment_text(found)).get("notChecked", [])


# -- approve, then compare -----------------------------------------------------------------------------


def seen(run) -> dict:
    """What a run's reports say, read before the project's next run replaces them."""
    return {
        "gate": run.gate,
        "journeys": results_of(run, JOURNEY),
        "looks": {v: looks_of(run, c, v) for c, vs in VARIANTS.items() for v in vs},
        "notChecked": {v: not_checked(run, c, v) for c, vs in VARIANTS.items() for v in vs},
    }


@pytest.fixture(scope="module")
def approved(sandbox, proxy, tmp_path_factory):
    """A healthy run, `preflight approve`, and two more healthy runs, all through the proxy."""
    project = proxied_project(tmp_path_factory.mktemp("approved") / "project", sandbox, proxy)
    runs = []
    for number in range(3):
        run = project.run()
        assert run.gate["verdict"] == "PASS", explain(run)
        runs.append(seen(run))
        if number == 0:
            approval = approve(project)
    return project, runs[0], approval, runs[1:]


def test_a_healthy_run_through_the_proxy_passes_and_lists_the_look_not_checked(approved, proxy):
    project, first, _, _ = approved
    assert first["gate"]["target"] == "attached"
    assert all(r["outcome"] == "passed" for r in first["journeys"].values()), first["journeys"]
    listed = first["notChecked"]["spring-a"]
    look = [item for item in listed if item["what"] == "the approved look"]
    assert look and "no approved look: run `preflight approve`" in look[0]["why"], listed
    # the browser's clicks, the customer's pages and their assets all went through the proxy
    seen = " ".join(proxy.paths)
    assert "/_edge/redirect/gharart/spring-a-" in seen and "/_site/gharart.example/spring" in seen, seen[:500]
    assert "/_site/_assets/hero.svg" in seen and "/_edge/pages/gharart/spring-offer" in seen


def test_approve_stores_a_png_per_variant_and_viewport_beside_the_config(approved):
    project, first, approval, _ = approved
    assert approval.returncode == 0 and approval.stderr == "", approval.stderr
    folder = project.path / "config" / "baselines" / "attached"
    for campaign, variants in VARIANTS.items():
        for variant in variants:
            for viewport in VIEWPORTS:
                png = folder / campaign / f"{variant}.{viewport}.png"
                assert png.read_bytes()[:8] == PNG, png
                assert f"approved {campaign}/{variant} on {viewport}: config/baselines/attached/" in approval.stdout
    manifest = json.loads((folder / "manifest.json").read_text())["looks"]
    assert len(manifest) == 10, manifest
    entry = manifest["spring-ab/spring-a.phone"]
    assert entry["runId"] == first["gate"]["runId"] and entry["size"] == [390, 844], entry
    assert "/_site/gharart.example/spring?v=a&utm_source=meta" in entry["url"] and "ctx" not in entry["url"], entry
    assert live_slug(first["gate"]["runId"], "spring-a") not in json.dumps(manifest)  # configured slugs, not the run's
    assert "10 look(s) of run" in approval.stdout and "commit the folder" in approval.stdout


def test_two_more_healthy_runs_pass_and_every_page_looks_as_approved(approved):
    _, _, _, runs = approved
    for run in runs:
        assert run["gate"]["verdict"] == "PASS", run["gate"]["reason"]
        for variants in VARIANTS.values():
            for variant in variants:
                looks = run["looks"][variant]
                assert sorted(looks) == list(VIEWPORTS), looks
                assert all(look["status"] == "same" and look["share"] <= 0.005 for look in looks.values()), looks
                assert not [i for i in run["notChecked"][variant] if i["what"] == "the approved look"]


# -- each hole, on its own variant ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(approved, sandbox, proxy):
    """The approved project, now requiring a look, diwali-c's phone look removed, and one fault per
    variant and detail page."""
    project, first, _, _ = approved
    project.edit_config(lambda data: data["browser"]["visual"].update(required=True))
    (project.path / "config" / "baselines" / "attached" / "diwali-sale" / "diwali-c.phone.png").unlink()
    run_id = "vis-broken-1"
    other_page = f"{proxy.url}/_edge/pages/gharart/diwali-offer"
    faults = {
        "landing_changed": {"slug": live_slug(run_id, "spring-a"), "heading": "Winter clearance", "hero": "none"},
        "landing_not_found": {"slug": live_slug(run_id, "spring-b"), "soft": True},
        "landing_strips_ctx": {"slug": live_slug(run_id, "diwali-a")},
        "bridge_slow": {"slug": live_slug(run_id, "diwali-b"), "seconds": 8},
        "detail_page_content_under_gate": {"campaignId": f"pf-{run_id}-diwali-sale"},
        "answer_rewritten": {
            "path": f"/v2/handles/*/site-structure/campaigns/pf-{run_id}-spring-ab",
            "method": "GET",
            "field": "published.url",
            "value": other_page,
        },
    }
    run = project.run("--run-id", run_id, html=True, faults=faults)
    assert run.gate["verdict"] == "FAIL" and run.code == 1, explain(run)
    return project, run


BROKEN = {
    "spring-a": ("landing_page", "does not show the text 'Control'"),
    "spring-b": ("landing_page", "answers 200 but says it does not exist: 'Page not found'"),
    "diwali-a": ("attribution", "the page's own script removes it after load"),
    "diwali-b": ("contract_violation", "before the page (its meta refresh waits 8 s), over browser.bridge_max_ms 3000"),
}


def test_each_broken_promise_fails_every_variant_it_touches(broken):
    _, run = broken
    journeys = results_of(run, JOURNEY)
    got = {variant: (r["outcome"], r["category"]) for variant, r in journeys.items() if variant in BROKEN}
    assert got == {variant: ("failed", category) for variant, (category, _) in BROKEN.items()}, explain(run)
    for variant, (_, text) in BROKEN.items():
        message = journeys[variant]["message"]
        assert text in message and "also failed on desktop (1366×768)" in message.splitlines()[0], message
    assert journeys["diwali-a"]["party"] == "customer site" and journeys["diwali-a"]["escalation"] is None
    assert journeys["diwali-b"]["cause"] == "a click's bridge page makes the shopper wait before sending them on"
    details = results_of(run, DETAIL)
    assert (details["diwali-sale"]["category"], details["spring-ab"]["category"]) == (
        "publish_access_mode",
        "contract_violation",
    ), explain(run)
    assert "under its login gate (#page-content is visible)" in details["diwali-sale"]["message"]
    assert "not the page published as spring-offer" in details["spring-ab"]["message"]


def test_a_changed_page_carries_an_image_diff_and_the_side_by_side_page_shows_it(broken):
    _, run = broken
    looks = looks_of(run, "spring-ab", "spring-a")
    assert all(look["status"] == "changed" and look["share"] > 0.005 for look in looks.values()), looks
    diffs = [a for a in attachments_of(run, f"{JOURNEY}[spring-ab:spring-a]") if a["type"] == IMAGE_DIFF]
    assert sorted(a["name"].split(" · ")[1].split(" ")[0] for a in diffs) == list(VIEWPORTS), diffs
    doc = json.loads(run.attachment_text(diffs[0]))
    assert sorted(doc) == ["actual", "diff", "expected"]
    for data_url in doc.values():
        assert data_url.startswith("data:image/png;base64,")
        assert base64.b64decode(data_url.split(",", 1)[1])[:8] == PNG
    overview = Path(run.gate["browser"]["overview"]).read_text()
    assert "The approved look, and now" in overview and "✗ changed" in overview, overview[:2000]
    # the soft 404 changed too: its diff is there, its finding is the page, not the look
    assert looks_of(run, "spring-ab", "spring-b")["phone"]["status"] == "changed"


def test_a_variant_without_an_approved_look_is_hold_where_required(broken):
    _, run = broken
    diwali_c = results_of(run, JOURNEY)["diwali-c"]
    assert diwali_c["outcome"] == "skipped", diwali_c
    assert (
        "the look of diwali-c's landing page is not judged (phone: no approved look: run `preflight approve`)"
        in (diwali_c["message"])
    )
    assert any("diwali-c" in (entry.get("test") or "") for entry in run.gate.get("unjudged") or []), run.gate


def test_approve_refuses_a_run_whose_journey_failed(broken):
    project, _ = broken
    refused = approve(project)
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout
    first = refused.stderr.splitlines()[0]
    assert first.startswith("preflight approve: not approved: ") and "spring-ab/spring-b: its journey failed" in first
    unknown = approve(project, "--variant", "spring-z")
    assert "--variant spring-z: not a variant of the run's journeys" in unknown.stderr and unknown.returncode == 2


# -- a new creative, in two commands -------------------------------------------------------------------


def test_a_new_creative_fails_with_its_diff_then_approve_makes_it_the_look(sandbox, proxy, tmp_path):
    """The heading keeps the variant's text and the hero is swapped: only the look can tell. The run
    fails on it (landing_page, the look's cause); approving that run makes it the approved look."""
    project = proxied_project(tmp_path / "project", sandbox, proxy)
    only_campaign(project, "spring-ab")
    journey_only = ("--", "-k", JOURNEY)
    assert project.run(*journey_only).gate["verdict"] == "PASS"
    assert approve(project).returncode == 0
    new = {"landing_changed": {"slug": "spring-a-*", "heading": "Control", "hero": "swapped"}}
    changed = project.run(*journey_only, faults=new)
    journeys = results_of(changed, JOURNEY)
    assert (journeys["spring-a"]["category"], journeys["spring-a"]["cause"]) == (
        "landing_page",
        "the landing page differs from its approved look",
    ), explain(changed)
    message = journeys["spring-a"]["message"]
    assert "spring-a's landing page differs from its approved look: phone (390×844) " in message, message
    assert "over browser.visual.max_diff 0.5%" in message and "preflight approve --variant spring-a" in message
    assert journeys["spring-b"]["outcome"] == "passed"
    taken = approve(project, "--variant", "spring-a")
    assert taken.returncode == 0 and "2 look(s) of run" in taken.stdout, taken.stderr
    again = project.run(*journey_only, faults=new)
    assert again.gate["verdict"] == "PASS", explain(again)


# -- the browser's part: approve in a test, change the page, see the diff ------------------------------


@pytest.fixture(scope="module")
def browser():
    from preflight.browser.launch import Shopper
    from preflight.config.browser import BrowserSettings

    shopper = Shopper(BrowserSettings(executable=CHROMIUM)).start()
    yield shopper
    shopper.close()


def first_screen(browser, url: str, request) -> bytes:
    from preflight.browser.visit import Tab
    from preflight.config.browser import DEFAULT_VIEWPORTS

    with Tab(browser, DEFAULT_VIEWPORTS[0]) as tab:
        visit = tab.open(url, click=False, look=request)
    assert visit.look is not None and visit.look_error is None, visit.facts()
    return visit.look


def test_an_unchanged_page_with_a_new_ctx_and_time_looks_as_approved_and_a_changed_one_does_not(
    browser, sandbox, tmp_path
):
    """The sandbox's page shows the time it checked its prices (masked, as the shipped config masks
    it) and a pulsing badge (frozen before the shot); its hero swapped, it differs."""
    from preflight.browser import pixels
    from preflight.browser.baselines import Baselines
    from preflight.browser.look import LookRequest

    sandbox.reset()
    page = f"{sandbox.url}/_site/gharart.example/spring?v=a&utm_source=meta&ctx="
    masked = LookRequest(mask=(".checked time",))
    looks = Baselines(tmp_path / "baselines" / "sandbox")
    looks.store(
        "spring-ab", "spring-a", "phone", first_screen(browser, page + "c1.first", masked), run_id="t", url=page
    )
    approved = looks.find("spring-ab", "spring-a", "phone")
    unmasked_before = first_screen(browser, page + "c1.first", LookRequest())
    sandbox.advance_clock(3 * 3600 + 17 * 60 + 11)  # the page now says another time
    again = pixels.compare(approved.png, first_screen(browser, page + "c1.second", masked), threshold=0.1)
    assert again.changed == 0 and again.diff_png is None, again.share
    unmasked = pixels.compare(unmasked_before, first_screen(browser, page + "c1.second", LookRequest()), threshold=0.1)
    assert 0 < unmasked.share < 0.005, unmasked.share  # the time, unmasked, is all that changed
    sandbox.set_faults({"landing_changed": {"heading": "Welcome to gharart.example", "hero": "swapped"}})
    try:
        changed = pixels.compare(approved.png, first_screen(browser, page + "c1.third", masked), threshold=0.1)
    finally:
        sandbox.set_faults({})
    assert changed.share > 0.05 and pixels.png_size(changed.diff_png) == (390, 844), changed.share


def test_the_visits_own_values_shown_on_a_page_are_painted_over(browser):
    """A page that shows its ctx (or the run's ids) looks the same on every visit: the element that
    shows one is masked, found from the page's URL and the run's own values."""
    from preflight.browser import look, pixels

    def shot(ctx: str, run_id: str, *, hide: bool = True) -> look.Shot:
        context = browser.browser.new_context(viewport={"width": 390, "height": 300})
        try:
            page = context.new_page()
            page.set_content(f"<h1>Spring sale</h1><p>Your reference <b>{ctx}</b></p><p>run {run_id}</p>")
            request = look.LookRequest(hide=(run_id,)) if hide else look.LookRequest(hide_params=())
            return look.take(page, request, f"http://site.example/spring?ctx={ctx}")
        finally:
            context.close()

    visits = [("c1.AAAAAAAAAA.first", "20261207-100000-aaaa"), ("c1.BBBBBBBBBB.other", "20261207-110000-bbbb")]
    one, two = (shot(ctx, run_id) for ctx, run_id in visits)
    assert one.marked == two.marked == 2 and one.error is None, (one.marked, one.error)
    masked = pixels.compare(one.png, two.png, threshold=0.1)
    bare = pixels.compare(*(shot(ctx, run_id, hide=False).png for ctx, run_id in visits), threshold=0.1)
    # what is left is the edge of a painted box a glyph wider or narrower: far under max_diff
    assert masked.share < 0.001 and bare.changed > 10 * max(masked.changed, 1), (masked.changed, bare.changed)


def test_the_email_field_is_looked_for_inside_a_form_given_as_a_selector_list(browser):
    from preflight.browser.visit import Tab
    from preflight.config.browser import DEFAULT_VIEWPORTS

    with Tab(browser, DEFAULT_VIEWPORTS[1]) as tab:
        tab.page.set_content('<form class="signup"><input name="name"><button>Go</button></form>')
        assert tab.visible("form#lead, form.signup") and tab.email_field("form#lead, form.signup") is None
        tab.page.set_content('<form class="signup"><input type="email" name="email"></form>')
        assert tab.email_field("form#lead, form.signup") is not None
