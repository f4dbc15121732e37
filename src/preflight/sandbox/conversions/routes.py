"""`POST …/campaigns/{campaignId}/test-conversion` (JWT) and `POST /v2/public/conversions`."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Header, Request

from preflight.sandbox.conversions import state
from preflight.sandbox.conversions.models import ConversionIn, ConversionOut, TestConversionIn, TestConversionOut
from preflight.sandbox.core import idempotency
from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import WRITE_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import runtime

router = APIRouter(tags=["conversions"])
KEY_HEADER = Header(
    None,
    alias=idempotency.KEY_HEADER,
    max_length=idempotency.MAX_KEY_LENGTH,
    description=f"required here (or the {idempotency.BODY_FIELD} body field)",
)


@router.post(
    "/v2/handles/{handle}/campaigns/{campaignId}/test-conversion",
    response_model=TestConversionOut,
    status_code=201,
    responses=error_responses(*WRITE_ERRORS),
)
async def test_conversion(
    request: Request,
    handle: str,
    campaignId: str,
    body: TestConversionIn | None = Body(None),
    _p: Principal = Depends(jwt_role("CREATOR", write=True)),
):
    """A synthetic conversion that validates the pipeline; attributed to the ctx's variant."""
    answer = state.record_test(runtime(request), handle, campaignId, body or TestConversionIn())
    return json_response(answer, 201)


@router.post(
    "/v2/public/conversions",
    response_model=ConversionOut,
    status_code=201,
    responses={
        200: {"model": ConversionOut, "description": "Deduped (click_event)"},
        **error_responses(400, 404, 409, 413, 422, 429, 503),
    },
)
async def public_conversion(request: Request, body: ConversionIn, idempotency_key: str | None = KEY_HEADER):
    """A conversion proven by a ctx (no credential). Deduped per click and event type."""
    force_new = bool(request.scope.get(idempotency.FORCE_NEW))
    status, answer, headers = state.record_public(runtime(request), body, force_new)
    return json_response(answer, status, headers)
