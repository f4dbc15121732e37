"""The customer's landing pages (GET /_site/…) and the published detail page (GET /_edge/pages/…):
what a browser meets at the end of a click, served by the sandbox, faults and all."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sandbox_helpers import ctx_of

from preflight.core.hops import read_bridge
from preflight.sandbox.site import pages

DRAFT = "/v2/public/handles/{h}/site-structure/campaigns/spring-ab"


def landing_campaign(api, sb, *, goal="LEAD_CAPTURE", slug="spring-a"):
    """A campaign whose link lands on the sandbox's copy of https://gharart.example/spring?v=a."""
    body = api.campaign_body(goal=goal, slug=slug)
    body["primaryLink"]["destinationUrl"] = f"{sb.url}/_site/gharart.example/spring?v=a"
    body["primaryLink"]["title"] = "Control <b>bold</b>"
    created = api.post("/v2/handles/{h}/campaigns", json=body)
    assert created.status_code == 201, created.text


def landed(api, slug="spring-a") -> tuple[str, httpx.Response]:
    click = api.click(slug)
    assert click.status_code == 302, click.text
    return click.headers["location"], api.http.get(click.headers["location"])


def test_a_landing_page_keeps_its_query_and_shows_its_variant_and_lead_form(api, sb):
    landing_campaign(api, sb)
    location, page = landed(api)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "ctx=" in location and "utm_source=meta" in location
    text = page.text
    assert '<h1 id="variant-title">Control &lt;b&gt;bold&lt;/b&gt;</h1>' in text  # the title, escaped
    assert '<form id="lead" data-campaign="spring-ab"' in text and 'type="email"' in text
    # the customer's ad and analytics tags, for the browser to block
    assert "connect.facebook.net" in text and "www.googletagmanager.com" in text and "analytics.tiktok.com" in text
    for asset in ("site.css", "site.js", "hero.svg"):
        assert api.http.get(f"/_site/_assets/{asset}").status_code == 200


def test_without_a_ctx_the_page_is_found_by_its_destination(api, sb):
    landing_campaign(api, sb)
    page = api.http.get("/_site/gharart.example/spring?v=a")
    assert page.status_code == 200 and "Control" in page.text and 'id="lead"' in page.text
    unknown = api.http.get("/_site/gharart.example/elsewhere")
    assert (
        unknown.status_code == 200 and "Welcome to gharart.example" in unknown.text and 'id="lead"' not in unknown.text
    )


def test_a_product_sale_page_has_no_lead_form(api, sb):
    landing_campaign(api, sb, goal="PRODUCT_SALE")
    _, page = landed(api)
    assert page.status_code == 200 and 'id="lead"' not in page.text


def test_the_lead_form_posts_where_the_page_says_with_the_ctx_of_its_url(api, sb):
    landing_campaign(api, sb)
    location, page = landed(api)
    assert 'data-action="/v2/public/handles/gharart/leads"' in page.text
    ctx = ctx_of(httpx.Response(302, headers={"location": location}))
    # what the page's script sends: the campaign, the email and the ctx of its own URL
    sent = api.lead(ctx, email="shopper@example.com", formId="lead", source="landing-page", pageUrl=location)
    assert sent.status_code == 201 and sent.json()["slug"] == "spring-a"


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("landing_not_found", lambda r: r.status_code == 404 and "Page not found" in r.text),
        ("lead_form_missing", lambda r: r.status_code == 200 and 'id="lead"' not in r.text),
        ("landing_script_error", lambda r: r.status_code == 200 and "offer-widget.js" in r.text),
        ("landing_asset_missing", lambda r: r.status_code == 200 and "theme-2026.css" in r.text),
        ("landing_slow", lambda r: r.status_code == 200 and "hero.svg?late=2500" in r.text),
        # the same page saying it is gone, with 200 (a soft 404)
        (("landing_not_found", {"soft": True}), lambda r: r.status_code == 200 and "Page not found" in r.text),
        # still loads, keeps its form: another heading, last season's hero
        (
            "landing_changed",
            lambda r: (
                r.status_code == 200
                and '<h1 id="variant-title">Last season&#x27;s offer</h1>' in r.text
                and "hero-old.svg" in r.text
                and 'id="lead"' in r.text
            ),
        ),
        (
            ("landing_changed", {"heading": "Control", "hero": "none"}),
            lambda r: r.status_code == 200 and 'id="hero"' not in r.text and ">Control</h1>" in r.text,
        ),
        ("landing_strips_ctx", lambda r: r.status_code == 200 and 'url.searchParams.delete("ctx")' in r.text),
        # a script that drops a tag, the ctx kept
        (
            ("landing_strips_ctx", {"params": "utm_medium"}),
            lambda r: 'url.searchParams.delete("utm_medium")' in r.text and 'delete("ctx")' not in r.text,
        ),
        # the form stays, without its email field
        (
            ("lead_form_missing", {"emailOnly": True}),
            lambda r: r.status_code == 200 and 'id="lead"' in r.text and 'type="email"' not in r.text,
        ),
    ],
)
def test_each_landing_fault_breaks_the_page_its_way(api, sb, fault, check):
    landing_campaign(api, sb)
    name, options = fault if isinstance(fault, tuple) else (fault, {})
    sb.set_faults({name: options})
    _, page = landed(api)
    assert check(page), page.text[:500]


def test_a_healthy_page_shows_when_its_prices_were_checked_and_animates_a_badge(api, sb):
    """What changes on every visit (the config masks it) and what moves (frozen before the shot)."""
    landing_campaign(api, sb)
    _, page = landed(api)
    assert re.search(r'<p class="checked">Prices checked at <time>\d\d:\d\d:\d\d</time></p>', page.text)
    assert '<span class="badge">New</span>' in page.text and "animation:pulse" in pages.SITE_CSS
    assert "hero.svg" in page.text and "hero-old.svg" not in page.text and "searchParams.delete" not in page.text
    assert api.http.get("/_site/_assets/hero-old.svg").headers["content-type"].startswith("image/svg+xml")


def test_a_slow_bridge_page_waits_before_it_sends_the_visitor_on(api, sb):
    landing_campaign(api, sb)
    sb.set_faults({"bridge_slow": {"seconds": 8}})
    click = api.click("spring-a")
    assert click.status_code == 200, click.text
    bridge = read_bridge(click.text, str(click.url))
    assert bridge.wait_seconds == 8 and bridge.target and "ctx=" in bridge.target, click.text
    assert bridge.anchor == bridge.refresh  # its continue link works at once


def test_a_fault_limited_to_a_slug_leaves_the_others_alone(api, sb):
    landing_campaign(api, sb)
    sb.set_faults({"landing_not_found": {"slug": "other-slug"}})
    assert landed(api)[1].status_code == 200


def test_a_site_redirect_that_drops_the_query_string(api, sb):
    landing_campaign(api, sb)
    sb.set_faults({"site_redirect_drops_query": {}})
    location, page = landed(api)
    assert page.status_code == 301 and page.headers["location"] == "/_site/gharart.example/spring/"
    followed = api.http.get(page.headers["location"])
    assert followed.status_code == 200 and "ctx" not in str(followed.url)


def test_a_site_redirect_that_keeps_only_the_ctx(api, sb):
    landing_campaign(api, sb)
    sb.set_faults({"site_redirect_drops_query": {"keep": "ctx"}})
    location, page = landed(api)
    ctx = dict(parse_qsl(urlsplit(location).query))["ctx"]
    sent_on = urlsplit(page.headers["location"])
    assert page.status_code == 301 and sent_on.path == "/_site/gharart.example/spring/", page.headers
    assert parse_qsl(sent_on.query) == [("ctx", ctx)], page.headers  # the utm tags are gone


def test_the_asset_routes(api):
    assert api.http.get("/_site/_assets/theme-2026.css").status_code == 404
    assert "throw new Error" in api.http.get("/_site/_assets/offer-widget.js").text


def test_landing_pages_are_not_throttled_or_faulted_like_the_api(api, sb):
    landing_campaign(api, sb)
    sb.set_faults({"server_error_blips": {"rate": 1.0}})
    assert api.http.get("/_site/gharart.example/spring?v=a").status_code == 200
    assert api.http.get("/v2/system/health").status_code == 200


# -- the published detail page ---------------------------------------------------------------------


def published(api, sb, access="FREE_WITH_LOGIN") -> str:
    landing_campaign(api, sb, goal="PRODUCT_SALE")
    draft = {
        "detailsPageSlug": "spring-offer",
        "accessMode": access,
        "schemaVersion": 0,
        "schema": {"sections": [{"type": "hero", "heading": "Spring <offer>"}]},
    }
    assert api.put(DRAFT, token=api.pat, json=draft).status_code == 200
    answer = api.post(DRAFT + "/publish", token=api.pat, json={})
    assert answer.status_code == 201, answer.text
    return answer.json()["url"]


def test_a_free_with_login_page_shows_its_gate_and_its_content_after_the_test_login(api, sb):
    url = published(api, sb)
    assert url == f"{sb.url}/_edge/pages/gharart/spring-offer"
    with httpx.Client() as visitor:
        anonymous = visitor.get(url)
        assert anonymous.status_code == 200
        assert 'id="login-gate"' in anonymous.text and 'id="page-content"' not in anonymous.text
        signed_in = visitor.post(url + "/login", data={"email": "member@example.com"}, follow_redirects=True)
        assert 'id="login-gate"' not in signed_in.text and 'id="page-content"' in signed_in.text
        assert "Spring &lt;offer&gt;" in signed_in.text
        forged = httpx.get(url, cookies={"pf_page_session": "s1.Z2hhcmFydDp4QHkuY28.forged"})
        assert 'id="login-gate"' in forged.text


def test_a_public_page_shows_its_content_to_anyone(api, sb):
    url = published(api, sb, access="PUBLIC")
    assert 'id="page-content"' in httpx.get(url).text


def test_the_ungated_fault_shows_a_free_with_login_page_to_anyone(api, sb):
    url = published(api, sb)
    sb.set_faults({"detail_page_ungated": {}})
    page = httpx.get(url).text
    assert 'id="page-content"' in page and 'id="login-gate"' not in page


def test_the_content_under_gate_fault_shows_the_gate_and_the_content(api, sb):
    url = published(api, sb)
    sb.set_faults({"detail_page_content_under_gate": {}})
    page = httpx.get(url).text
    assert 'id="login-gate"' in page and 'id="page-content"' in page
    sb.set_faults({})
    assert 'id="page-content"' not in httpx.get(url).text


def test_an_unknown_detail_page_is_404(api):
    assert api.http.get("/_edge/pages/gharart/never-published").status_code == 404


def test_the_pages_module_escapes_what_it_shows():
    page = pages.not_found_page('"><script>x()</script>')
    assert "<script>x()" not in page and "&lt;script&gt;" in page
