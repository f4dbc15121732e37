"""Every fault of the catalogue, each observed over HTTP."""

from __future__ import annotations

import csv
import io
import time

import httpx
import pytest
from sandbox_helpers import checks_of, error_of

from preflight.core.faults import CATALOGUE

PATH = "/v2/handles/{h}/site-structure/campaigns/spring-ab"
PUBLIC = "/v2/public/handles/{h}/site-structure/campaigns/spring-ab"
PAGE = {"sections": [{"type": "form", "fields": [{"name": "email", "required": True}]}]}


def _publish(api):
    api.put(
        PATH,
        json={"detailsPageSlug": "spring-page", "accessMode": "FREE_WITH_LOGIN", "schema": PAGE, "schemaVersion": 0},
    )
    return api.post(PATH + "/publish")


def test_catalogue_is_listed(sb):
    listing = sb.admin.get("/__sandbox/faults").json()
    assert [f["name"] for f in listing["available"]] == list(CATALOGUE)
    assert set(CATALOGUE) == {
        "test_conversion_rejects_ctx",
        "traffic_tag_dropped",
        "replay_counted_twice",
        "keys_merged",
        "valid_email_rejected",
        "invalid_email_accepted",
        "stale_ctx_accepted",
        "wrong_campaign_accepted",
        "lead_missing_from_list",
        "lead_missing_from_export",
        "publish_left_public",
        "schema_fetch_fails",
        "health_disagree",
        "throttle_storm",
        "server_error_blips",
        "commit_then_503",
        "commit_then_timeout",
        "slow_answers",
        "conversion_deduped_fresh",
        "attribution_swapped",
        "redirect_swapped",
        "ctx_misattributed",
        "lead_dropped_silently",
        "extra_fields",
        "request_id_header",
        "error_shape",
        "redirect_307",
        "bridge_clicks",
        "test_conversions_counted",
        "bots_counted_qualified",
    }
    assert all(f["description"] for f in listing["available"])
    assert listing["active"] == {}


def test_put_replaces_and_fills_defaults(sb):
    active = sb.set_faults({"throttle_storm": {}, "slow_answers": {"delayMs": 5}})["active"]
    assert active == {"throttle_storm": {"rate": 0.3, "retryAfter": 1}, "slow_answers": {"rate": 1.0, "delayMs": 5}}
    assert sb.set_faults({"keys_merged": {"campaignId": "x"}})["active"] == {
        "keys_merged": {"rate": 1.0, "campaignId": "x"}
    }
    assert sb.set_faults({})["active"] == {}


@pytest.mark.parametrize(
    "faults,field",
    [
        ({"throttle_strom": {}}, "faults.throttle_strom"),
        ({"throttle_storm": {"rate": 2}}, "faults.throttle_storm.rate"),
        ({"slow_answers": {"delayMs": "slow"}}, "faults.slow_answers.delayMs"),
        ({"traffic_tag_dropped": {"tag": "utmTerm"}}, "faults.traffic_tag_dropped.tag"),
        ({"keys_merged": {"tag": "utmMedium"}}, "faults.keys_merged.tag"),
    ],
)
def test_bad_fault_specs(sb, faults, field):
    response = sb.admin.put("/__sandbox/faults", json={"faults": faults})
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == field
    if field == "faults.throttle_strom":
        assert "did you mean throttle_storm" in response.json()["message"]


def test_test_conversion_rejects_ctx(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    sb.set_faults({"test_conversion_rejects_ctx": {}})
    error_of(api.test_conversion(ctx=ctx), 400, "invalid_ctx", reason="bad_signature")
    assert sb.stats()["testConversions"] == 0


def test_traffic_tag_dropped(api, sb):
    api.campaign()
    sb.set_faults({"traffic_tag_dropped": {"tag": "utmMedium"}})
    link = api.get("/v2/handles/{h}/links/spring-a").json()
    assert link["tracking"] == {"utmSource": "meta", "utmCampaign": "spring"}
    health = api.health()
    tags = [c for c in health["checks"] if c["id"] == "traffic_tags"][0]
    assert tags == {"id": "traffic_tags", "status": "FAIL", "detail": "spring-a missing utmMedium"}
    location = api.click("spring-a").headers["location"]
    assert "utm_medium" not in location and "utm_source=meta" in location


def test_traffic_tag_dropped_limited_to_a_slug(api, sb):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab")
    sb.set_faults({"traffic_tag_dropped": {"tag": "utmSource", "slug": "spring-b"}})
    detail = [c for c in api.health()["checks"] if c["id"] == "traffic_tags"][0]["detail"]
    assert detail == "spring-b missing utmSource"


def test_replay_counted_twice(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    first = api.convert(ctx, key="dup-key")
    sb.set_faults({"replay_counted_twice": {}})
    replay = api.convert(ctx, key="dup-key")
    assert replay.status_code == 201
    assert "idempotent-replayed" not in replay.headers
    assert replay.json()["conversionId"] != first.json()["conversionId"]
    assert sb.stats()["conversions"] == 2


def test_keys_merged(api, sb):
    api.campaign()
    first = api.convert(api.ctx("spring-a"), key="key-a")
    sb.set_faults({"keys_merged": {}})
    merged = api.convert(api.ctx("spring-a"), key="key-b")
    assert merged.status_code == 201
    assert merged.headers["idempotent-replayed"] == "true"
    assert merged.json()["conversionId"] == first.json()["conversionId"]
    assert sb.stats()["conversions"] == 1


def test_valid_email_rejected(api, sb):
    api.campaign()
    sb.set_faults({"valid_email_rejected": {}})
    error_of(api.lead(api.ctx("spring-a"), email="asha@example.com"), 400, "invalid_email")
    assert sb.stats()["leads"] == 0


def test_invalid_email_accepted(api, sb):
    api.campaign()
    sb.set_faults({"invalid_email_accepted": {}})
    response = api.lead(api.ctx("spring-a"), email="not-an-email")
    assert response.status_code == 201 and response.json()["status"] == "CAPTURED"


def test_stale_ctx_accepted_everywhere(api, sb):
    api.campaign()
    stale = sb.mint_ctx("gharart", "spring-a", age_seconds=4000)
    sb.set_faults({"stale_ctx_accepted": {}})
    assert api.get("/v2/public/context", token=None, params={"ctx": stale}).status_code == 200
    assert api.lead(stale).status_code == 201
    assert api.test_conversion(ctx=stale).status_code == 201
    assert api.convert(stale, key="stale-ok").status_code == 201


def test_wrong_campaign_accepted(api, sb):
    api.campaign()
    api.campaign("other-one", "other-a")
    foreign = api.ctx("other-a")
    sb.set_faults({"wrong_campaign_accepted": {}})
    response = api.test_conversion("spring-ab", ctx=foreign)
    assert response.status_code == 201 and response.json()["campaignId"] == "spring-ab"


def test_lead_missing_from_list(api, sb):
    api.campaign()
    lead = api.lead(api.ctx("spring-a")).json()
    sb.set_faults({"lead_missing_from_list": {}})
    assert api.get("/v2/handles/{h}/leads").json()["items"] == []
    rows = list(csv.reader(io.StringIO(api.get("/v2/handles/{h}/leads/export").text)))
    assert rows[1][0] == lead["leadId"]


def test_lead_missing_from_export(api, sb):
    api.campaign()
    lead = api.lead(api.ctx("spring-a")).json()
    sb.set_faults({"lead_missing_from_export": {}})
    rows = list(csv.reader(io.StringIO(api.get("/v2/handles/{h}/leads/export").text)))
    assert rows == [["leadId", "campaignId", "slug", "email", "name", "status", "createdAt"]]
    assert [i["leadId"] for i in api.get("/v2/handles/{h}/leads").json()["items"]] == [lead["leadId"]]


def test_publish_left_public(api, sb):
    api.campaign()
    sb.set_faults({"publish_left_public": {}})
    published = _publish(api)
    assert published.status_code == 201
    assert published.json()["accessMode"] == "FREE_WITH_LOGIN"  # the answer looks right
    assert api.get(PUBLIC, token=api.pat).json()["accessMode"] == "PUBLIC"


@pytest.mark.parametrize("options,status,code", [({}, 404, "not_found"), ({"status": 503}, 503, "service_unavailable")])
def test_schema_fetch_fails(api, sb, options, status, code):
    api.campaign()
    _publish(api)
    sb.set_faults({"schema_fetch_fails": options})
    error_of(api.get(PUBLIC, token=api.pat), status, code)
    sb.set_faults({})
    assert api.get(PUBLIC, token=api.pat).status_code == 200


def test_health_disagree(api, sb):
    api.campaign()
    api.test_conversion(ctx=api.ctx("spring-a"))
    sb.set_faults({"health_disagree": {}})
    jwt_health, pat_health = api.health(), api.pat_health()
    assert checks_of(jwt_health)["conversion_signal"] == "PASS"
    assert checks_of(pat_health)["conversion_signal"] == "WARN"
    assert pat_health["score"] == jwt_health["score"] - 10


def test_throttle_storm_is_evenly_spread(api, sb):
    sb.set_faults({"throttle_storm": {"rate": 0.3, "retryAfter": 2}})
    statuses = [api.get("/v2/handles/{h}/campaigns").status_code for _ in range(10)]
    # n-th request hit when floor(n*0.3) > floor((n-1)*0.3): the 4th, 7th and 10th.
    assert [i + 1 for i, s in enumerate(statuses) if s == 429] == [4, 7, 10]
    sb.set_faults({"throttle_storm": {"rate": 1.0, "retryAfter": 2}})
    response = api.get("/v2/handles/{h}/campaigns")
    error_of(response, 429, "rate_limited", reason="throttle")
    assert response.headers["retry-after"] == "2"
    assert api.get("/v2/system/health", token=None).status_code == 200  # never faulted


def test_server_error_blips(api, sb):
    sb.set_faults({"server_error_blips": {}})
    statuses = [api.get("/v2/handles/{h}/campaigns").status_code for _ in range(10)]
    assert [i + 1 for i, s in enumerate(statuses) if s == 503] == [5, 10]
    assert api.get("/v2/handles/{h}/campaigns").headers.get("retry-after") is None
    sb.set_faults({"server_error_blips": {"rate": 1, "retryAfter": 0}})
    response = api.post("/v2/support/report", json={"summary": "s", "details": "d"})
    error_of(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "0"
    assert sb.stats()["supportReports"] == 0  # before doing anything


def test_commit_then_503(api, sb):
    sb.set_faults({"commit_then_503": {"rate": 1.0, "retryAfter": 3}})
    body = api.campaign_body()
    failed = api.post("/v2/handles/{h}/campaigns", key="commit-key", json=body)
    error_of(failed, 503, "service_unavailable")
    assert failed.headers["retry-after"] == "3"
    assert sb.stats()["campaigns"] == 1  # the write committed
    sb.set_faults({})
    retried = api.post("/v2/handles/{h}/campaigns", key="commit-key", json=body)
    assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
    assert sb.stats()["campaigns"] == 1
    sb.set_faults({"commit_then_503": {"rate": 1.0}})
    assert api.get("/v2/handles/{h}/campaigns").status_code == 200  # writes only


def test_commit_then_timeout(api, sb):
    """The write commits, then no answer: the client's timeout ends the wait; a client that waits
    longer than holdMs has its connection closed mid-answer. Either way the retry replays."""
    sb.set_faults({"commit_then_timeout": {"rate": 1.0}})
    body = api.campaign_body()
    with pytest.raises(httpx.ReadTimeout):
        api.post("/v2/handles/{h}/campaigns", key="held-key", json=body, timeout=0.5)
    assert sb.stats()["campaigns"] == 1  # the write committed
    retried = api.post("/v2/handles/{h}/campaigns", key="held-key", json=body)  # a replay is never held
    assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
    sb.set_faults({"commit_then_timeout": {"rate": 1.0, "holdMs": 50}})
    other = api.campaign_body("other-one", "other-a")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v2/handles/{h}/campaigns", key="dropped-key", json=other)
    assert sb.stats()["campaigns"] == 2
    assert api.get("/v2/handles/{h}/campaigns").status_code == 200  # writes only
    lost = [r["status"] for r in sb.requests(limit=20) if r["method"] == "POST" and r["path"].endswith("/campaigns")]
    assert sorted(lost) == [0, 0, 201], lost  # logged with status 0: no answer reached the client


def test_slow_answers(api, sb):
    sb.set_faults({"slow_answers": {"delayMs": 400}})
    started = time.monotonic()
    assert api.get("/v2/handles/{h}/campaigns").status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert api.get("/v2/system/health", token=None).status_code == 200
    assert time.monotonic() - started < 0.3


def test_fault_limited_to_a_campaign(api, sb):
    api.campaign()
    api.campaign("other-one", "other-a")
    sb.set_faults({"server_error_blips": {"rate": 1.0, "campaignId": "other-one"}})
    assert api.get("/v2/handles/{h}/campaigns/spring-ab/health").status_code == 200
    error_of(api.get("/v2/handles/{h}/campaigns/other-one/health"), 503, "service_unavailable")
    # A click is matched through its link's campaign.
    assert api.click("spring-a").status_code == 302
    error_of(api.click("other-a"), 503, "service_unavailable")
    # A public conversion is matched through the campaign its ctx names.
    sb.set_faults({})
    ctx_spring, ctx_other = api.ctx("spring-a"), api.ctx("other-a")
    sb.set_faults({"server_error_blips": {"rate": 1.0, "campaignId": "other-one"}})
    assert api.convert(ctx_spring, key="spring-conv").status_code == 201
    error_of(api.convert(ctx_other, key="other-conv"), 503, "service_unavailable")


def test_reset_clears_faults(api, sb):
    sb.set_faults({"server_error_blips": {"rate": 1.0}})
    sb.reset()
    assert api.get("/v2/handles/{h}/campaigns").status_code == 200
