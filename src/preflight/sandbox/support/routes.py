"""`POST /v2/support/report` (JWT or PAT) and the operator route the sandbox refuses."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from preflight.sandbox.core.auth import Principal, any_credential
from preflight.sandbox.core.errors import ApiError, error_responses, json_response
from preflight.sandbox.core.web import StrictIn, runtime
from preflight.sandbox.support import state

router = APIRouter(tags=["support"])


class SupportReportIn(StrictIn):
    summary: str = Field(min_length=1, max_length=200)
    details: str = Field(min_length=1, max_length=100000)
    handle: str | None = Field(None, max_length=200)
    sessionId: str | None = Field(None, max_length=200)
    requestId: str | None = Field(None, max_length=200)
    runId: str | None = Field(None, max_length=200)
    environment: str | None = Field(None, max_length=200)
    role: str | None = Field(None, max_length=200)
    reproArtifact: Any = None


class TicketOut(BaseModel):
    ticketId: str
    status: Literal["RECEIVED"]


@router.post(
    "/v2/support/report",
    response_model=TicketOut,
    status_code=202,
    responses=error_responses(400, 401, 409, 413, 422, 429, 503),
)
async def support_report(request: Request, body: SupportReportIn, principal: Principal = Depends(any_credential)):
    """End-user escalation with request ids and repro artifacts (not counted in the quota)."""
    report = body.model_dump(exclude={"idempotencyKey"}, exclude_none=True)
    return json_response(state.file_report(runtime(request), principal, report), 202)


@router.post("/v2/operator/escalations", status_code=403, responses=error_responses(403))
async def operator_escalations():
    """An internal operator workflow: never for end users, always 403 here."""
    raise ApiError(403, "forbidden", "operator escalations are an internal workflow: use POST /v2/support/report")
