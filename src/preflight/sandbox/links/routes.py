"""`PUT /v2/handles/{handle}/links/{slug}` and reading links back."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from preflight.sandbox.core.auth import Principal, jwt_role, pat_scope
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response, not_found
from preflight.sandbox.core.web import CURSOR, LIMIT, list_page, runtime
from preflight.sandbox.links import state
from preflight.sandbox.links.models import LinkIn, LinkList, LinkOut, RoutePreviewIn, RoutePreviewOut
from preflight.sandbox.personalization import state as routing

CAMPAIGN_FILTER = Query(None, max_length=64, description="only the links bound to this campaign")

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
    return _one(request, handle, slug)


@router.get("/v2/handles/{handle}/links", response_model=LinkList, responses=error_responses(*READ_ERRORS))
async def list_links(
    request: Request,
    handle: str,
    campaignId: str | None = CAMPAIGN_FILTER,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    return _list(request, handle, campaignId, limit, cursor)


@router.get("/v2/public/handles/{handle}/links/{slug}", response_model=LinkOut, responses=error_responses(*READ_ERRORS))
async def public_get_link(request: Request, handle: str, slug: str, _p: Principal = Depends(pat_scope("links.read"))):
    """The PAT twin of GET …/links/{slug} (scope links.read)."""
    return _one(request, handle, slug)


@router.get("/v2/public/handles/{handle}/links", response_model=LinkList, responses=error_responses(*READ_ERRORS))
async def public_list_links(
    request: Request,
    handle: str,
    campaignId: str | None = CAMPAIGN_FILTER,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(pat_scope("links.read")),
):
    """The PAT twin of GET …/links (scope links.read)."""
    return _list(request, handle, campaignId, limit, cursor)


@router.post(
    "/v2/handles/{handle}/links/{slug}/route-preview",
    response_model=RoutePreviewOut,
    responses=error_responses(*WRITE_ERRORS),
)
async def route_preview(
    request: Request,
    handle: str,
    slug: str,
    body: RoutePreviewIn,
    _p: Principal = Depends(jwt_role("CREATOR", write=True)),
):
    """Where a visitor with these traits would go, and which rule sends them (a POST: it counts as a write)."""
    rt = runtime(request)
    row = state.get(rt, handle, slug)
    if row is None:
        raise not_found(f"link {slug}")
    tags = state.tracking(rt, row)
    visitor = routing.Traits(
        country=body.country,
        device=body.device,
        source=body.source or tags.get("utmSource"),
        campaign=body.campaign or tags.get("utmCampaign"),
    )
    chosen = routing.route(rt, row, visitor)
    return json_response(
        {"destinationUrl": chosen.destination_url, "matched": {"kind": chosen.kind, "ruleId": chosen.rule_id}}
    )


def _one(request: Request, handle: str, slug: str):
    rt = runtime(request)
    row = state.get(rt, handle, slug)
    if row is None:
        raise not_found(f"link {slug}")
    return json_response(state.view(rt, row))


def _list(request: Request, handle: str, campaign_id: str | None, limit: int, cursor: str | None):
    rt = runtime(request)
    return json_response(
        list_page(rt, cursor, limit, lambda after, size: state.listing(rt, handle, after, size, campaign_id))
    )
