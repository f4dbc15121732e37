"""`GET /v2/handles/{handle}/personalization-rules` and `PUT …/personalization-rules/{ruleId}` (CREATOR)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, WRITE_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import CURSOR, LIMIT, after_id, page, runtime
from preflight.sandbox.personalization import state
from preflight.sandbox.personalization.models import RuleIn, RuleList, RuleOut

router = APIRouter(tags=["personalization"])
BASE = "/v2/handles/{handle}/personalization-rules"


@router.get(BASE, response_model=RuleList, responses=error_responses(*READ_ERRORS))
async def list_rules(
    request: Request,
    handle: str,
    limit: int = LIMIT,
    cursor: str | None = CURSOR,
    _p: Principal = Depends(jwt_role("CREATOR")),
):
    rows, items = state.listing(runtime(request), handle, after_id(cursor), limit)
    return json_response(page(rows, limit, items))


@router.put(
    BASE + "/{ruleId}",
    response_model=RuleOut,
    status_code=201,
    responses={200: {"model": RuleOut, "description": "Replaced"}, **error_responses(*WRITE_ERRORS)},
)
async def put_rule(
    request: Request,
    handle: str,
    ruleId: str,
    body: RuleIn,
    _p: Principal = Depends(jwt_role("CREATOR", write=True)),
):
    """Create (201) or replace (200) a personalization rule; `slugs: null` applies it to every link."""
    rule, created = state.put(runtime(request), handle, ruleId, body)
    return json_response(rule, 201 if created else 200)
