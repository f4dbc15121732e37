"""PAT management for OPERATORs (sandbox extension): list, create, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import StrictIn, runtime
from preflight.sandbox.pats import state

router = APIRouter(tags=["pats"])
BASE = "/v2/handles/{handle}/pats"


class PatIn(StrictIn):
    scopes: list[str] = Field(min_length=1, max_length=20)
    name: str | None = Field(None, max_length=200)


class PatOut(BaseModel):
    tokenId: str
    handle: str
    name: str | None
    scopes: list[str]
    createdAt: str
    revoked: bool


class NewPatOut(PatOut):
    token: str


class PatList(BaseModel):
    items: list[PatOut]
    nextCursor: str | None


@router.get(BASE, response_model=PatList, responses=error_responses(*READ_ERRORS))
async def list_pats(request: Request, handle: str, _p: Principal = Depends(jwt_role("OPERATOR"))):
    return json_response({"items": state.listing(runtime(request), handle), "nextCursor": None})


@router.post(BASE, response_model=NewPatOut, status_code=201, responses=error_responses(*WRITE_ERRORS))
async def create_pat(
    request: Request, handle: str, body: PatIn, _p: Principal = Depends(jwt_role("OPERATOR", write=True))
):
    return json_response(state.create(runtime(request), handle, body.scopes, body.name), 201)


@router.delete(BASE + "/{tokenId}", status_code=204, response_class=Response, responses=error_responses(*WRITE_ERRORS))
async def revoke_pat(
    request: Request, handle: str, tokenId: str, _p: Principal = Depends(jwt_role("OPERATOR", write=True))
):
    state.revoke(runtime(request), handle, tokenId)
    return Response(status_code=204)
