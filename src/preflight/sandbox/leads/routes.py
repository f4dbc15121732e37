"""Public lead capture, and the creator's list and CSV export."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import CURSOR, LIMIT, list_page, runtime
from preflight.sandbox.leads import state
from preflight.sandbox.leads.models import HoneypotOut, LeadIn, LeadList, LeadOut

router = APIRouter(tags=["leads"])
CAMPAIGN_FILTER = Query(None, max_length=64)


@router.post(
    "/v2/public/handles/{handle}/leads",
    response_model=LeadOut,
    status_code=201,
    responses={
        200: {"model": LeadOut, "description": "Same email again (deduped)"},
        202: {"model": HoneypotOut, "description": "Honeypot filled: not stored"},
        **error_responses(400, 404, 409, 413, 422, 429, 503),
    },
)
async def capture_lead(request: Request, handle: str, body: LeadIn):
    """Capture a lead of a LEAD_CAPTURE campaign (no credential; the ctx proves the click)."""
    status, answer = state.capture(runtime(request), handle, body)
    return json_response(answer, status)


@router.get("/v2/handles/{handle}/leads", response_model=LeadList, responses=error_responses(*READ_ERRORS))
async def list_leads(
    request: Request,
    handle: str,
    campaignId: str | None = CAMPAIGN_FILTER,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    rt = runtime(request)
    return json_response(
        list_page(rt, cursor, limit, lambda after, size: state.listing(rt, handle, campaignId, after, size))
    )


@router.get(
    "/v2/handles/{handle}/leads/export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "leadId,campaignId,slug,email,name,status,createdAt",
        },
        **error_responses(*READ_ERRORS),
    },
)
async def export_leads(
    request: Request,
    handle: str,
    campaignId: str | None = CAMPAIGN_FILTER,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    text = state.export_csv(runtime(request), handle, campaignId)
    return Response(
        text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": 'attachment; filename="leads.csv"'}
    )
