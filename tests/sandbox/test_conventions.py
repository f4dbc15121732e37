"""Conventions on every route: request ids, flat errors, validation, size limit, throttle headers."""

from __future__ import annotations

import re

import httpx
from sandbox_helpers import error_of, field_names

REQUEST_ID = re.compile(r"^req_[0-9a-f]{20}$")


def test_system_health_needs_no_credential(api):
    response = api.get("/v2/system/health", token=None)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert REQUEST_ID.match(response.headers["x-request-id"])


def test_every_answer_has_request_id_and_ratelimit_headers(api):
    answers = [
        api.get("/v2/system/health", token=None),
        api.get("/nowhere", token=None),
        api.get("/v2/handles/{h}/campaigns"),
        api.post("/__sandbox/reset"),
        api.get("/v2/handles/{h}/campaigns", token=None),
        api.click("nosuchlink"),
    ]
    ids = set()
    for response in answers:
        assert REQUEST_ID.match(response.headers["x-request-id"]), response.headers
        ids.add(response.headers["x-request-id"])
        for name in ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
            assert response.headers[name].isdigit(), (name, response.headers)
    assert len(ids) == len(answers)


def test_unknown_route_is_flat_404(api):
    body = error_of(api.get("/v2/handles/{h}/nothing-here"), 404, "not_found")
    assert set(body) == {"error", "message", "requestId"}


def test_wrong_method_is_flat_405(api):
    response = api.call("DELETE", "/v2/handles/{h}/campaigns")
    error_of(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_malformed_json_is_validation_error(api):
    response = api.post(
        "/v2/handles/{h}/campaigns", content=b'{"campaignId": ', headers={"content-type": "application/json"}
    )
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["body"]
    assert "malformed JSON" in response.json()["fields"][0]["message"]


def test_wrong_types_name_each_field(api):
    body = api.campaign_body()
    body.update(campaignId=123, status="LIVE")
    body["primaryLink"]["enabled"] = "yes"
    response = api.post("/v2/handles/{h}/campaigns", json=body)
    error_of(response, 400, "validation_error")
    assert set(field_names(response)) == {"campaignId", "status", "primaryLink.enabled"}


def test_missing_fields_and_missing_body(api):
    response = api.post("/v2/handles/{h}/campaigns", json={"campaignId": "abc-1"})
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["goalType"]
    response = api.post("/v2/handles/{h}/campaigns")
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["body"]
    response = api.post("/v2/handles/{h}/campaigns", json=["not", "an", "object"])
    error_of(response, 400, "validation_error")


def test_bad_query_parameters(api):
    for query in ("limit=0", "limit=201", "limit=ten", "status=LIVE", "cursor=%%%"):
        response = api.get("/v2/handles/{h}/campaigns?" + query)
        error_of(response, 400, "validation_error")
        assert field_names(response) == [query.split("=")[0]], query


def test_body_over_one_mib_is_413(api):
    big = b'{"summary": "x", "details": "' + b"y" * (1024 * 1024) + b'"}'
    response = api.post("/v2/support/report", content=big, headers={"content-type": "application/json"})
    error_of(response, 413, "payload_too_large")


def test_body_streamed_over_one_mib_is_413(api):
    def chunks():
        yield b'{"details": "'
        for _ in range(20):
            yield b"z" * 65536
        yield b'"}'

    response = api.post("/v2/support/report", content=chunks(), headers={"content-type": "application/json"})
    error_of(response, 413, "payload_too_large")


def test_openapi_describes_every_contract_route(api):
    doc = api.get("/openapi.json", token=None).json()
    paths = doc["paths"]
    expected = {
        ("get", "/v2/system/health"),
        ("get", "/v2/handles/{handle}/campaigns"),
        ("post", "/v2/handles/{handle}/campaigns"),
        ("put", "/v2/handles/{handle}/links/{slug}"),
        ("get", "/v2/handles/{handle}/campaigns/{campaignId}/health"),
        ("get", "/v2/public/handles/{handle}/campaigns/{campaignId}/health"),
        ("post", "/v2/handles/{handle}/campaigns/{campaignId}/test-conversion"),
        ("post", "/v2/public/conversions"),
        ("get", "/v2/public/context"),
        ("post", "/v2/public/handles/{handle}/leads"),
        ("get", "/v2/handles/{handle}/leads"),
        ("get", "/v2/handles/{handle}/leads/export"),
        ("get", "/v2/handles/{handle}/site-structure/campaigns/{campaignId}"),
        ("put", "/v2/handles/{handle}/site-structure/campaigns/{campaignId}"),
        ("post", "/v2/handles/{handle}/site-structure/campaigns/{campaignId}/publish"),
        ("get", "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}"),
        ("put", "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}"),
        ("post", "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}/publish"),
        ("get", "/v2/handles/{handle}/usage-meters"),
        ("post", "/v2/support/report"),
        ("post", "/v2/operator/escalations"),
        ("get", "/_edge/redirect/{handle}/{slug}"),
    }
    for method, path in expected:
        assert method in paths.get(path, {}), (method, path)
    create = paths["/v2/handles/{handle}/campaigns"]["post"]
    assert "requestBody" in create
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    assert "201" in create["responses"]
    # FastAPI's default 422 validation shape is never advertised: validation answers 400.
    for path, ops in paths.items():
        for method, op in ops.items():
            schema = op["responses"].get("422", {}).get("content", {}).get("application/json", {})
            assert "HTTPValidationError" not in str(schema), (method, path)


def test_request_log_lists_answered_requests(api, sb):
    response = api.get("/v2/handles/{h}/campaigns")
    items = sb.requests(limit=5)
    mine = [i for i in items if i["requestId"] == response.headers["x-request-id"]]
    assert mine == [
        {
            "method": "GET",
            "path": "/v2/handles/gharart/campaigns",
            "status": 200,
            "requestId": response.headers["x-request-id"],
            "at": mine[0]["at"],
            "faults": [],  # no fault was on
        }
    ]
    assert items == sorted(items, key=lambda i: i["at"])


def test_http_client_without_content_type_still_parses_json(api):
    response = httpx.post(
        api.sb.url + "/v2/support/report",
        content=b'{"summary": "s", "details": "d"}',
        headers={"Authorization": f"Bearer {api.jwt}"},
    )
    assert response.status_code == 202, response.text
