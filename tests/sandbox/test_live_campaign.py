"""The contract's "Before spend: the live campaign, read without writing": link fields and their
click effects, routing (link rules, personalization rules, route-preview), destination trust, the
PAT link reads, analytics with testConversions and freshness, bot clicks, and the seed of live
campaigns a sandbox target's audit reads."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sandbox_helpers import TAGS, error_of

from preflight.sandbox.process import SandboxProcess

BROWSER = "Mozilla/5.0 (Windows NT 10.0)"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile"


def put_link(api, slug: str = "spring-a", **fields) -> dict:
    body = {"destinationUrl": f"https://gharart.example/{slug}?v=1", "tracking": TAGS, "campaignId": "spring-ab"}
    response = api.put(f"/v2/handles/{{h}}/links/{slug}", json={**body, **fields})
    assert response.status_code in (200, 201), response.text
    return response.json()


def click(api, slug: str = "spring-a", ua: str = BROWSER, country: str | None = None):
    headers = {"user-agent": ua}
    if country:
        headers["cloudfront-viewer-country"] = country
    return api.http.get(f"/_edge/redirect/{api.handle}/{slug}", headers=headers)


def funnel(api, campaign: str = "spring-ab", token: str | None = None, **params) -> dict:
    path = "/v2/public/handles/{h}/analytics" if token else "/v2/handles/{h}/analytics"
    extra = {"token": token} if token else {}
    response = api.get(path, params={"campaignId": campaign, "funnel": "true", **params}, **extra)
    assert response.status_code == 200, response.text
    return response.json()


# -- links: the fields the contract adds, read back ---------------------------------------------


def test_a_link_reads_back_with_every_field_and_never_its_password(api):
    api.campaign()
    link = put_link(
        api,
        trackingPolicy={"mode": "BRIDGE", "appendContextParam": False},
        redirectType=307,
        scheduledStartAt="2026-01-01T00:00:00Z",
        scheduledEndAt="2099-01-01T00:00:00+05:30",
        expiresAt="2099-06-01T00:00:00Z",
        maxClicks=1000,
        password="hunter2",
        routingRules=[
            {"ruleId": "us", "priority": 10, "when": {"country": ["US"]}, "destinationUrl": "https://x.example/"}
        ],
    )
    assert link["trackingPolicy"] == {"mode": "BRIDGE", "appendContextParam": False}
    assert (link["redirectType"], link["maxClicks"], link["clickCount"], link["passwordProtected"]) == (
        307,
        1000,
        0,
        True,
    )
    assert link["scheduledEndAt"] == "2098-12-31T18:30:00.000Z" and link["expiresAt"] == "2099-06-01T00:00:00.000Z"
    assert link["routingRules"] == [
        {"ruleId": "us", "priority": 10, "when": {"country": ["US"]}, "destinationUrl": "https://x.example/"}
    ]
    got = api.get("/v2/handles/{h}/links/spring-a").json()
    assert "hunter2" not in str(got) and "password" not in got
    plain = put_link(api)  # a PUT replaces: the defaults come back
    assert plain["trackingPolicy"] == {"mode": "DIRECT", "appendContextParam": True} and plain["redirectType"] == 302
    assert plain["passwordProtected"] is False and plain["routingRules"] == [] and plain["expiresAt"] is None


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"expiresAt": "tomorrow"}, "expiresAt"),
        ({"scheduledStartAt": "2026-01-01"}, "scheduledStartAt"),
        ({"redirectType": 301}, "redirectType"),
        ({"maxClicks": 0}, "maxClicks"),
        (
            {"routingRules": [{"ruleId": "a", "priority": 1, "destinationUrl": "ftp://x"}]},
            "routingRules.0.destinationUrl",
        ),
    ],
)
def test_bad_link_fields_are_refused(api, fields, field):
    api.campaign()
    body = {"destinationUrl": "https://gharart.example/a", "campaignId": "spring-ab", **fields}
    response = api.put("/v2/handles/{h}/links/spring-a", json=body)
    assert response.status_code == 400, response.text
    assert any(f["field"].startswith(field) for f in response.json()["fields"]), response.json()


def test_links_filter_by_campaign_and_the_pat_twins_need_links_read(api, sb):
    api.campaign()
    api.campaign("other-ab", "other-a")
    put_link(api, "spring-b")
    listed = api.get("/v2/handles/{h}/links", params={"campaignId": "spring-ab"}).json()["items"]
    assert sorted(link["slug"] for link in listed) == ["spring-a", "spring-b"]
    reader = sb.mint_pat(api.handle, ["links.read"])
    twin = api.get("/v2/public/handles/{h}/links", params={"campaignId": "spring-ab"}, token=reader).json()["items"]
    assert twin == listed
    assert api.get("/v2/public/handles/{h}/links/spring-b", token=reader).json()["slug"] == "spring-b"
    error_of(api.get("/v2/public/handles/{h}/links/spring-b", token=api.pat), 403, "insufficient_scope")
    error_of(api.get("/v2/public/handles/{h}/links/spring-b"), 401, "invalid_token")  # a JWT on a PAT route


def test_the_one_campaign_get(api):
    api.campaign()
    put_link(api, "spring-b")
    body = api.get("/v2/handles/{h}/campaigns/spring-ab").json()
    assert (body["status"], body["links"]) == ("ACTIVE", ["spring-a", "spring-b"])
    error_of(api.get("/v2/handles/{h}/campaigns/nope-ab"), 404, "not_found")


# -- clicks: what each field does to a click --------------------------------------------------------


def test_a_307_link_redirects_307_and_a_bridge_link_answers_its_page(api):
    api.campaign()
    put_link(api, redirectType=307)
    answer = click(api)
    assert answer.status_code == 307 and "ctx=" in answer.headers["location"]
    put_link(api, trackingPolicy={"mode": "BRIDGE"})
    page = click(api)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    refresh = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', page.text).group(1)
    anchor = re.search(r'<a id="continue" href="([^"]+)"', page.text).group(1)
    assert refresh == anchor
    query = parse_qs(urlsplit(html.unescape(anchor)).query)
    assert query["utm_medium"] == ["paid_social"] and query["ctx"][0].startswith("c1.")


def test_no_context_param_means_tags_but_no_ctx(api):
    api.campaign()
    put_link(api, trackingPolicy={"mode": "DIRECT", "appendContextParam": False})
    query = parse_qs(urlsplit(click(api).headers["location"]).query)
    assert "ctx" not in query and query["utm_source"] == ["meta"]
    assert api.health()["checks"][2]["status"] == "PASS"  # the click was still tracked


def test_lifetime_fields_answer_404_410_and_the_password_page(api, sb):
    api.campaign()
    put_link(api, scheduledStartAt="2099-01-01T00:00:00Z")
    error_of(click(api), 404, "not_found")
    put_link(api, expiresAt="2020-01-01T00:00:00Z")
    error_of(click(api), 410, "link_expired")
    put_link(api, scheduledEndAt="2020-01-01T00:00:00Z")
    error_of(click(api), 410, "link_expired")
    put_link(api, maxClicks=2)
    clicks_before = api.get("/v2/handles/{h}/links/spring-a").json()["clickCount"]
    assert clicks_before == 0  # refused clicks (404, 410) count for nothing; the count survives a PUT
    assert [click(api).status_code for _ in range(3)] == [302, 302, 410]
    assert click(api).json()["error"] == "link_exhausted"
    assert api.get("/v2/handles/{h}/links/spring-a").json()["clickCount"] == 2
    put_link(api, passwordProtected=True)
    page = click(api)
    assert page.status_code == 200 and 'id="password"' in page.text and "gharart.example" not in page.text


def test_bot_clicks_are_counted_apart(api):
    api.campaign()
    for ua in (BROWSER, PHONE, "campaign-preflight", "Googlebot/2.1", "SomeCrawler"):
        assert click(api, ua=ua).status_code == 302
    counts = funnel(api)["funnel"]
    assert (counts["clicks"], counts["qualifiedClicks"], counts["botClicks"]) == (5, 2, 3)


# -- routing ----------------------------------------------------------------------------------------


def test_routing_follows_the_documented_order_and_route_preview_agrees(api):
    api.campaign()
    rules = [
        {
            "ruleId": "in-phone",
            "priority": 20,
            "when": {"country": ["IN"], "device": ["MOBILE"]},
            "destinationUrl": "https://gharart.example/in-m",
        },
        {"ruleId": "in", "priority": 10, "when": {"country": ["in"]}, "destinationUrl": "https://gharart.example/in"},
    ]
    put_link(api, routingRules=rules)
    api.put(
        "/v2/handles/{h}/personalization-rules/us-all",
        json={
            "priority": 1,
            "slugs": None,
            "when": {"country": ["US"]},
            "destinationUrl": "https://gharart.example/us",
        },
    )
    api.put(
        "/v2/handles/{h}/personalization-rules/other",
        json={"priority": 0, "slugs": ["other-a"], "when": {}, "destinationUrl": "https://gharart.example/never"},
    )
    api.put(
        "/v2/handles/{h}/personalization-rules/off",
        json={"priority": 0, "enabled": False, "when": {}, "destinationUrl": "https://gharart.example/off"},
    )
    cases = [
        ("IN", PHONE, "MOBILE", "https://gharart.example/in", ("link_rule", "in")),  # priority 10 before 20
        ("US", BROWSER, "DESKTOP", "https://gharart.example/us", ("personalization_rule", "us-all")),
        ("DE", BROWSER, "DESKTOP", "https://gharart.example/spring-a?v=1", ("default", None)),
    ]
    for country, ua, device, where, matched in cases:
        location = click(api, ua=ua, country=country).headers["location"]
        assert location.split("?")[0] == where.split("?")[0], (country, location)
        preview = api.post("/v2/handles/{h}/links/spring-a/route-preview", json={"country": country, "device": device})
        assert preview.status_code == 200, preview.text
        assert preview.json() == {"destinationUrl": where, "matched": {"kind": matched[0], "ruleId": matched[1]}}
    assert api.get("/v2/handles/{h}/usage-meters").json()["writesToday"] >= 3 + 3  # route-preview is a write


def test_a_source_condition_matches_the_links_own_utm_source(api):
    api.campaign()
    put_link(
        api,
        routingRules=[
            {
                "ruleId": "g",
                "priority": 1,
                "when": {"source": ["META"]},
                "destinationUrl": "https://gharart.example/meta",
            }
        ],
    )
    assert click(api).headers["location"].startswith("https://gharart.example/meta?")


# -- destination trust ------------------------------------------------------------------------------


def test_an_unverified_destination_domain_refuses_the_click_and_mints_no_ctx(api, sb):
    api.campaign()
    assert (
        api.post("/v2/handles/{h}/destination-domains", json={"domain": "gharart.example"}).json()["status"]
        == "PENDING"
    )
    error_of(api.post("/v2/handles/{h}/destination-domains", json={"domain": "gharart.example"}), 409, "conflict")
    clicks = sb.stats()["clicks"]
    refused = click(api)
    assert refused.status_code == 403 and "destination_unverified" in refused.text
    assert sb.stats()["clicks"] == clicks
    verified = api.post("/v2/handles/{h}/destination-domains/gharart.example/verify")
    assert verified.json()["status"] == "VERIFIED"
    assert click(api).status_code == 302
    api.post("/v2/handles/{h}/destination-domains", json={"domain": "promo.gharart.example"})
    put_link(api, destinationUrl="https://promo.gharart.example/x")
    assert click(api).status_code == 403  # the host itself is listed and PENDING
    sb.admin.put(f"/__sandbox/destination-domains/{api.handle}/gharart.example", json={"status": "REJECTED"})
    put_link(api, destinationUrl="https://shop.gharart.example/x")
    assert click(api).status_code == 403  # a parent domain is listed and REJECTED
    put_link(api, destinationUrl="https://elsewhere.example/x")
    assert click(api).status_code == 302  # not listed: routes as before
    listed = api.get("/v2/handles/{h}/destination-domains").json()["items"]
    assert {(d["domain"], d["status"]) for d in listed} == {
        ("gharart.example", "REJECTED"),
        ("promo.gharart.example", "PENDING"),
    }


# -- analytics --------------------------------------------------------------------------------------


def test_test_conversions_never_count_as_conversions_or_revenue(api):
    api.campaign()
    put_link(api, "spring-b")
    ctx = api.ctx("spring-a")
    assert api.test_conversion(ctx=ctx, value=10).status_code == 201
    assert api.convert(ctx, key="k-test", value=99, test=True).status_code == 201
    real = api.ctx("spring-b")
    assert api.convert(real, key="k-real", value=250).status_code == 201
    by_slug = {item["key"]: item for item in funnel(api, groupBy="slug")["items"]}
    assert (
        by_slug["spring-a"]["conversions"],
        by_slug["spring-a"]["revenue"],
        by_slug["spring-a"]["testConversions"],
    ) == (0, 0, 2)
    assert (
        by_slug["spring-b"]["conversions"],
        by_slug["spring-b"]["revenue"],
        by_slug["spring-b"]["testConversions"],
    ) == (1, 250, 0)
    whole = funnel(api, token=api.sb.mint_pat(api.handle, ["analytics.read"]))
    assert whole["funnel"]["conversions"] == 1 and whole["funnel"]["testConversions"] == 2
    assert whole["freshness"]["status"] == "FRESH" and whole["freshness"]["slaMinutes"] == 60
    by_device = funnel(api, groupBy="device")["items"]
    assert sum(item["clicks"] for item in by_device) == 2
    error_of(api.get("/v2/handles/{h}/analytics", params={"campaignId": "nope-ab"}), 404, "not_found")
    error_of(
        api.get("/v2/handles/{h}/analytics", params={"campaignId": "spring-ab", "groupBy": "week"}),
        400,
        "validation_error",
    )


def test_the_residue_fault_counts_test_conversions_as_real(api, sb):
    api.campaign()
    api.test_conversion(ctx=api.ctx("spring-a"), value=10)
    sb.set_faults({"test_conversions_counted": {}})
    counts = funnel(api)["funnel"]
    assert (counts["conversions"], counts["revenue"], counts["testConversions"]) == (1, 10, 1)


def test_the_bot_fault_counts_bot_clicks_as_qualified(api, sb):
    api.campaign()
    click(api, ua="campaign-preflight")
    sb.set_faults({"bots_counted_qualified": {}})
    counts = funnel(api)["funnel"]
    assert (counts["qualifiedClicks"], counts["botClicks"]) == (1, 0)


def test_analytics_lag_holds_the_numbers_back_and_says_stale(tmp_path):
    with SandboxProcess(db=tmp_path / "lag.db", analytics_lag_seconds=600) as lagging:
        jwt = lagging.mint_jwt("gharart")
        headers = {"authorization": f"Bearer {jwt}"}
        lagging.seed_live(
            "gharart",
            [
                {
                    "campaignId": "spring-ab",
                    "goalType": "LEAD_CAPTURE",
                    "links": [{"slug": "spring-a", "destinationUrl": "https://gharart.example/a"}],
                    "traffic": False,
                }
            ],
        )
        lagging.admin.get("/_edge/redirect/gharart/spring-a")
        answer = lagging.admin.get(
            "/v2/handles/gharart/analytics", params={"campaignId": "spring-ab"}, headers=headers
        ).json()
        assert answer["freshness"]["status"] == "STALE" and answer["funnel"]["clicks"] == 0
        lagging.advance_clock(601)
        later = lagging.admin.get(
            "/v2/handles/gharart/analytics", params={"campaignId": "spring-ab"}, headers=headers
        ).json()
        assert later["funnel"]["clicks"] == 1 and lagging.info()["analyticsLagSeconds"] == 600


# -- the documented click variants, switched on for every link (a sandbox target's option) ----------


@pytest.mark.parametrize("markup", ["both", "meta", "anchor"])
def test_the_bridge_fault_answers_every_click_with_its_page(api, sb, markup):
    api.campaign()
    sb.set_faults({"bridge_clicks": {"markup": markup}})
    page = click(api)
    assert page.status_code == 200
    assert ('http-equiv="refresh"' in page.text) == (markup != "anchor")
    assert ('id="continue"' in page.text) == (markup != "meta")
    sb.set_faults({"redirect_307": {}})
    assert click(api).status_code == 307


def test_a_split_bridge_page_sends_its_refresh_and_its_continue_link_two_ways(api, sb):
    api.campaign()
    sb.set_faults({"bridge_clicks": {"markup": "split"}})
    page = click(api)
    refresh = re.search(r'content="0;url=([^"]+)"', page.text).group(1)
    anchor = re.search(r'id="continue" href="([^"]+)"', page.text).group(1)
    assert page.status_code == 200 and "?" in refresh and anchor == refresh.split("?")[0], page.text


# -- the seed of live campaigns (a control route: nothing goes through the API) -----------------------


def test_the_seed_sets_up_healthy_live_campaigns_and_keeps_existing_ones(api, sb):
    api.campaign(status="DRAFT")
    before = len(sb.requests(10000))
    seeded = sb.seed_live(
        api.handle,
        [
            {
                "campaignId": "spring-ab",
                "goalType": "LEAD_CAPTURE",
                "links": [{"slug": "spring-a", "destinationUrl": "https://gharart.example/a"}],
            },
            {
                "campaignId": "diwali-sale",
                "goalType": "PRODUCT_SALE",
                "links": [
                    {"slug": "diwali-a", "destinationUrl": "https://gharart.example/d?v=a", "tracking": TAGS},
                    {"slug": "diwali-b", "destinationUrl": "https://gharart.example/d?v=b", "tracking": TAGS},
                ],
                "detailPage": {"detailsPageSlug": "diwali-offer"},
            },
        ],
    )
    assert seeded == {"created": ["diwali-sale"], "kept": ["spring-ab"]}
    logged = [(r["method"], r["path"]) for r in sb.requests(10000)[before + 1 :]]  # after the log read itself
    assert logged == [("POST", "/__sandbox/live-campaigns")]
    assert api.get("/v2/handles/{h}/campaigns/spring-ab").json()["status"] == "DRAFT"
    health = api.health("diwali-sale")
    assert (health["status"], health["score"]) == ("PASS", 100), health
    items = {i["key"]: i for i in funnel(api, "diwali-sale", groupBy="slug")["items"]}
    assert items["diwali-a"]["qualifiedClicks"] > 0 and items["diwali-b"]["conversions"] > 0
    assert items["diwali-a"]["testConversions"] == 0
