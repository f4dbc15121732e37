"""Auth exactly as the contract: JWT surfaces, PAT surfaces, roles, scopes, expiry."""

from __future__ import annotations

import base64
import json

import pytest
from sandbox_helpers import HANDLE, error_of

CAMPAIGNS = "/v2/handles/{h}/campaigns"
PAT_HEALTH = "/v2/public/handles/{h}/campaigns/spring-ab/health"


def test_no_credential_is_missing_bearer_token(api):
    response = api.get(CAMPAIGNS, token=None)
    error_of(response, 401, "missing_bearer_token")
    assert response.headers["www-authenticate"].startswith("Bearer")
    error_of(api.get(PAT_HEALTH, token=None), 401, "missing_bearer_token")
    error_of(
        api.post("/v2/support/report", token=None, json={"summary": "s", "details": "d"}), 401, "missing_bearer_token"
    )


@pytest.mark.parametrize(
    "header", ["Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer patv1_nodot", "Bearer patv1_abc.def"]
)
def test_malformed_or_unknown_credentials_are_invalid_token(api, header):
    response = api.get(CAMPAIGNS, token=None, headers={"Authorization": header})
    error_of(response, 401, "invalid_token")


def test_jwt_signed_with_another_key_is_invalid_token(api):
    import jwt as pyjwt

    forged = pyjwt.encode(
        {"sub": "x", "roles": {HANDLE: "OWNER"}, "exp": 4102444800},
        "not-the-sandbox-secret-but-32-bytes-long!",
        algorithm="HS256",
    )
    error_of(api.get(CAMPAIGNS, token=forged), 401, "invalid_token")


def test_jwt_with_alg_none_is_invalid_token(api):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = (
        f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': 'x', 'roles': {HANDLE: 'OWNER'}, 'exp': 4102444800})}."
    )
    error_of(api.get(CAMPAIGNS, token=token), 401, "invalid_token")


def test_expired_jwt_is_token_expired(api, sb):
    short = sb.mint_jwt(HANDLE, ttl_seconds=60)
    assert api.get(CAMPAIGNS, token=short).status_code == 200
    sb.advance_clock(61)
    error_of(api.get(CAMPAIGNS, token=short), 401, "token_expired")
    assert api.get(CAMPAIGNS, token=sb.mint_jwt(HANDLE)).status_code == 200


def test_no_role_on_handle_is_forbidden(api, sb):
    other = sb.mint_jwt("someone-else")
    error_of(api.get(CAMPAIGNS, token=other), 403, "forbidden")


def test_weaker_role_is_insufficient_role(api, sb):
    creator = sb.mint_jwt(HANDLE, role="CREATOR")
    error_of(api.get("/v2/handles/{h}/pats", token=creator), 403, "insufficient_role", requiredRole="OPERATOR")
    operator = sb.mint_jwt(HANDLE, role="OPERATOR")
    assert api.get("/v2/handles/{h}/pats", token=operator).status_code == 200
    owner = sb.mint_jwt(HANDLE, role="OWNER")
    assert api.get(CAMPAIGNS, token=owner).status_code == 200


def test_one_jwt_reaches_every_handle_with_a_role(api, sb):
    token = sb.admin.post(
        "/__sandbox/tokens", json={"kind": "jwt", "roles": {HANDLE: "CREATOR", "second-brand": "OWNER"}}
    ).json()["token"]
    assert api.get("/v2/handles/gharart/campaigns", token=token).status_code == 200
    assert api.get("/v2/handles/second-brand/campaigns", token=token).status_code == 200
    error_of(api.get("/v2/handles/third/campaigns", token=token), 403, "forbidden")


def test_pat_never_works_on_jwt_routes(api, sb):
    pat = sb.mint_pat(HANDLE, ["analytics.read", "pages.read", "pages.write"])
    error_of(api.get(CAMPAIGNS, token=pat), 401, "invalid_token")
    error_of(api.get(CAMPAIGNS, token=None, headers={"x-api-key": pat}), 401, "invalid_token")


def test_jwt_is_refused_on_pat_routes(api):
    api.campaign()
    error_of(api.get(PAT_HEALTH), 401, "invalid_token")


def test_pat_as_bearer_or_x_api_key(api, sb):
    api.campaign()
    pat = sb.mint_pat(HANDLE, ["analytics.read"])
    assert api.get(PAT_HEALTH, token=pat).status_code == 200
    assert api.get(PAT_HEALTH, token=None, headers={"x-api-key": pat}).status_code == 200


def test_pat_scopes(api, sb):
    api.campaign()
    pages_only = sb.mint_pat(HANDLE, ["pages.read"])
    error_of(api.get(PAT_HEALTH, token=pages_only), 403, "insufficient_scope", requiredScope="analytics.read")
    wildcard = sb.mint_pat(HANDLE, ["analytics.*"])
    assert api.get(PAT_HEALTH, token=wildcard).status_code == 200
    analytics = sb.mint_pat(HANDLE, ["analytics.read"])
    error_of(
        api.get("/v2/public/handles/{h}/site-structure/campaigns/spring-ab", token=analytics),
        403,
        "insufficient_scope",
        requiredScope="pages.read",
    )
    body = {"detailsPageSlug": "p", "accessMode": "PUBLIC", "schema": {"a": 1}, "schemaVersion": 0}
    error_of(
        api.put("/v2/public/handles/{h}/site-structure/campaigns/spring-ab", token=pages_only, json=body),
        403,
        "insufficient_scope",
        requiredScope="pages.write",
    )
    error_of(
        api.post("/v2/public/handles/{h}/site-structure/campaigns/spring-ab/publish", token=pages_only),
        403,
        "insufficient_scope",
        requiredScope="pages.write",
    )


def test_pat_of_another_handle_is_forbidden(api, sb):
    api.campaign()
    other = sb.mint_pat("another-brand", ["analytics.read"])
    error_of(api.get(PAT_HEALTH, token=other), 403, "forbidden")


def test_revoked_pat_is_invalid_token(api, sb):
    api.campaign()
    operator = sb.mint_jwt(HANDLE, role="OPERATOR")
    created = api.post("/v2/handles/{h}/pats", token=operator, json={"scopes": ["analytics.read"]})
    assert created.status_code == 201, created.text
    pat, token_id = created.json()["token"], created.json()["tokenId"]
    assert pat.startswith(f"patv1_{token_id}.")
    assert api.get(PAT_HEALTH, token=pat).status_code == 200
    listed = api.get("/v2/handles/{h}/pats", token=operator).json()["items"]
    assert [p["tokenId"] for p in listed] == [token_id] and "token" not in listed[0]
    assert api.call("DELETE", f"/v2/handles/{{h}}/pats/{token_id}", token=operator).status_code == 204
    error_of(api.get(PAT_HEALTH, token=pat), 401, "invalid_token")
    error_of(api.call("DELETE", "/v2/handles/{h}/pats/nope", token=operator), 404, "not_found")


def test_pat_with_wrong_secret_is_invalid_token(api, sb):
    api.campaign()
    pat = sb.mint_pat(HANDLE, ["analytics.read"])
    error_of(api.get(PAT_HEALTH, token=pat[:-4] + "0000"), 401, "invalid_token")


def test_support_report_takes_jwt_or_pat(api, sb):
    body = {"summary": "health WARN", "details": "conversion_signal WARN for spring-b"}
    assert api.post("/v2/support/report", json=body).status_code == 202
    pat = sb.mint_pat(HANDLE, ["analytics.read"])
    assert api.post("/v2/support/report", token=pat, json=body).status_code == 202
    assert api.post("/v2/support/report", token=None, headers={"x-api-key": pat}, json=body).status_code == 202


def test_operator_escalations_is_403(api):
    error_of(api.post("/v2/operator/escalations", json={"summary": "x"}), 403, "forbidden")
    error_of(api.post("/v2/operator/escalations", token=None), 403, "forbidden")


def test_handles_are_created_on_first_use_with_default_plan(api, sb):
    token = sb.mint_jwt("brand-new-handle")
    meters = api.get("/v2/handles/brand-new-handle/usage-meters", token=token)
    assert meters.status_code == 200
    assert meters.json()["plan"] == "ENTERPRISE"
