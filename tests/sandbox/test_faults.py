"""Every fault of the catalogue, each observed over HTTP."""

from __future__ import annotations

import csv
import io
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sandbox_helpers import checks_of, error_of, eventually

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
        "redirect_offsite",
        "quota_refused_early",
        "sparse_pages",
        "answer_rewritten",
        "pending_lead_listed",
        "traffic_tag_changed",
        "key_reuse_accepted",
        "click_event_not_deduped",
        "primary_link_pending",
        "publish_fails",
        "tampered_ctx_accepted",
        "ctx_dropped",
        "landing_not_found",
        "site_redirect_drops_query",
        "lead_form_missing",
        "landing_script_error",
        "landing_asset_missing",
        "landing_slow",
        "detail_page_ungated",
        "extra_fields",
        "request_id_header",
        "error_shape",
        "redirect_307",
        "bridge_clicks",
        "test_conversions_counted",
        "bots_counted_qualified",
        "lead_form_inert",
        "detail_page_down",
        "click_fails",
        "landing_changed",
        "landing_strips_ctx",
        "detail_page_content_under_gate",
        "bridge_slow",
        "landing_paint_unmeasured",
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
    # The write committed (on a loaded machine perhaps only after the client gave up: its count, not a clock).
    assert eventually(sb.stats, lambda stats: stats["campaigns"] >= 1, "the held write's commit")["campaigns"] == 1
    retried = api.post("/v2/handles/{h}/campaigns", key="held-key", json=body)  # a replay is never held
    assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
    sb.set_faults({"commit_then_timeout": {"rate": 1.0, "holdMs": 50}})
    other = api.campaign_body("other-one", "other-a")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v2/handles/{h}/campaigns", key="dropped-key", json=other)
    assert sb.stats()["campaigns"] == 2
    assert api.get("/v2/handles/{h}/campaigns").status_code == 200  # writes only

    def posts() -> list[int]:
        logged = sb.requests(limit=20)
        return [r["status"] for r in logged if r["method"] == "POST" and r["path"].endswith("/campaigns")]

    # Each logged once the sandbox saw its client go (an event the log shows, however late).
    lost = eventually(posts, lambda logged: len(logged) >= 3, "the three campaign writes in the request log")
    assert sorted(lost) == [0, 0, 201], lost  # logged with status 0: no answer reached the client


def test_slow_answers(api, sb):
    sb.set_faults({"slow_answers": {"delayMs": 400}})
    started = time.monotonic()
    slow = api.get("/v2/handles/{h}/campaigns")
    assert slow.status_code == 200 and time.monotonic() - started >= 0.4  # a lower bound: safe on a busy machine
    exempt = api.get("/v2/system/health", token=None)
    assert exempt.status_code == 200
    # Which request the fault hit, from the sandbox's own log (no clock): the list, not the liveness check.
    hit = {r["requestId"]: r["faults"] for r in sb.requests(limit=10)}
    assert hit[slow.headers["x-request-id"]] == ["slow_answers"] and hit[exempt.headers["x-request-id"]] == []


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


def test_redirect_offsite(api, sb):
    api.campaign()
    sb.set_faults({"redirect_offsite": {"url": "https://elsewhere.example/sale?x=1"}})
    location = urlsplit(api.click("spring-a").headers["location"])
    query = parse_qs(location.query)
    assert (location.netloc, location.path) == ("elsewhere.example", "/sale")
    assert query["x"] == ["1"] and query["utm_source"] == ["meta"] and query["ctx"], query


def test_quota_refused_early(api, sb):
    api.campaign()  # one counted write
    sb.set_faults({"quota_refused_early": {"after": 2}})
    assert api.link("spring-b", campaign_id="spring-ab").status_code in (200, 201)  # the second: under `after`
    refused = api.put("/v2/handles/{h}/links/spring-c", json={"destinationUrl": "https://gharart.example/c"})
    body = error_of(refused, 429, "rate_limited", reason="daily_quota")
    meters = api.get("/v2/handles/{h}/usage-meters").json()
    assert meters["writesToday"] == 2 < meters["writesPerDay"], (meters, body)


def test_sparse_pages(api, sb):
    api.campaign()
    for slug in ("spring-b", "spring-c"):
        api.link(slug, campaign_id="spring-ab")
    sb.set_faults({"sparse_pages": {}})
    seen, pages, cursor = [], [], None
    while True:
        page = api.get("/v2/handles/{h}/links", params={"limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        pages.append(len(page["items"]))
        seen += [link["slug"] for link in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == ["spring-a", "spring-b", "spring-c"]
    assert pages[:2] == [0, 1] and max(pages) == 1, pages  # an empty page, with a cursor, before each one


def test_answer_rewritten(api, sb):
    api.campaign()
    sb.set_faults(
        {"answer_rewritten": {"path": "/v2/handles/*/campaigns/*/health", "field": "checks[].status", "value": "OK"}}
    )
    assert {c["status"] for c in api.health()["checks"]} == {"OK"}
    assert api.get("/v2/handles/{h}/campaigns").json()["items"][0]["status"] == "ACTIVE"  # another path: untouched
    sb.set_faults(
        {"answer_rewritten": {"path": "/v2/handles/*/campaigns", "field": "items[].goalType", "remove": True}}
    )
    assert "goalType" not in api.get("/v2/handles/{h}/campaigns").json()["items"][0]
    sb.set_faults({"answer_rewritten": {"path": "/v2/handles/*/leads/export", "field": "header", "value": "id,email"}})
    export = api.get("/v2/handles/{h}/leads/export")
    assert export.text.splitlines()[0] == "id,email" and export.headers["content-type"].startswith("text/csv")
    sb.set_faults(
        {"answer_rewritten": {"path": "/v2/handles/*/leads/export", "field": "x", "contentType": "text/plain"}}
    )
    assert api.get("/v2/handles/{h}/leads/export").headers["content-type"] == "text/plain"
    response = sb.admin.put("/__sandbox/faults", json={"faults": {"answer_rewritten": {"value": [1]}}})
    error_of(response, 400, "validation_error")


def test_fault_targets_take_a_glob(api, sb):
    api.campaign()
    api.link("spring-b", campaign_id="spring-ab")
    sb.set_faults({"traffic_tag_dropped": {"tag": "utmSource", "slug": "spring-b*"}})
    detail = [c for c in api.health()["checks"] if c["id"] == "traffic_tags"][0]["detail"]
    assert detail == "spring-b missing utmSource"


def test_traffic_tag_changed(api, sb):
    api.campaign()
    sb.set_faults({"traffic_tag_changed": {"tag": "utmSource", "value": "tiktok"}})
    assert [c["status"] for c in api.health()["checks"] if c["id"] == "traffic_tags"] == ["PASS"]
    assert "utm_source=tiktok" in api.click("spring-a").headers["location"]


def test_key_reuse_accepted(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    first = api.convert(ctx, key="one-key")
    sb.set_faults({"key_reuse_accepted": {}})
    again = api.convert(ctx, key="one-key", value=99)
    assert again.status_code == 201 and again.json()["conversionId"] != first.json()["conversionId"], again.text


def test_click_event_not_deduped(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    first = api.convert(ctx, key="k-1")
    sb.set_faults({"click_event_not_deduped": {}})
    second = api.convert(ctx, key="k-2")
    assert second.status_code == 201 and second.json()["deduped"] is False
    assert second.json()["conversionId"] != first.json()["conversionId"]


def test_primary_link_pending(api, sb):
    api.campaign()
    sb.set_faults({"primary_link_pending": {}})
    health = api.health()
    primary = [c for c in health["checks"] if c["id"] == "primary_link"][0]
    assert primary["status"] == "PENDING"
    assert health["status"] in ("PENDING", "WARN", "FAIL")  # the worst check, as always


def test_publish_fails(api, sb):
    api.campaign()
    sb.set_faults({"publish_fails": {}})
    error_of(_publish(api), 500, "internal_error")
    assert api.get(PATH).json()["published"] is None


def test_pending_lead_listed(api, sb):
    api.campaign(leadVerification={"mode": "EMAIL_OTP"})
    lead = api.post(
        "/v2/public/handles/{h}/leads",
        json={"campaignId": "spring-ab", "email": "a@b.example", "ctx": api.ctx("spring-a")},
    )
    assert lead.json()["status"] == "PENDING_VERIFICATION"
    assert api.get("/v2/handles/{h}/leads").json()["items"] == []
    sb.set_faults({"pending_lead_listed": {}})
    assert [item["leadId"] for item in api.get("/v2/handles/{h}/leads").json()["items"]] == [lead.json()["leadId"]]


def test_tampered_ctx_accepted(api, sb):
    api.campaign()
    token = api.ctx("spring-a")
    forged = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    error_of(
        api.get("/v2/public/context", params={"ctx": forged}, token=None), 400, "invalid_ctx", reason="bad_signature"
    )
    sb.set_faults({"tampered_ctx_accepted": {}})
    assert api.get("/v2/public/context", params={"ctx": forged}, token=None).json()["slug"] == "spring-a"


def test_ctx_dropped(api, sb):
    api.campaign()
    sb.set_faults({"ctx_dropped": {}})
    location = api.click("spring-a").headers["location"]
    assert "ctx=" not in location and "utm_source=meta" in location
    assert sb.stats()["clicks"] == 1  # the click is still recorded
