"""Test conversions and public conversions (dedupe per click and event type)."""

from __future__ import annotations

import pytest
from sandbox_helpers import error_of


def test_test_conversion_with_ctx_is_attributed_to_the_variant(api, sb):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab")
    ctx = api.ctx("spring-b")
    response = api.test_conversion(ctx=ctx, value=499.5, currency="INR")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"testConversionId", "campaignId", "slug", "value", "currency", "test", "recordedAt"}
    assert (body["campaignId"], body["slug"], body["value"], body["currency"], body["test"]) == (
        "spring-ab",
        "spring-b",
        499.5,
        "INR",
        True,
    )
    assert sb.stats()["testConversions"] == 1 and sb.stats()["conversions"] == 0


def test_test_conversion_without_ctx_goes_to_the_primary(api):
    api.campaign()
    body = api.test_conversion().json()
    assert body["slug"] == "spring-a" and body["value"] == 0
    assert api.post("/v2/handles/{h}/campaigns/spring-ab/test-conversion").status_code == 201


def test_test_conversion_rejects_bad_ctx(api, sb):
    api.campaign()
    error_of(api.test_conversion(ctx="nonsense"), 400, "invalid_ctx", reason="malformed")
    stale = sb.mint_ctx("gharart", "spring-a", age_seconds=1801)
    error_of(api.test_conversion(ctx=stale), 400, "invalid_ctx", reason="expired")
    error_of(api.test_conversion("no-such-campaign"), 404, "not_found")
    response = api.test_conversion(value="ten", currency="rupees")
    error_of(response, 400, "validation_error")
    assert {f["field"] for f in response.json()["fields"]} == {"value", "currency"}


def test_public_conversion(api, sb):
    api.campaign(goal="PRODUCT_SALE")
    ctx = api.ctx("spring-a")
    response = api.convert(ctx, key="buy-1", value=1200, currency="INR")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"conversionId", "campaignId", "slug", "eventType", "value", "currency", "test", "deduped"}
    assert (body["campaignId"], body["slug"], body["eventType"], body["value"], body["test"], body["deduped"]) == (
        "spring-ab",
        "spring-a",
        "purchase",
        1200,
        False,
        False,
    )
    assert sb.stats()["conversions"] == 1


@pytest.mark.parametrize(
    "goal,event",
    [
        ("PRODUCT_SALE", "purchase"),
        ("LEAD_CAPTURE", "lead"),
        ("NEWSLETTER", "newsletter_signup"),
        ("AFFILIATE_CLICKOUT", "affiliate_click"),
        ("APP_INSTALL", "app_install"),
    ],
)
def test_default_event_per_goal(api, goal, event):
    api.campaign(goal=goal)
    assert api.convert(api.ctx("spring-a")).json()["eventType"] == event


def test_same_click_and_event_under_a_new_key_is_deduped(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    first = api.convert(ctx, key="key-1", test=True).json()
    second = api.convert(ctx, key="key-2", test=True)
    assert second.status_code == 200
    assert second.json()["conversionId"] == first["conversionId"]
    assert second.json()["deduped"] is True and second.json()["dedupeReason"] == "click_event"
    other_event = api.convert(ctx, key="key-3", eventType="signup")
    assert other_event.status_code == 201 and other_event.json()["conversionId"] != first["conversionId"]
    assert sb.stats()["conversions"] == 2


def test_fresh_ctx_per_conversion_gives_distinct_conversions(api, sb):
    api.campaign()
    ids = {api.convert(api.ctx("spring-a"), key=f"k{i}").json()["conversionId"] for i in range(3)}
    assert len(ids) == 3 and sb.stats()["conversions"] == 3


def test_public_conversion_bad_input(api, sb):
    api.campaign()
    error_of(api.convert("c1.bad.ctx"), 400, "invalid_ctx", reason="malformed")
    stale = sb.mint_ctx("gharart", "spring-a", age_seconds=7200)
    error_of(api.convert(stale, key="stale"), 400, "invalid_ctx", reason="expired")
    response = api.convert(None, key="no-ctx")
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "ctx"
    response = api.convert(api.ctx("spring-a"), key="bad-types", value=-1, eventType="Not Valid")
    error_of(response, 400, "validation_error")
    assert sb.stats()["conversions"] == 0
