"""The sandbox-only control routes under /__sandbox/ (loopback, no credential)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from preflight.sandbox import faults as fault_catalogue
from preflight.sandbox.control import live, state
from preflight.sandbox.core import auth, quota
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import error_responses, json_response, validation_error
from preflight.sandbox.core.web import StrictIn, runtime
from preflight.sandbox.leads import state as leads

router = APIRouter(prefix="/__sandbox", tags=["sandbox control"])
BAD = error_responses(400)
Plan = Literal["FREE", "PRO", "ENTERPRISE"]
Role = Literal["CREATOR", "OPERATOR", "OWNER"]


class TokenIn(StrictIn):
    kind: Literal["jwt", "pat"]
    handle: str | None = Field(None, min_length=1, max_length=100)
    role: Role | None = None
    roles: dict[str, Role] | None = Field(None, description="jwt: several handles at once")
    sub: str | None = Field(None, min_length=1, max_length=200)
    ttlSeconds: int | None = Field(None, ge=1, le=10 * 365 * 86400)
    scopes: list[str] | None = Field(None, max_length=20)


class TokenOut(BaseModel):
    token: str
    kind: Literal["jwt", "pat"]
    tokenId: str | None = None
    expiresAt: str | None = None


class PlanIn(StrictIn):
    plan: Plan


class HandleOut(BaseModel):
    handle: str
    plan: Plan


class CtxIn(StrictIn):
    handle: str = Field(min_length=1, max_length=100)
    slug: str = Field(min_length=1, max_length=100)
    ageSeconds: float = Field(0, ge=0, le=10 * 365 * 86400)


class CtxOut(BaseModel):
    ctx: str
    clickId: str
    campaignId: str
    expiresAt: str


class ClockIn(StrictIn):
    advanceSeconds: float = Field(ge=0, le=10 * 365 * 86400)


class ClockOut(BaseModel):
    now: str


class ThrottleClockIn(StrictIn):
    stopped: bool | None = None
    advanceSeconds: float = Field(default=0, ge=0, le=86400)


class ThrottleClockOut(BaseModel):
    stopped: bool
    seconds: float


class FaultsIn(StrictIn):
    faults: dict[str, Any]


class FaultInfo(BaseModel):
    name: str
    description: str


class FaultsOut(BaseModel):
    available: list[FaultInfo]
    active: dict[str, dict[str, Any]]


class DomainStatusIn(StrictIn):
    status: Literal["VERIFIED", "PENDING", "REJECTED"]


class InfoOut(BaseModel):
    now: str
    ctxTtlSeconds: int
    analyticsLagSeconds: int
    defaultPlan: Plan
    throttles: dict[str, int]
    throttleWindows: dict[str, int]  # seconds: 60 for a per-minute throttle, 1 for per second


class StatsOut(BaseModel):
    campaigns: int
    links: int
    clicks: int
    leads: int
    testConversions: int
    conversions: int
    deployments: int
    supportReports: int
    personalizationRules: int
    destinationDomains: int


class LoggedRequest(BaseModel):
    method: str
    path: str
    status: int
    requestId: str
    at: str
    faults: list[str] = []  # the faults that hit it


class RequestLog(BaseModel):
    items: list[LoggedRequest]


@router.post("/tokens", response_model=TokenOut, status_code=201, responses=BAD)
async def mint_token(request: Request, body: TokenIn):
    rt = runtime(request)
    if body.kind == "pat":
        if body.handle is None:
            raise validation_error("handle", "a PAT is bound to one handle")
        if not body.scopes or not all(isinstance(s, str) and 0 < len(s) <= 64 for s in body.scopes):
            raise validation_error("scopes", "give one or more scopes, e.g. analytics.read")
        quota.plan_of(rt, body.handle)
        token_id, token = auth.mint_pat(rt, body.handle, body.scopes)
        return json_response({"token": token, "kind": "pat", "tokenId": token_id}, 201)
    roles = dict(body.roles or {})
    if body.handle is not None:
        if body.role is None:
            raise validation_error("role", "give the role on the handle")
        roles[body.handle] = body.role
    if not roles:
        raise validation_error("handle", "give handle and role (or roles)")
    for handle in roles:
        quota.plan_of(rt, handle)
    ttl = body.ttlSeconds or 3600
    sub = body.sub or "user-" + next(iter(roles))
    token = auth.mint_jwt(rt, sub, roles, ttl)
    expires = rfc3339(int(rt.clock.now()) + ttl)
    return json_response({"token": token, "kind": "jwt", "expiresAt": expires}, 201)


@router.put("/handles/{handle}", response_model=HandleOut, responses=BAD)
async def set_plan(request: Request, handle: str, body: PlanIn):
    quota.set_plan(runtime(request), handle, body.plan)
    return json_response({"handle": handle, "plan": body.plan})


@router.post("/ctx", response_model=CtxOut, status_code=201, responses=error_responses(400, 404))
async def mint_ctx(request: Request, body: CtxIn):
    """A signed ctx for a click `ageSeconds` ago: a stale ctx without moving the clock."""
    return json_response(state.forge_click(runtime(request), body.handle, body.slug, body.ageSeconds), 201)


@router.post("/clock", response_model=ClockOut, responses=BAD)
async def advance_clock(request: Request, body: ClockIn):
    """Move the sandbox clock for every caller (ctx tokens, JWTs, the quota day)."""
    return json_response({"now": rfc3339(runtime(request).advance_clock(body.advanceSeconds))})


@router.post("/throttle-clock", response_model=ThrottleClockOut, responses=BAD)
async def throttle_clock(request: Request, body: ThrottleClockIn):
    """Stop, restart or move on the throttles' own time (real time otherwise), for exact windows in a test."""
    limiter = runtime(request).limiter
    seconds = limiter.set_clock(body.stopped, body.advanceSeconds)
    return json_response({"stopped": limiter.stopped_at is not None, "seconds": seconds})


@router.get("/faults", response_model=FaultsOut)
async def get_faults(request: Request):
    return json_response(runtime(request).faults.listing())


@router.put("/faults", response_model=FaultsOut, responses=BAD)
async def put_faults(request: Request, body: FaultsIn):
    """Replace the active faults; `{"faults": {}}` clears them."""
    rt = runtime(request)
    rt.faults.replace(fault_catalogue.validate(body.faults))
    return json_response(rt.faults.listing())


@router.post("/reset", status_code=204, response_class=Response)
async def reset(request: Request):
    """All data and faults cleared (signing keys are kept)."""
    runtime(request).reset()
    return Response(status_code=204)


@router.get("/info", response_model=InfoOut)
async def info(request: Request):
    return json_response(state.info(runtime(request)))


@router.get("/stats", response_model=StatsOut)
async def stats(request: Request):
    return json_response(state.stats(runtime(request)))


@router.get("/requests", response_model=RequestLog, responses=BAD)
async def requests(request: Request, limit: int = Query(1000, ge=1, le=10000)):
    """Requests the sandbox answered, oldest first (the last `limit` of them)."""
    return json_response({"items": state.request_log(runtime(request), limit)})


@router.post("/live-campaigns", response_model=live.LiveOut, responses=error_responses(400, 409))
async def live_campaigns(request: Request, body: live.LiveIn):
    """The campaigns an audit reads, each set up healthy (ACTIVE, its links enabled and tagged, its page
    published, hours of traffic): written into the sandbox directly, not through the API. One that
    exists already is kept as it is."""
    return json_response(live.seed(runtime(request), body, str(request.base_url)))


@router.put("/destination-domains/{handle}/{domain}", responses=error_responses(400, 404))
async def domain_status(request: Request, handle: str, domain: str, body: DomainStatusIn):
    """Set a listed destination domain's status (REJECTED has no API of its own)."""
    from preflight.sandbox.domains import state as domains

    return json_response(domains.set_status(runtime(request), handle, domain, body.status))


@router.post("/leads/{leadId}/verify", responses=error_responses(404))
async def verify_lead(request: Request, leadId: str):
    """Mark a PENDING_VERIFICATION lead verified, as the email step would."""
    lead = leads.verify(runtime(request), leadId)
    if lead is None:
        from preflight.sandbox.core.errors import not_found

        raise not_found(f"lead {leadId}")
    return json_response(lead)
