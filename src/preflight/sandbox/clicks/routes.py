"""The short-link redirect (`GET /_edge/redirect/{handle}/{slug}`) and ctx resolution."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from preflight.sandbox.clicks import state
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.errors import error_responses, json_response
from preflight.sandbox.core.web import runtime

router = APIRouter(tags=["clicks"])


class ContextOut(BaseModel):
    handle: str
    slug: str
    campaignId: str
    clickId: str
    clickedAt: str
    expiresAt: str


@router.get(
    "/_edge/redirect/{handle}/{slug}",
    status_code=302,
    response_class=Response,
    responses={
        302: {
            "description": "To the destination, with ctx and utm_* added",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **error_responses(404, 429, 503),
    },
)
async def redirect(request: Request, handle: str, slug: str):
    """A click on https://{handle}.10x.in/{slug}: 302 to the link's destination. A prefetch
    (`Sec-Purpose: prefetch`, as browsers send it) is answered the same way but is no click:
    nothing is recorded and no ctx is minted."""
    prefetch = "prefetch" in request.headers.get("sec-purpose", request.headers.get("purpose", "")).lower()
    url, click = state.follow(runtime(request), handle, slug, record_click=not prefetch)
    headers = {"Location": url, "Cache-Control": "no-store"}
    if click is not None:
        headers["x-click-id"] = click.click_id
    return Response(status_code=302, headers=headers)


@router.get("/v2/public/context", response_model=ContextOut, responses=error_responses(400, 429, 503))
async def resolve_context(request: Request, ctx: str = Query(..., max_length=2000)):
    """What click a ctx proves (no credential)."""
    rt = runtime(request)
    return json_response(state.describe(rt, ctx_tokens.check(rt, ctx)))
