"""`GET /v2/handles/{handle}/usage-meters`: the plan and today's writes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from preflight.sandbox.core.auth import Principal, jwt_role
from preflight.sandbox.core.errors import READ_ERRORS, error_responses, json_response
from preflight.sandbox.core.web import runtime
from preflight.sandbox.usage import state

router = APIRouter(tags=["usage"])


class UsageOut(BaseModel):
    plan: Literal["FREE", "PRO", "ENTERPRISE"]
    writesPerDay: int
    writesToday: int
    resetsAt: str


@router.get("/v2/handles/{handle}/usage-meters", response_model=UsageOut, responses=error_responses(*READ_ERRORS))
async def usage_meters(request: Request, handle: str, _p: Principal = Depends(jwt_role("CREATOR"))):
    return json_response(state.meters(runtime(request), handle))
