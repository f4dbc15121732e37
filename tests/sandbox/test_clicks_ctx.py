"""Clicks (edge redirect) and ctx tokens: minting, resolving, every invalid_ctx reason."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sandbox_helpers import ctx_of, error_of


def test_click_redirects_with_ctx_and_utm(api, sb):
    api.campaign()
    response = api.click("spring-a")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "gharart.example", "/spring-a")
    query = parse_qs(location.query)
    assert query["v"] == ["1"]
    assert (query["utm_source"], query["utm_medium"], query["utm_campaign"]) == (["meta"], ["paid_social"], ["spring"])
    assert query["ctx"][0].startswith("c1.")
    assert sb.stats()["clicks"] == 1


@pytest.mark.parametrize("status", ["DRAFT", "PAUSED"])
def test_non_active_campaign_redirects_without_ctx(api, sb, status):
    api.campaign(status=status)
    response = api.click("spring-a")
    assert response.status_code == 302
    assert ctx_of(response) is None
    assert "utm_source=meta" in response.headers["location"]
    assert sb.stats()["clicks"] == 0


def test_pausing_stops_tracking(api):
    api.campaign()
    assert ctx_of(api.click("spring-a"))
    api.call("PATCH", "/v2/handles/{h}/campaigns/spring-ab", json={"status": "PAUSED"})
    assert ctx_of(api.click("spring-a")) is None


def test_disabled_or_missing_link_is_404(api):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab", enabled=False)
    error_of(api.click("spring-b"), 404, "not_found")
    error_of(api.click("never-made"), 404, "not_found")
    error_of(api.click("spring-a", handle="other-handle"), 404, "not_found")


def test_unbound_link_redirects_without_ctx(api):
    api.link("loose-link")
    response = api.click("loose-link")
    assert response.status_code == 302 and ctx_of(response) is None


def test_context_resolves_a_ctx(api):
    api.campaign()
    response = api.click("spring-a")
    ctx = ctx_of(response)
    resolved = api.get("/v2/public/context", token=None, params={"ctx": ctx})
    assert resolved.status_code == 200
    body = resolved.json()
    assert set(body) == {"handle", "slug", "campaignId", "clickId", "clickedAt", "expiresAt"}
    assert (body["handle"], body["slug"], body["campaignId"]) == ("gharart", "spring-a", "spring-ab")
    assert body["clickId"] == response.headers["x-click-id"]
    assert body["clickedAt"] < body["expiresAt"]


def test_context_needs_the_ctx_parameter(api):
    response = api.get("/v2/public/context", token=None)
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "ctx"


@pytest.mark.parametrize("token", ["garbage", "c1.!!!.sig", "c1.e30.sig", "x1.abc.def", ""])
def test_malformed_ctx(api, token):
    error_of(api.get("/v2/public/context", token=None, params={"ctx": token}), 400, "invalid_ctx", reason="malformed")


def test_tampered_ctx_is_bad_signature(api):
    api.campaign()
    ctx = api.ctx("spring-a")
    prefix, payload, sig = ctx.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    error_of(
        api.get("/v2/public/context", token=None, params={"ctx": f"{prefix}.{payload}.{flipped}"}),
        400,
        "invalid_ctx",
        reason="bad_signature",
    )


def test_ctx_goes_stale_with_the_clock(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    sb.advance_clock(1799)
    assert api.get("/v2/public/context", token=None, params={"ctx": ctx}).status_code == 200
    sb.advance_clock(2)
    error_of(api.get("/v2/public/context", token=None, params={"ctx": ctx}), 400, "invalid_ctx", reason="expired")


def test_sandbox_minted_stale_ctx(api, sb):
    api.campaign()
    stale = sb.mint_ctx("gharart", "spring-a", age_seconds=3600)
    error_of(api.get("/v2/public/context", token=None, params={"ctx": stale}), 400, "invalid_ctx", reason="expired")
    fresh = sb.mint_ctx("gharart", "spring-a", age_seconds=0)
    assert api.get("/v2/public/context", token=None, params={"ctx": fresh}).status_code == 200


def test_wrong_handle_and_wrong_campaign(api, sb):
    api.campaign()
    api.campaign("other-one", "other-a")
    ctx_other = api.ctx("other-a")
    error_of(api.test_conversion("spring-ab", ctx=ctx_other), 400, "invalid_ctx", reason="wrong_campaign")
    error_of(api.lead(ctx_other), 400, "invalid_ctx", reason="wrong_campaign")
    second = sb.mint_jwt("second-brand", ttl_seconds=86400)
    api.post("/v2/handles/second-brand/campaigns", token=second, json=api.campaign_body("spring-ab", "brand-b"))
    foreign = ctx_of(api.click("brand-b", handle="second-brand"))
    error_of(api.test_conversion("spring-ab", ctx=foreign), 400, "invalid_ctx", reason="wrong_handle")
    error_of(api.lead(foreign), 400, "invalid_ctx", reason="wrong_handle")


def test_sandbox_ctx_route_errors(api, sb):
    api.link("loose-link")
    response = sb.admin.post("/__sandbox/ctx", json={"handle": "gharart", "slug": "nope", "ageSeconds": 0})
    error_of(response, 404, "not_found")
    response = sb.admin.post("/__sandbox/ctx", json={"handle": "gharart", "slug": "loose-link"})
    error_of(response, 400, "validation_error")
    response = sb.admin.post("/__sandbox/ctx", json={"handle": "gharart", "slug": "x", "ageSeconds": -1})
    error_of(response, 400, "validation_error")


def test_click_fails_as_a_redirect_without_a_location(api, sb):
    """click_fails with a 3xx status: a redirect the visitor cannot follow (no Location), no click recorded."""
    api.campaign()
    sb.set_faults({"click_fails": {"slug": "spring-a", "status": 302}})
    response = api.click("spring-a")
    assert response.status_code == 302 and "location" not in response.headers, response.headers
    assert response.json()["error"] == "internal_error" and sb.stats()["clicks"] == 0
    sb.set_faults({})
    assert api.click("spring-a").headers["location"]  # the same link, the fault off
