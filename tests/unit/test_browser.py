"""The shopper's journey's pure parts: its config, where a sandbox target's links land, what the
browser blocks, the token check of browser artifacts, the side-by-side page, and how the gate says
the browser checks ran, were skipped or are off."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from preflight.browser.evidence import holds_token
from preflight.browser.visit import block_pattern, same_site, user_agent
from preflight.config import ConfigError, load_run_config
from preflight.config.browser import DEFAULT_BLOCK_HOSTS, BrowserSettings, Viewport
from preflight.config.run import RunConfig
from preflight.core.categories import CUSTOMER_SITE, Category, party
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.playbook import STEPS
from preflight.report import landing
from preflight.report.facts import RunFacts
from preflight.report.judgement import verdict as judge
from preflight.report.summary import render_summary

ROOT = Path(__file__).resolve().parents[2]
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # in parts: no committed line looks like a token
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def config_with(tmp_path: Path, change) -> Path:
    (tmp_path / "config").mkdir()
    for name in ("targets",):
        (tmp_path / "config" / name).symlink_to(ROOT / "config" / name)
    data = yaml.safe_load((ROOT / "config" / "preflight.yaml").read_text())
    change(data)
    path = tmp_path / "config" / "preflight.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- config ----------------------------------------------------------------------------------------


def test_the_default_journey_is_a_phone_and_a_desktop_that_block_the_ad_platforms():
    settings = BrowserSettings()
    assert settings.use == "auto" and not settings.off and not settings.required
    assert [(v.name, v.width, v.height, v.mobile) for v in settings.viewports] == [
        ("phone", 390, 844, True),
        ("desktop", 1366, 768, False),
    ]
    assert {"connect.facebook.net", "www.googletagmanager.com", "google-analytics.com", "analytics.tiktok.com"} <= set(
        settings.block_hosts
    )
    assert settings.lead_form == "form#lead" and settings.submit_lead is False and settings.lcp_budget_ms is None


@pytest.mark.parametrize(("given", "use"), [("required", "required"), (False, "off"), (True, "auto"), ("auto", "auto")])
def test_browser_has_a_shorthand(given, use):
    assert (
        RunConfig.model_validate(
            {**yaml.safe_load((ROOT / "config" / "preflight.yaml").read_text()), "target": _target(), "browser": given}
        ).browser.use
        == use
    )


def _target():
    from preflight.config import TargetConfig

    return TargetConfig.model_validate(yaml.safe_load((ROOT / "config" / "targets" / "sandbox.yaml").read_text()))


def test_an_unquoted_off_is_off(tmp_path):
    """YAML 1.1 reads `use: off` as false: it still means off."""
    path = config_with(tmp_path, lambda d: None)
    path.write_text(path.read_text().replace("browser:\n  use: auto", "browser:\n  use: off", 1))
    assert "use: off" in path.read_text() and load_run_config(path).browser.off


def test_a_browser_config_mistake_is_one_line_with_the_fix(tmp_path):
    path = config_with(
        tmp_path,
        lambda d: d.update(browser={"use": "requird", "viewport": [], "block_hosts": ["https://x.example/a"]}),
    )
    with pytest.raises(ConfigError) as caught:
        load_run_config(path)
    lines = caught.value.problems
    assert any(
        line.endswith("browser.use: got 'requird'; allowed: auto, required, off; did you mean 'required'?")
        for line in lines
    ), lines
    assert any(
        "browser.viewport: unknown key 'viewport'" in line and "did you mean 'viewports'?" in line for line in lines
    )
    assert any("browser.block_hosts" in line and "not URLs" in line for line in lines), lines


def test_viewports_need_different_names():
    with pytest.raises(ValueError, match="phone is used twice"):
        BrowserSettings(viewports=[Viewport(name="phone", width=390, height=844)] * 2)


def test_a_variant_may_say_what_its_page_shows(tmp_path):
    def expect(data):
        data["campaigns"][0]["variants"][0]["expect"] = {"landing": {"text": "Spring sale", "selector": "#hero"}}

    run = load_run_config(config_with(tmp_path, expect))
    landing_expect = run.campaigns[0].variants[0].expect.landing
    assert (landing_expect.text, landing_expect.selector, landing_expect.lead_form) == ("Spring sale", "#hero", None)


# -- where a sandbox target's links land ---------------------------------------------------------------


def test_a_sandbox_target_lands_destinations_on_its_own_copy_of_the_site():
    target = _target().with_base_url("http://127.0.0.1:8040")
    assert target.landing_url("https://gharart.example/spring?v=a") == (
        "http://127.0.0.1:8040/_site/gharart.example/spring?v=a"
    )
    assert target.landing_url("http://gharart.example") == "http://127.0.0.1:8040/_site/gharart.example/"
    already = "http://127.0.0.1:8040/_site/gharart.example/spring"
    assert target.landing_url(already) == already
    off = target.model_copy(update={"sandbox": target.sandbox.model_copy(update={"map_destinations": False})})
    assert off.landing_url("https://gharart.example/spring?v=a") == "https://gharart.example/spring?v=a"


def test_a_remote_target_never_maps_a_destination():
    from preflight.config import TargetConfig

    remote = TargetConfig.model_validate(
        {
            **yaml.safe_load((ROOT / "config" / "targets" / "production.yaml").read_text()),
            "credentials": {"jwt": JWT, "pat": "patv1_abc.def123456"},
        }
    )
    assert remote.landing_url("https://gharart.example/spring?v=a") == "https://gharart.example/spring?v=a"


# -- what the browser blocks and how it says who it is ---------------------------------------------------


def test_the_block_list_matches_each_host_and_its_subdomains_only():
    pattern = block_pattern(list(DEFAULT_BLOCK_HOSTS))
    blocked = [
        "https://connect.facebook.net/en_US/fbevents.js",
        "https://www.googletagmanager.com/gtag/js?id=G-1",
        "https://region1.google-analytics.com/g/collect",
        "http://analytics.tiktok.com:443/i18n/pixel/events.js",
        "https://stats.g.doubleclick.net/",
    ]
    allowed = [
        "https://gharart.example/spring",
        "https://notconnect.facebook.net/x",
        "https://connect.facebook.net.evil.example/x",
        "https://gharart.example/?next=https://connect.facebook.net/",
        "https://www.facebook.com.example/",
    ]
    assert [url for url in blocked if pattern.match(url)] == blocked
    assert [url for url in allowed if pattern.match(url)] == []
    assert block_pattern([]) is None


def test_own_assets_are_the_same_site():
    assert same_site("gharart.example", "gharart.example") and same_site("cdn.gharart.example", "www.gharart.example")
    assert not same_site("connect.facebook.net", "gharart.example") and not same_site("", "gharart.example")
    assert same_site("127.0.0.1", "127.0.0.1")


def test_every_visit_says_it_is_a_preflight():
    shopper = SimpleNamespace(version="156.0.8078.129")
    phone, desktop = BrowserSettings().viewports
    assert user_agent(shopper, phone, "campaign-preflight").endswith("Mobile Safari/537.36 campaign-preflight/0.1.0")
    assert "Chrome/156.0.0.0" in user_agent(shopper, desktop, "campaign-preflight")
    own = Viewport(name="tablet", width=800, height=1200, user_agent="Tablet UA")
    assert user_agent(shopper, own, "pf") == "Tablet UA pf/0.1.0"


# -- no token in a browser artifact ---------------------------------------------------------------------


def test_a_token_is_found_in_any_artifact_even_zipped():
    def zipped(text: str) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("trace.network", text)
        return buffer.getvalue()

    assert holds_token(zipped(f'{{"authorization": "Bearer {JWT}"}}')) and holds_token(f"<p>{JWT}</p>")
    assert not holds_token(zipped('{"url": "https://gharart.example/?ctx=c1.WyJnaGFyYXJ0Il0.sig"}'))
    assert not holds_token(PNG_1PX)


# -- the failure's party ----------------------------------------------------------------------------------


def test_a_landing_page_finding_is_the_customer_sites_and_never_escalated():
    assert party(Category.LANDING_PAGE) == CUSTOMER_SITE
    failure = PreflightFailure(Category.LANDING_PAGE, "the landing page answers 404")
    assert failure.escalate is False and failure.party == CUSTOMER_SITE
    site = PreflightFailure(Category.ATTRIBUTION, "ctx lost by the site", party=CUSTOMER_SITE, escalate=False)
    assert site.party == CUSTOMER_SITE and PreflightFailure(Category.ATTRIBUTION, "x").party == "platform"


def test_the_journey_is_step_7_and_readiness_step_8():
    assert (STEPS["landing"].number, STEPS["landing"].title) == (7, "Shopper's journey")
    assert STEPS["readiness"].number == STEPS["pat_readiness"].number == 8
    assert STEPS["landing"].order < STEPS["readiness"].order and STEPS["conversion"].order < STEPS["landing"].order
    assert Category.LANDING_PAGE in STEPS["landing"].next_steps


# -- the side-by-side page and the gate -------------------------------------------------------------------


def saved(folder: Path, campaign: str, variant: str | None, viewport: str, **facts) -> None:
    size = {"phone": (390, 844, True), "desktop": (1366, 768, False)}[viewport]
    landing.save(
        folder,
        campaign=campaign,
        variant=variant,
        page="landing page" if variant else "detail page",
        viewport={"name": viewport, "width": size[0], "height": size[1], "mobile": size[2]},
        png=PNG_1PX,
        facts={"finalStatus": 200, "blocked": {"connect.facebook.net": 1}, **facts},
        failed=False,
    )


def test_the_overview_shows_variants_side_by_side_and_runs_nothing(tmp_path):
    folder = tmp_path / "landing"
    evil = '<script>alert(1)</script><img src=x onerror="fetch(1)">'
    saved(
        folder, "spring-ab", "spring-a", "desktop", title=evil, finalUrl="https://x.example/p?ctx=c1.a.b&utm_source=m"
    )
    saved(folder, "spring-ab", "spring-a", "phone", title="Control")
    saved(folder, "spring-ab", "spring-b", "phone", title="Challenger")
    saved(folder, "spring-ab", None, "phone", title="spring-offer")
    page = folder.joinpath(landing.write_overview(folder).name).read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'; img-src data:" in page
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('src="data:image/png;base64,') == 4
    assert page.index(">phone<") < page.index(">desktop<")  # the phone first
    assert "x.example/p · kept: ctx, utm_source" in page and "connect.facebook.net: 4 request(s)" in page
    assert "Published detail page" in page


def test_a_file_that_is_not_a_png_never_goes_into_the_page(tmp_path):
    folder = tmp_path / "landing"
    saved(folder, "spring-ab", "spring-a", "phone")
    (folder / "spring-ab" / "spring-a.phone.png").write_bytes(b"<svg onload=alert(1)>")
    assert "data:image" not in landing.overview_page(landing.entries(folder))


def test_the_gate_says_whether_the_browser_checks_ran(tmp_path):
    folder = tmp_path / "landing"
    saved(folder, "spring-ab", "spring-a", "phone")
    ran = [{"step": "landing", "outcome": "passed"}, {"step": "health", "outcome": "passed"}]
    facts = landing.browser_facts(ran, folder, use="auto")
    assert facts["status"] == "ran" and facts["tests"] == {"ran": 1, "skipped": 0, "failed": 0}
    assert facts["screenshots"] == 1 and facts["blocked"] == {"connect.facebook.net": 1}
    assert landing.browser_facts([{"step": "health", "outcome": "passed"}], folder, use="auto") is None
    assert landing.browser_facts(ran, folder, use="off")["status"] == "off"
    skipped = [
        {"step": "landing", "outcome": "skipped", "message": "no browser can run here: chromium is missing"},
        {"step": "health", "outcome": "passed", "nodeid": "h"},
    ]
    browser = landing.browser_facts(skipped, tmp_path / "none", use="auto")
    assert browser["status"] == "skipped" and browser["reason"] == "no browser can run here: chromium is missing"
    # a browser check that could not run is unjudged: HOLD, never a PASS
    verdict, reason = judge(skipped, RunFacts(browser=browser))
    assert verdict == "HOLD" and "no browser can run here: chromium is missing" in reason, reason
    summary = render_summary(run_id="r", target="t", results=skipped, report_path=None, facts=RunFacts(browser=browser))
    assert "- ⏭ skipped: 0 browser test(s) ran, 1 skipped" in summary
    assert "- **why skipped:** no browser can run here: chromium is missing" in summary
    assert json.loads(json.dumps(browser)) == browser
