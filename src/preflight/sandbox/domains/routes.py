"""`GET`/`POST /v2/handles/{handle}/destination-domains` and `POST …/{domain}/verify` (CREATOR)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import CURSOR, LIMIT, after_id, page, runtime
from preflight.sandbox.domains import state
from preflight.sandbox.domains.models import DomainIn, DomainList, DomainOut

router = APIRouter(tags=["destination domains"])
BASE = "/v2/handles/{handle}/destination-domains"


@router.get(BASE, response_model=DomainList, responses=error_responses(*READ_ERRORS))
async def list_domains(
    request: Request,
    handle: str,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    rows, items = state.listing(runtime(request), handle, after_id(cursor), limit)
    return json_response(page(rows, limit, items))


@router.post(BASE, response_model=DomainOut, status_code=201, responses=error_responses(*WRITE_ERRORS))
async def register_domain(
    request: Request, handle: str, body: DomainIn, _p: Principal = Depends(jwt_role("CREATOR", write=True))
):
    """Register a destination domain: listed PENDING until verified."""
    return json_response(state.register(runtime(request), handle, body.domain), 201)


@router.post(BASE + "/{domain}/verify", response_model=DomainOut, responses=error_responses(*WRITE_ERRORS))
async def verify_domain(
    request: Request, handle: str, domain: str, _p: Principal = Depends(jwt_role("CREATOR", write=True))
):
    """Verify a registered domain (the platform checks DNS; the sandbox verifies at once)."""
    return json_response(state.set_status(runtime(request), handle, domain, "VERIFIED"))
