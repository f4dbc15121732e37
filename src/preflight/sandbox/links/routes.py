"""`PUT /v2/handles/{handle}/links/{slug}` and reading links back."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response, not_found
from preflight.sandbox.core.web import CURSOR, LIMIT, list_page, runtime
from preflight.sandbox.links import state
from preflight.sandbox.links.models import LinkIn, LinkList, LinkOut

router = APIRouter(tags=["links"])


@router.put(
    "/v2/handles/{handle}/links/{slug}",
    response_model=LinkOut,
    status_code=201,
    responses={200: {"model": LinkOut, "description": "Replaced"}, **error_responses(*WRITE_ERRORS)},
)
async def put_link(
    request: Request, handle: str, slug: str, body: LinkIn, _p: Principal = Depends(jwt_role("CREATOR", write=True))
):
    """Create (201) or replace (200) a link; with `campaignId` it becomes a variant."""
    link, created = state.put(runtime(request), handle, slug, body)
    return json_response(link, 201 if created else 200)


@router.get("/v2/handles/{handle}/links/{slug}", response_model=LinkOut, responses=error_responses(*READ_ERRORS))
async def get_link(request: Request, handle: str, slug: str, _p: Principal = Depends(jwt_role("CREATOR"))):
    rt = runtime(request)
    row = state.get(rt, handle, slug)
    if row is None:
        raise not_found(f"link {slug}")
    return json_response(state.view(rt, row))


@router.get("/v2/handles/{handle}/links", response_model=LinkList, responses=error_responses(*READ_ERRORS))
async def list_links(
    request: Request,
    handle: str,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    rt = runtime(request)
    return json_response(list_page(rt, cursor, limit, lambda after, size: state.listing(rt, handle, after, size)))
