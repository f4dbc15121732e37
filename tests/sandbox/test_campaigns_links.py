"""Campaigns and their links (variants)."""

from __future__ import annotations

import pytest
from sandbox_helpers import TAGS, error_of, field_names

CAMPAIGNS = "/v2/handles/{h}/campaigns"


def test_create_answers_the_campaign(api, sb):
    body = api.campaign_body()
    response = api.post(CAMPAIGNS, json=body)
    assert response.status_code == 201
    campaign = response.json()
    for key in ("campaignId", "goalType", "status", "name", "leadVerification"):
        assert campaign[key] == body[key]
    assert campaign["handle"] == "gharart"
    assert campaign["links"] == ["spring-a"]
    assert campaign["primarySlug"] == "spring-a"
    assert campaign["primaryLink"]["destinationUrl"] == body["primaryLink"]["destinationUrl"]
    assert campaign["primaryLink"]["tracking"] == TAGS
    assert campaign["createdAt"].endswith("Z") and "T" in campaign["createdAt"]
    assert sb.stats()["campaigns"] == 1 and sb.stats()["links"] == 1


def test_status_defaults_to_draft(api):
    body = api.campaign_body()
    del body["status"]
    assert api.post(CAMPAIGNS, json=body).json()["status"] == "DRAFT"


def test_taken_campaign_id_is_conflict(api):
    api.campaign()
    error_of(api.post(CAMPAIGNS, json=api.campaign_body(slug="spring-z")), 409, "conflict")


@pytest.mark.parametrize("campaign_id", ["ab", "Spring", "-spring", "x" * 65, "has space"])
def test_campaign_id_pattern(api, campaign_id):
    response = api.post(CAMPAIGNS, json=api.campaign_body(campaign_id))
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["campaignId"]


@pytest.mark.parametrize("goal", ["PRODUCT_SALE", "LEAD_CAPTURE", "NEWSLETTER", "AFFILIATE_CLICKOUT", "APP_INSTALL"])
def test_every_goal_type(api, goal):
    assert api.campaign(goal=goal)["goalType"] == goal


def test_bad_goal_and_status(api):
    response = api.post(CAMPAIGNS, json=api.campaign_body(goal="SALE", status="RUNNING"))
    error_of(response, 400, "validation_error")
    assert set(field_names(response)) == {"goalType", "status"}


def test_primary_link_checks(api):
    body = api.campaign_body(slug="no")
    error_of(api.post(CAMPAIGNS, json=body), 400, "invalid_slug")
    body = api.campaign_body()
    body["primaryLink"]["destinationUrl"] = "ftp://nowhere"
    error_of(api.post(CAMPAIGNS, json=body), 400, "invalid_destination_url")
    body = api.campaign_body()
    del body["primaryLink"]
    response = api.post(CAMPAIGNS, json=body)
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["primaryLink"]


def test_primary_slug_binds_an_existing_link(api):
    api.link("existing")
    body = api.campaign_body()
    del body["primaryLink"]
    body["primarySlug"] = "existing"
    campaign = api.post(CAMPAIGNS, json=body).json()
    assert campaign["links"] == ["existing"] and campaign["primarySlug"] == "existing"
    body["campaignId"] = "second-one"
    error_of(api.post(CAMPAIGNS, json=body), 409, "conflict")
    body["primarySlug"] = "missing-link"
    response = api.post(CAMPAIGNS, json=body)
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["primarySlug"]


def test_primary_link_slug_taken_is_conflict(api):
    api.link("spring-a")
    error_of(api.post(CAMPAIGNS, json=api.campaign_body()), 409, "conflict")


def test_list_filter_and_pages(api):
    api.campaign("alpha-one", "alpha-a", status="ACTIVE")
    api.campaign("beta-two", "beta-a", status="DRAFT")
    api.campaign("gamma-three", "gamma-a", status="PAUSED")
    listed = api.get(CAMPAIGNS).json()
    assert [c["campaignId"] for c in listed["items"]] == ["alpha-one", "beta-two", "gamma-three"]
    assert listed["nextCursor"] is None
    paused = api.get(CAMPAIGNS + "?status=PAUSED").json()["items"]
    assert [c["campaignId"] for c in paused] == ["gamma-three"]
    first = api.get(CAMPAIGNS + "?limit=2").json()
    assert len(first["items"]) == 2 and first["nextCursor"]
    second = api.get(CAMPAIGNS + f"?limit=2&cursor={first['nextCursor']}").json()
    assert [c["campaignId"] for c in second["items"]] == ["gamma-three"]
    assert second["nextCursor"] is None


def test_campaign_read_and_status_change(api):
    api.campaign(status="DRAFT")
    assert api.get(CAMPAIGNS + "/spring-ab").json()["status"] == "DRAFT"
    patched = api.call("PATCH", CAMPAIGNS + "/spring-ab", json={"status": "ACTIVE"})
    assert patched.status_code == 200 and patched.json()["status"] == "ACTIVE"
    error_of(api.get(CAMPAIGNS + "/nope-nope"), 404, "not_found")


def test_put_link_creates_then_replaces(api):
    body = {"destinationUrl": "https://gharart.example/b", "title": "B", "tags": ["ab"], "tracking": TAGS}
    created = api.put("/v2/handles/{h}/links/spring-b", json=body)
    assert created.status_code == 201
    link = created.json()
    assert (link["slug"], link["title"], link["tags"], link["enabled"], link["campaignId"]) == (
        "spring-b",
        "B",
        ["ab"],
        True,
        None,
    )
    replaced = api.put("/v2/handles/{h}/links/spring-b", json={**body, "title": "B2"})
    assert replaced.status_code == 200 and replaced.json()["title"] == "B2"
    assert replaced.json()["createdAt"] == link["createdAt"]
    assert api.get("/v2/handles/{h}/links/spring-b").json()["title"] == "B2"


@pytest.mark.parametrize("slug", ["abc", "a" * 25, "has.dot", "sp%20ace"])
def test_bad_slug_is_invalid_slug(api, slug):
    response = api.put(f"/v2/handles/{{h}}/links/{slug}", json={"destinationUrl": "https://x.example/"})
    error_of(response, 400, "invalid_slug")


@pytest.mark.parametrize("url", ["not a url", "javascript:alert(1)", "https://", "/relative/path", "mailto:a@b.c"])
def test_bad_destination_is_invalid_destination_url(api, url):
    error_of(api.put("/v2/handles/{h}/links/good-slug", json={"destinationUrl": url}), 400, "invalid_destination_url")


def test_link_body_types(api):
    response = api.put("/v2/handles/{h}/links/good-slug", json={"destinationUrl": 7, "enabled": "no"})
    error_of(response, 400, "validation_error")
    assert set(field_names(response)) == {"destinationUrl", "enabled"}


def test_variants_are_links_put_with_the_campaign(api):
    api.campaign()
    variant = api.link("spring-b", campaign_id="spring-ab").json()
    assert variant["campaignId"] == "spring-ab"
    assert api.get(CAMPAIGNS + "/spring-ab").json()["links"] == ["spring-a", "spring-b"]
    # Replacing without campaignId keeps the binding.
    kept = api.put("/v2/handles/{h}/links/spring-b", json={"destinationUrl": "https://x.example/"})
    assert kept.json()["campaignId"] == "spring-ab"
    response = api.put(
        "/v2/handles/{h}/links/spring-c", json={"destinationUrl": "https://x.example/", "campaignId": "no-such"}
    )
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["campaignId"]


def test_primary_link_cannot_move_to_another_campaign(api):
    api.campaign()
    api.campaign("other-one", "other-a")
    error_of(
        api.put(
            "/v2/handles/{h}/links/spring-a", json={"destinationUrl": "https://x.example/", "campaignId": "other-one"}
        ),
        409,
        "conflict",
    )


def test_list_links(api):
    api.link("link-one")
    api.link("link-two")
    listed = api.get("/v2/handles/{h}/links?limit=1").json()
    assert [link["slug"] for link in listed["items"]] == ["link-one"] and listed["nextCursor"]
    error_of(api.get("/v2/handles/{h}/links/not-here"), 404, "not_found")
