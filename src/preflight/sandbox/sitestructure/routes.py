"""Site structure routes: the JWT (CREATOR) surface and its PAT twins under /v2/public."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Request

from preflight.sandbox.core.auth import Principal, jwt_role, pat_scope
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import runtime
from preflight.sandbox.sitestructure import state
from preflight.sandbox.sitestructure.models import (
    PublishedPage,
    PublishIn,
    PublishOut,
    SiteStructureIn,
    SiteStructureOut,
)

router = APIRouter(tags=["site-structure"])
PATH = "/v2/handles/{handle}/site-structure/campaigns/{campaignId}"
PUBLIC_PATH = "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}"


@router.get(PATH, response_model=SiteStructureOut, responses=error_responses(*READ_ERRORS))
async def get_site_structure(
    request: Request, handle: str, campaignId: str, _p: Principal = Depends(jwt_role("CREATOR"))
):
    return json_response(state.view(runtime(request), handle, campaignId))


@router.put(PATH, response_model=SiteStructureOut, responses=error_responses(*WRITE_ERRORS))
async def put_site_structure(
    request: Request,
    handle: str,
    campaignId: str,
    body: SiteStructureIn,
    _p: Principal = Depends(jwt_role("CREATOR", write=True)),
):
    """Save the draft; schemaVersion must be the current one, the answer carries it + 1."""
    return json_response(state.save_draft(runtime(request), handle, campaignId, body))


@router.post(PATH + "/publish", response_model=PublishOut, status_code=201, responses=error_responses(*WRITE_ERRORS))
async def publish_site_structure(
    request: Request,
    handle: str,
    campaignId: str,
    body: PublishIn | None = Body(None),
    _p: Principal = Depends(jwt_role("CREATOR", write=True)),
):
    return json_response(state.publish(runtime(request), handle, campaignId, str(request.base_url)), 201)


@router.get(PUBLIC_PATH, response_model=PublishedPage, responses=error_responses(*READ_ERRORS))
async def public_get_site_structure(
    request: Request, handle: str, campaignId: str, _p: Principal = Depends(pat_scope("pages.read"))
):
    """The published page (the schema fetch). Never published: 404 not_found."""
    return json_response(state.published_page(runtime(request), handle, campaignId))


@router.put(PUBLIC_PATH, response_model=SiteStructureOut, responses=error_responses(*WRITE_ERRORS))
async def public_put_site_structure(
    request: Request,
    handle: str,
    campaignId: str,
    body: SiteStructureIn,
    _p: Principal = Depends(pat_scope("pages.write")),
):
    """The PAT twin of the draft PUT (not counted in the daily quota)."""
    return json_response(state.save_draft(runtime(request), handle, campaignId, body))


@router.post(
    PUBLIC_PATH + "/publish", response_model=PublishOut, status_code=201, responses=error_responses(*WRITE_ERRORS)
)
async def public_publish_site_structure(
    request: Request,
    handle: str,
    campaignId: str,
    body: PublishIn | None = Body(None),
    _p: Principal = Depends(pat_scope("pages.write")),
):
    return json_response(state.publish(runtime(request), handle, campaignId, str(request.base_url)), 201)
