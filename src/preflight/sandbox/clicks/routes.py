"""The short-link redirect (`GET /_edge/redirect/{handle}/{slug}`) and ctx resolution."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import HTMLResponse, Response

from preflight.sandbox.clicks import state
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.errors import ErrorBody, error_responses, json_response
from preflight.sandbox.core.web import runtime

router = APIRouter(tags=["clicks"])


class ContextOut(BaseModel):
    handle: str
    slug: str
    campaignId: str
    clickId: str
    clickedAt: str
    expiresAt: str


HTML = {"text/html": {"schema": {"type": "string"}}}


@router.get(
    "/_edge/redirect/{handle}/{slug}",
    status_code=302,
    response_class=Response,
    responses={
        302: {
            "description": "To the destination, with ctx and utm_* added",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        307: {
            "description": "The same, for a link whose redirectType is 307",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        200: {"description": "A bridge page (trackingPolicy.mode BRIDGE) or a password page", "content": HTML},
        403: {"description": "destination_unverified: the destination's domain is not VERIFIED", "content": HTML},
        410: {"model": ErrorBody, "description": "link_expired or link_exhausted"},
        **error_responses(404, 429, 503),
    },
)
async def redirect(request: Request, handle: str, slug: str):
    """A click on https://{handle}.10x.in/{slug}: 302 (or 307) to the link's destination, or a
    bridge page. A prefetch (`Sec-Purpose: prefetch`, as browsers send it) is answered the same
    way but is no click: nothing is recorded and no ctx is minted."""
    headers = request.headers
    query = request.query_params
    visit = state.ClickVisit(
        country=headers.get("cloudfront-viewer-country"),
        user_agent=headers.get("user-agent", ""),
        referrer=headers.get("referer"),
        source=query.get("utm_source"),
        campaign=query.get("utm_campaign"),
        prefetch="prefetch" in headers.get("sec-purpose", headers.get("purpose", "")).lower(),
    )
    got = state.answer(runtime(request), handle, slug, visit)
    if got.page is not None:
        return HTMLResponse(got.page, status_code=got.status, headers=got.headers)
    return Response(status_code=got.status, headers=got.headers)


@router.get("/v2/public/context", response_model=ContextOut, responses=error_responses(400, 429, 503))
async def resolve_context(request: Request, ctx: str = Query(..., max_length=2000)):
    """What click a ctx proves (no credential)."""
    rt = runtime(request)
    return json_response(state.describe(rt, ctx_tokens.check(rt, ctx)))
