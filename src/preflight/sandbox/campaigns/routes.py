"""Campaign routes (JWT, CREATOR)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from preflight.sandbox.campaigns import state
from preflight.sandbox.campaigns.models import CampaignIn, CampaignList, CampaignOut, CampaignPatch, Status
from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import CURSOR, LIMIT, list_page, runtime

router = APIRouter(tags=["campaigns"])
BASE = "/v2/handles/{handle}/campaigns"


@router.post(BASE, response_model=CampaignOut, status_code=201, responses=error_responses(*WRITE_ERRORS))
async def create_campaign(
    request: Request, handle: str, body: CampaignIn, _p: Principal = Depends(jwt_role("CREATOR", write=True))
):
    return json_response(state.create(runtime(request), handle, body), 201)


@router.get(BASE, response_model=CampaignList, responses=error_responses(*READ_ERRORS))
async def list_campaigns(
    request: Request,
    handle: str,
    status: Status | None = Query(None),
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    rt = runtime(request)
    return json_response(
        list_page(rt, cursor, limit, lambda after, size: state.listing(rt, handle, status, after, size))
    )


@router.get(BASE + "/{campaignId}", response_model=CampaignOut, responses=error_responses(*READ_ERRORS))
async def get_campaign(request: Request, handle: str, campaignId: str, _p: Principal = Depends(jwt_role("CREATOR"))):
    rt = runtime(request)
    return json_response(state.view(rt, state.require(rt, handle, campaignId)))


@router.patch(BASE + "/{campaignId}", response_model=CampaignOut, responses=error_responses(*WRITE_ERRORS))
async def patch_campaign(
    request: Request,
    handle: str,
    campaignId: str,
    body: CampaignPatch,
    _p: Principal = Depends(jwt_role("CREATOR", write=True)),
):
    """Change a campaign's status (DRAFT, ACTIVE, PAUSED) or name."""
    return json_response(state.patch(runtime(request), handle, campaignId, body))
