"""Campaign health: JWT (CREATOR) and PAT (analytics.read) routes, one verdict."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from preflight.sandbox.campaigns import state as campaigns
from preflight.sandbox.core.auth import Principal, jwt_role, pat_scope
from preflight.sandbox.core.errors import READ_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import runtime
from preflight.sandbox.health import state

router = APIRouter(tags=["health"])
CheckStatus = Literal["PASS", "WARN", "FAIL", "PENDING"]


class Check(BaseModel):
    id: Literal["primary_link", "traffic_tags", "click_seen", "conversion_signal", "detail_page"]
    status: CheckStatus
    detail: str


class HealthOut(BaseModel):
    campaignId: str
    status: CheckStatus
    score: int
    evaluatedAt: str
    checks: list[Check]


@router.get(
    "/v2/handles/{handle}/campaigns/{campaignId}/health",
    response_model=HealthOut,
    responses=error_responses(*READ_ERRORS),
)
async def campaign_health(request: Request, handle: str, campaignId: str, _p: Principal = Depends(jwt_role("CREATOR"))):
    rt = runtime(request)
    return json_response(state.evaluate(rt, campaigns.require(rt, handle, campaignId)))


@router.get(
    "/v2/public/handles/{handle}/campaigns/{campaignId}/health",
    response_model=HealthOut,
    responses=error_responses(*READ_ERRORS),
)
async def public_campaign_health(
    request: Request, handle: str, campaignId: str, _p: Principal = Depends(pat_scope("analytics.read"))
):
    rt = runtime(request)
    campaign = campaigns.require(rt, handle, campaignId)
    return json_response(state.evaluate(rt, campaign, via_pat=True))
