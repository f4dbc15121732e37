"""Site structure: draft with version check, publish, the published page, both surfaces."""

from __future__ import annotations

from sandbox_helpers import error_of

PATH = "/v2/handles/{h}/site-structure/campaigns/spring-ab"
PUBLIC = "/v2/public/handles/{h}/site-structure/campaigns/spring-ab"
LEAD_PAGE = {
    "title": "Spring",
    "sections": [
        {
            "type": "form",
            "fields": [{"name": "email", "type": "email", "required": True}, {"name": "name", "required": False}],
        }
    ],
}


def _draft(version=0, **extra):
    return {
        "detailsPageSlug": "spring-page",
        "accessMode": "FREE_WITH_LOGIN",
        "structureType": "CAMPAIGN_DETAILS",
        "schema": LEAD_PAGE,
        "schemaVersion": version,
        **extra,
    }


def test_fresh_site_structure(api):
    api.campaign()
    body = api.get(PATH).json()
    assert body["campaignId"] == "spring-ab"
    assert body["schemaVersion"] == 0 and body["published"] is None
    assert body["detailsPageSlug"] is None
    # A LEAD_CAPTURE page starts with a form holding a required email.
    fields = body["schema"]["sections"][0]["fields"]
    assert {"name": "email", "type": "email", "required": True} in fields


def test_put_bumps_version_and_checks_it(api):
    api.campaign()
    saved = api.put(PATH, json=_draft(0))
    assert saved.status_code == 200
    assert saved.json()["schemaVersion"] == 1 and saved.json()["schema"] == LEAD_PAGE
    error_of(api.put(PATH, json=_draft(0)), 409, "conflict", reason="version_conflict")
    assert api.put(PATH, json=_draft(1)).json()["schemaVersion"] == 2


def test_publish_and_fetch(api, sb):
    api.campaign()
    api.put(PATH, json=_draft(0))
    published = api.post(PATH + "/publish")
    assert published.status_code == 201
    body = published.json()
    assert set(body) == {
        "deploymentId",
        "schemaVersion",
        "schemaS3Key",
        "detailsPageSlug",
        "accessMode",
        "url",
        "publishedAt",
    }
    assert body["schemaS3Key"] == "site-structure/gharart/campaigns/spring-ab/v1.json"
    assert (body["schemaVersion"], body["accessMode"], body["detailsPageSlug"]) == (1, "FREE_WITH_LOGIN", "spring-page")
    # Served by the sandbox itself (the real platform's is https://gharart.10x.in/spring-page).
    assert body["url"] == f"{sb.url}/_edge/pages/gharart/spring-page"
    fetched = api.get(PUBLIC, token=api.pat)
    assert fetched.status_code == 200
    assert fetched.json() == {
        "campaignId": "spring-ab",
        "detailsPageSlug": "spring-page",
        "accessMode": "FREE_WITH_LOGIN",
        "schemaVersion": 1,
        "deploymentId": body["deploymentId"],
        "schema": LEAD_PAGE,
    }
    current = api.get(PATH).json()["published"]
    assert (current["deploymentId"], current["schemaS3Key"], current["url"]) == (
        body["deploymentId"],
        body["schemaS3Key"],
        body["url"],
    )
    assert sb.stats()["deployments"] == 1


def test_never_published_fetch_is_404(api):
    api.campaign()
    error_of(api.get(PUBLIC, token=api.pat), 404, "not_found")


def test_publish_needs_slug_and_schema(api):
    api.campaign()
    api.put(PATH, json=_draft(0, detailsPageSlug=None))
    response = api.post(PATH + "/publish")
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "detailsPageSlug"
    api.put(PATH, json=_draft(1, schema={}))
    response = api.post(PATH + "/publish")
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "schema"
    api.put(PATH, json=_draft(2, schema={"sections": [{"type": "hero"}]}))
    error_of(api.post(PATH + "/publish"), 400, "validation_error")  # no required email field


def test_put_validation(api):
    api.campaign()
    response = api.put(PATH, json={"accessMode": "SECRET", "schema": [], "schemaVersion": "one"})
    error_of(response, 400, "validation_error")
    assert {f["field"] for f in response.json()["fields"]} == {"accessMode", "schema", "schemaVersion"}


def test_pat_twins_save_and_publish(api):
    api.campaign()
    saved = api.put(PUBLIC, token=api.pat, json=_draft(0))
    assert saved.status_code == 200 and saved.json()["schemaVersion"] == 1
    published = api.post(PUBLIC + "/publish", token=api.pat)
    assert published.status_code == 201
    assert api.get(PUBLIC, token=api.pat).json()["deploymentId"] == published.json()["deploymentId"]
    error_of(api.put(PUBLIC, token=api.pat, json=_draft(0)), 409, "conflict", reason="version_conflict")


def test_unknown_campaign(api):
    error_of(api.get("/v2/handles/{h}/site-structure/campaigns/nope-nope"), 404, "not_found")
    error_of(api.put("/v2/handles/{h}/site-structure/campaigns/nope-nope", json=_draft(0)), 404, "not_found")
