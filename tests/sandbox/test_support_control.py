"""Support reports and the /__sandbox/ control routes."""

from __future__ import annotations

from sandbox_helpers import HANDLE, error_of, field_names


def test_support_report(api, sb):
    body = {
        "summary": "conversion_signal WARN",
        "details": "spring-b has no test conversion",
        "handle": HANDLE,
        "sessionId": "s-1",
        "requestId": "req_x",
        "runId": "run-1",
        "environment": "sandbox",
        "role": "CREATOR",
        "reproArtifact": {"curl": "curl …"},
    }
    response = api.post("/v2/support/report", json=body)
    assert response.status_code == 202
    assert response.json()["status"] == "RECEIVED"
    assert response.json()["ticketId"].startswith("tkt_")
    assert sb.stats()["supportReports"] == 1


def test_support_report_validation(api):
    response = api.post("/v2/support/report", json={"summary": "x" * 201, "details": "d"})
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["summary"]
    response = api.post("/v2/support/report", json={"summary": "s"})
    error_of(response, 400, "validation_error")
    assert field_names(response) == ["details"]


def test_info(sb):
    info = sb.info()
    assert set(info) == {"now", "ctxTtlSeconds", "analyticsLagSeconds", "defaultPlan", "throttles", "throttleWindows"}
    assert info["analyticsLagSeconds"] == 0
    assert info["ctxTtlSeconds"] == 1800 and info["defaultPlan"] == "ENTERPRISE"
    assert info["throttles"] == {"read": 60000, "write": 60000, "public": 60000}
    assert info["throttleWindows"] == {"read": 60, "write": 60, "public": 60}


def test_clock_moves_for_everyone(sb):
    before = sb.info()["now"]
    after = sb.admin.post("/__sandbox/clock", json={"advanceSeconds": 86400}).json()["now"]
    assert after[:10] > before[:10]
    assert sb.info()["now"] >= after
    error_of(sb.admin.post("/__sandbox/clock", json={"advanceSeconds": "soon"}), 400, "validation_error")


def test_tokens_route_validation(sb):
    for body in (
        {"kind": "jwt", "handle": "h"},
        {"kind": "jwt", "handle": "h", "role": "ADMIN"},
        {"kind": "pat", "handle": "h", "scopes": []},
        {"kind": "pat", "scopes": ["x"]},
        {"kind": "oauth"},
    ):
        error_of(sb.admin.post("/__sandbox/tokens", json=body), 400, "validation_error")


def test_handle_plan_route(api, sb):
    response = sb.admin.put(f"/__sandbox/handles/{HANDLE}", json={"plan": "PRO"})
    assert response.status_code == 200 and response.json() == {"handle": HANDLE, "plan": "PRO"}
    assert api.get("/v2/handles/{h}/usage-meters").json()["plan"] == "PRO"
    error_of(sb.admin.put(f"/__sandbox/handles/{HANDLE}", json={"plan": "GOLD"}), 400, "validation_error")


def test_reset_clears_data_and_faults(api, sb):
    api.campaign()
    sb.set_faults({"slow_answers": {"delayMs": 1}})
    sb.advance_clock(3600)
    assert sb.admin.post("/__sandbox/reset").status_code == 204
    assert set(sb.stats().values()) == {0}
    assert sb.admin.get("/__sandbox/faults").json()["active"] == {}
    assert api.get("/v2/handles/{h}/campaigns").json()["items"] == []


def test_stats_count_every_kind(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    api.lead(ctx)
    api.test_conversion(ctx=ctx)
    api.convert(ctx)
    api.post("/v2/support/report", json={"summary": "s", "details": "d"})
    path = "/v2/handles/{h}/site-structure/campaigns/spring-ab"
    api.put(
        path,
        json={
            "detailsPageSlug": "p",
            "accessMode": "FREE_WITH_LOGIN",
            "schemaVersion": 0,
            "schema": {"fields": [{"name": "email", "required": True}]},
        },
    )
    api.post(path + "/publish")
    assert sb.stats() == {
        "campaigns": 1,
        "links": 1,
        "clicks": 1,
        "leads": 1,
        "testConversions": 1,
        "conversions": 1,
        "deployments": 1,
        "supportReports": 1,
        "personalizationRules": 0,
        "destinationDomains": 0,
    }
