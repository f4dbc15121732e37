"""Campaign health: the five checks, the score formula, the worst-check status, JWT == PAT."""

from __future__ import annotations

from sandbox_helpers import checks_of, error_of

LEAD_PAGE = {"sections": [{"type": "form", "fields": [{"name": "email", "type": "email", "required": True}]}]}


def _publish(api, campaign_id="spring-ab", access_mode="FREE_WITH_LOGIN"):
    path = f"/v2/handles/{{h}}/site-structure/campaigns/{campaign_id}"
    body = {
        "detailsPageSlug": "spring-page",
        "accessMode": access_mode,
        "schema": LEAD_PAGE,
        "schemaVersion": api.get(path).json()["schemaVersion"],
    }
    assert api.put(path, json=body).status_code == 200
    assert api.post(path + "/publish").status_code == 201


def test_fresh_campaign_health(api):
    api.campaign()
    health = api.health()
    assert set(health) == {"campaignId", "status", "score", "evaluatedAt", "checks"}
    assert [c["id"] for c in health["checks"]] == [
        "primary_link",
        "traffic_tags",
        "click_seen",
        "conversion_signal",
        "detail_page",
    ]
    assert checks_of(health) == {
        "primary_link": "PASS",
        "traffic_tags": "PASS",
        "click_seen": "PENDING",
        "conversion_signal": "WARN",
        "detail_page": "WARN",
    }
    assert health["score"] == 70 and health["status"] == "WARN"
    details = {c["id"]: c["detail"] for c in health["checks"]}
    assert details["primary_link"] == "spring-a enabled"
    assert details["conversion_signal"] == "no test conversion for spring-a"


def test_health_moves_to_pass_as_the_campaign_is_wired(api):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab")
    ctx_a, ctx_b = api.ctx("spring-a"), api.ctx("spring-b")
    health = api.health()
    assert checks_of(health)["click_seen"] == "PASS"
    assert [c["detail"] for c in health["checks"] if c["id"] == "click_seen"] == ["2 clicks"]
    assert api.test_conversion(ctx=ctx_a).status_code == 201
    signal = [c for c in api.health()["checks"] if c["id"] == "conversion_signal"][0]
    assert signal == {"id": "conversion_signal", "status": "WARN", "detail": "no test conversion for spring-b"}
    assert api.convert(ctx_b, key="real-b").status_code == 201  # a real conversion counts too
    _publish(api)
    health = api.health()
    assert set(checks_of(health).values()) == {"PASS"}
    assert health["score"] == 100 and health["status"] == "PASS"
    page = [c for c in health["checks"] if c["id"] == "detail_page"][0]
    assert page["detail"] == "published v1 FREE_WITH_LOGIN"


def test_missing_traffic_tags_fail_and_name_links_and_tags(api):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab", tracking={"utmSource": "meta"})
    health = api.health()
    tags = [c for c in health["checks"] if c["id"] == "traffic_tags"][0]
    assert tags["status"] == "FAIL"
    assert tags["detail"] == "spring-b missing utmMedium, utmCampaign"
    # 100 - 40 (FAIL) - 10 (PENDING) - 10 (WARN) - 10 (WARN)
    assert health["score"] == 30 and health["status"] == "FAIL"


def test_score_floors_at_zero(api):
    api.campaign(tracking=None)
    api.link("spring-a", tracking=None, enabled=False)
    health = api.health()
    assert checks_of(health) == {
        "primary_link": "FAIL",
        "traffic_tags": "FAIL",
        "click_seen": "PENDING",
        "conversion_signal": "WARN",
        "detail_page": "WARN",
    }
    assert health["score"] == 0 and health["status"] == "FAIL"


def test_retired_variant_no_longer_counts(api):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab", tracking={"utmSource": "x"})
    assert checks_of(api.health())["traffic_tags"] == "FAIL"
    api.link("spring-b", campaign_id="spring-ab", tracking={"utmSource": "x"}, enabled=False)
    health = api.health()
    assert checks_of(health)["traffic_tags"] == "PASS"
    assert [c["detail"] for c in health["checks"] if c["id"] == "conversion_signal"] == [
        "no test conversion for spring-a"
    ]


def test_clicks_on_retired_variants_do_not_count(api):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab")
    api.ctx("spring-b")
    assert checks_of(api.health())["click_seen"] == "PASS"
    api.link("spring-b", campaign_id="spring-ab", enabled=False)
    assert checks_of(api.health())["click_seen"] == "PENDING"


def test_jwt_and_pat_health_agree(api):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab", tracking={"utmSource": "x"})
    api.test_conversion(ctx=api.ctx("spring-a"))
    jwt_health, pat_health = api.health(), api.pat_health()
    jwt_health.pop("evaluatedAt"), pat_health.pop("evaluatedAt")
    assert jwt_health == pat_health


def test_unknown_campaign_is_404(api):
    error_of(api.get("/v2/handles/{h}/campaigns/nope-nope/health"), 404, "not_found")
    error_of(api.get("/v2/public/handles/{h}/campaigns/nope-nope/health", token=api.pat), 404, "not_found")
