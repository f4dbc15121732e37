"""`GET /v2/handles/{handle}/analytics` (JWT, CREATOR) and its PAT twin (analytics.read)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from preflight.sandbox.analytics import state
from preflight.sandbox.analytics.models import FunnelOut, GroupBy, GroupedOut
from preflight.sandbox.campaigns import state as campaigns
from preflight.sandbox.core.auth import Principal, jwt_role, pat_scope
from preflight.sandbox.core.errors import READ_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import runtime
from preflight.sandbox.links.state import parse_time

router = APIRouter(tags=["analytics"])
CAMPAIGN = Query(..., min_length=1, max_length=64, description="the campaign whose funnel to read")
FUNNEL = Query(True, description="the funnel counts (the only view the sandbox has)")
TIME = Query(None, max_length=64, description="RFC 3339")
GROUP = Query(None, description="one item per slug, day, country, device or referrer")
ANSWERS = {200: {"model": FunnelOut | GroupedOut, "description": "The funnel, or its items by groupBy"}}


def _answer(request: Request, handle: str, campaign_id: str, start: str | None, end: str | None, group: str | None):
    rt = runtime(request)
    campaign = campaigns.require(rt, handle, campaign_id)
    begin = parse_time(start, "from") if start is not None else None
    until = parse_time(end, "to") if end is not None else None
    return json_response(state.funnel(rt, campaign, begin, until, group))


@router.get("/v2/handles/{handle}/analytics", responses={**ANSWERS, **error_responses(*READ_ERRORS)})
async def analytics(
    request: Request,
    handle: str,
    campaignId: str = CAMPAIGN,
    funnel: bool = FUNNEL,
    from_: str | None = Query(None, alias="from", max_length=64, description="RFC 3339"),
    to: str | None = TIME,
    groupBy: GroupBy | None = GROUP,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    """A campaign's funnel: clicks, qualified and bot clicks, conversions, revenue, test conversions."""
    return _answer(request, handle, campaignId, from_, to, groupBy)


@router.get("/v2/public/handles/{handle}/analytics", responses={**ANSWERS, **error_responses(*READ_ERRORS)})
async def public_analytics(
    request: Request,
    handle: str,
    campaignId: str = CAMPAIGN,
    funnel: bool = FUNNEL,
    from_: str | None = Query(None, alias="from", max_length=64, description="RFC 3339"),
    to: str | None = TIME,
    groupBy: GroupBy | None = GROUP,
    _p: Principal = Depends(pat_scope("analytics.read")),
):
    """The PAT twin of GET …/analytics (scope analytics.read)."""
    return _answer(request, handle, campaignId, from_, to, groupBy)
