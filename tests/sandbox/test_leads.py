"""Lead capture, honeypot, dedupe by email, verification modes, the list and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from sandbox_helpers import error_of


def _export(api, campaign_id="spring-ab"):
    response = api.get("/v2/handles/{h}/leads/export", params={"campaignId": campaign_id})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_captured_lead_shows_in_list_and_export(api, sb):
    api.campaign()
    response = api.lead(api.ctx("spring-a"), email="asha@example.com")
    assert response.status_code == 201
    lead = response.json()
    assert (lead["campaignId"], lead["slug"], lead["status"], lead["deduped"]) == (
        "spring-ab",
        "spring-a",
        "CAPTURED",
        False,
    )
    assert lead["leadId"].startswith("lead_")
    listed = api.get("/v2/handles/{h}/leads", params={"campaignId": "spring-ab"}).json()
    assert listed["nextCursor"] is None
    assert listed["items"] == [
        {
            "leadId": lead["leadId"],
            "campaignId": "spring-ab",
            "slug": "spring-a",
            "email": "asha@example.com",
            "name": "Asha",
            "status": "CAPTURED",
            "createdAt": lead["createdAt"],
        }
    ]
    rows = _export(api)
    assert rows[0] == ["leadId", "campaignId", "slug", "email", "name", "status", "createdAt"]
    assert rows[1] == [
        lead["leadId"],
        "spring-ab",
        "spring-a",
        "asha@example.com",
        "Asha",
        "CAPTURED",
        lead["createdAt"],
    ]
    assert sb.stats()["leads"] == 1


def test_same_email_is_deduped(api, sb):
    api.campaign()
    first = api.lead(api.ctx("spring-a"), email="Asha@Example.com").json()
    again = api.lead(api.ctx("spring-a"), email="asha@example.com")
    assert again.status_code == 200
    assert again.json()["leadId"] == first["leadId"] and again.json()["deduped"] is True
    assert sb.stats()["leads"] == 1


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@b", "a@@example.com", "a b@example.com", "@example.com", "asha@example..com", ""]
)
def test_invalid_email(api, sb, email):
    api.campaign()
    error_of(api.lead(api.ctx("spring-a"), email=email), 400, "invalid_email")
    assert sb.stats()["leads"] == 0


def test_bad_or_stale_ctx(api, sb):
    api.campaign()
    error_of(api.lead("junk"), 400, "invalid_ctx", reason="malformed")
    stale = sb.mint_ctx("gharart", "spring-a", age_seconds=1900)
    error_of(api.lead(stale), 400, "invalid_ctx", reason="expired")
    response = api.post(
        "/v2/public/handles/{h}/leads", token=None, json={"campaignId": "spring-ab", "email": "a@example.com"}
    )
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "ctx"


def test_not_lead_capture_is_conflict(api):
    api.campaign(goal="PRODUCT_SALE")
    error_of(api.lead(api.ctx("spring-a")), 409, "conflict")


def test_unknown_campaign_is_404(api):
    api.campaign()
    error_of(api.lead(api.ctx("spring-a"), campaign_id="nope-nope"), 404, "not_found")


def test_honeypot_is_202_and_stores_nothing(api, sb):
    api.campaign()
    response = api.lead(api.ctx("spring-a"), ten_x_hp="I am a bot")
    assert response.status_code == 202
    assert response.json() == {"status": "ACCEPTED"}
    assert sb.stats()["leads"] == 0
    assert api.get("/v2/handles/{h}/leads").json()["items"] == []


@pytest.mark.parametrize("mode", ["EMAIL_OTP", "EMAIL_REPLY_YES"])
def test_verification_modes_hold_leads_back(api, sb, mode):
    api.campaign(leadVerification={"mode": mode})
    lead = api.lead(api.ctx("spring-a")).json()
    assert lead["status"] == "PENDING_VERIFICATION"
    assert api.get("/v2/handles/{h}/leads").json()["items"] == []
    assert len(_export(api)) == 1
    verified = sb.admin.post(f"/__sandbox/leads/{lead['leadId']}/verify")
    assert verified.json()["status"] == "CAPTURED"
    assert [i["leadId"] for i in api.get("/v2/handles/{h}/leads").json()["items"]] == [lead["leadId"]]


def test_list_pages_and_campaign_filter(api):
    api.campaign()
    api.campaign("other-one", "other-a")
    for i in range(3):
        api.lead(api.ctx("spring-a"), email=f"lead{i}@example.com")
    api.lead(api.ctx("other-a"), email="x@example.com", campaign_id="other-one")
    everything = api.get("/v2/handles/{h}/leads").json()["items"]
    assert len(everything) == 4
    first = api.get("/v2/handles/{h}/leads", params={"campaignId": "spring-ab", "limit": 2}).json()
    assert len(first["items"]) == 2 and first["nextCursor"]
    rest = api.get(
        "/v2/handles/{h}/leads", params={"campaignId": "spring-ab", "limit": 2, "cursor": first["nextCursor"]}
    ).json()
    assert [i["email"] for i in rest["items"]] == ["lead2@example.com"]
    assert len(_export(api)) == 4


def test_csv_quotes_awkward_names(api):
    api.campaign()
    api.lead(api.ctx("spring-a"), name='Sharma, "Asha"')
    assert _export(api)[1][4] == 'Sharma, "Asha"'
