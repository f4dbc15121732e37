"""Before the first write: is the target the campaign API, and do our tokens work on it?

Each check is a row, PASS / FAIL / UNKNOWN, with what was seen and the fix. A FAIL means
the run cannot succeed for a reason on the user's side (a wrong base URL, an expired or
wrong token, a missing scope): the run stops with verdict ERROR before any write, and
nothing is escalated. The checks are reads, and at most one refused no-op (see
`probe_write_scope`), so they can run as often as wanted, against any target.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt as pyjwt

from preflight.core.categories import Category
from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.http.listing import items

PASS, FAIL, UNKNOWN = "PASS", "FAIL", "UNKNOWN"
ROLE_RANK = {"CREATOR": 1, "OPERATOR": 2, "OWNER": 3}
RUN_ROLE = "CREATOR"  # every control-plane route the run uses needs CREATOR
# A campaign id no run ever creates: a scope probe on it finds nothing, after the credential passed.
PROBE_CAMPAIGN = "pf-readiness-probe"
# What a PAT scope is proven with: the cheapest read that needs it.
SCOPE_READS = {"analytics.read": "public_campaign_health", "pages.read": "public_get_site_structure"}
SCOPE_WRITES = {"pages.write": "public_publish_site_structure"}
# Every PAT scope a run may need: health (and an audit's), the schema fetch, the publish through the PAT.
PAT_SCOPES = ("analytics.read", "pages.read", "pages.write")


@dataclass
class Row:
    item: str
    status: str
    detail: str
    fix: str = ""
    category: Category = Category.CONFIG  # what a FAIL is: config, auth, quota, …

    def line(self) -> str:
        text = f"{self.item}: {self.detail}"
        return f"{text}; {self.fix}" if self.fix else text


def failed(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row.status == FAIL]


def scopes_needed(*, audit: bool, publish_via: str) -> list[str]:
    """The PAT scopes a run needs: health, the schema fetch, and the publish when it goes through the
    PAT; an audit reads PAT health alone."""
    if audit:
        return ["analytics.read"]
    return [s for s in PAT_SCOPES if s != "pages.write" or publish_via == "pat"]


def check(
    client: PlatformClient,
    *,
    jwt_token: str | None,
    pat_token: str | None,
    handle: str,
    role: str,
    where: str,
    scopes: list[str],
) -> list[Row]:
    """The read-only checks before anything else, in order (a run, an audit and the doctor alike): the
    base URL speaks the campaign API, the JWT works on the handle, the PAT holds each scope."""
    rows = [base_url(client, where)]
    if rows[0].status == FAIL:
        return rows
    rows += jwt(client, jwt_token, handle=handle, role=role, where=where)
    campaign = existing_campaign(client) if not failed(rows) else None
    return rows + pat(client, pat_token, scopes=scopes, where=where, campaign=campaign)


# -- the base URL -------------------------------------------------------------------------------


def base_url(client: PlatformClient, where: str) -> Row:
    """`GET /v2/system/health` answers the contract's JSON: not HTML, not a 404, not silence."""
    ex = client.call("system_health", step="readiness")
    item = f"base URL {client.base_url}"
    fix = (
        f"set base_url in {where} to the campaign API (e.g. https://ai.10x.in), not the dashboard or a short-link host"
    )
    if ex.status is None:
        return Row(item, FAIL, f"does not answer ({ex.error})", f"check the network and base_url in {where}")
    kind = ex.response_headers.get("content-type", "no content type").split(";")[0]
    body = ex.response_body
    if ex.status == 200 and isinstance(body, dict) and body.get("status") == "ok":
        return Row(item, PASS, "speaks the campaign API (GET /v2/system/health -> status ok)")
    if ex.status == 429 or ex.status >= 500:
        return Row(
            item,
            FAIL,
            f"answers GET /v2/system/health with {ex.status} after {ex.attempts} attempt(s)",
            "the platform is unavailable: re-run later; nothing was written",
            Category.PLATFORM_ERROR,
        )
    excerpt = " ".join(ex.body_excerpt(80).split())
    return Row(
        item,
        FAIL,
        f"is not the campaign API: GET /v2/system/health answered {ex.status} {kind}"
        + (f" ({excerpt})" if not isinstance(body, dict) and body else ""),
        fix,
    )


# -- the JWT --------------------------------------------------------------------------------------


@dataclass
class JwtFacts:
    """What the token says about itself (read locally, never verified, never printed)."""

    expires_at: float | None
    roles: dict[str, str] | None  # handle -> role, when the token carries them
    subject: str | None

    def role_on(self, handle: str) -> str | None:
        return (self.roles or {}).get(handle)

    def describe(self, handle: str, now: float) -> str:
        role = self.role_on(handle)
        parts = [
            f"role {role} on {handle}"
            if role
            else f"no role on {handle} in its claims"
            if self.roles is not None
            else "roles not readable from its claims"
        ]
        if self.expires_at is not None:
            parts.append(f"expires {_when(self.expires_at)} ({_left(self.expires_at - now)})")
        return ", ".join(parts)


def jwt_facts(token: str) -> JwtFacts | None:
    try:
        claims = pyjwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except pyjwt.PyJWTError:
        return None
    exp = claims.get("exp")
    roles = claims.get("roles")
    return JwtFacts(
        expires_at=float(exp) if isinstance(exp, (int, float)) else None,
        roles={str(k): str(v) for k, v in roles.items()} if isinstance(roles, dict) else None,
        subject=claims.get("sub") if isinstance(claims.get("sub"), str) else None,
    )


def jwt(
    client: PlatformClient,
    token: str | None,
    *,
    handle: str,
    role: str,
    where: str,
    now: Callable[[], float] = time.time,
) -> list[Row]:
    if not token:
        return [Row("JWT", FAIL, "no JWT", f"export PREFLIGHT_JWT (see {where})", Category.AUTH)]
    facts = jwt_facts(token)
    rows = [_jwt_local(facts, handle=handle, role=role, where=where, now=now())]
    if rows[0].status != FAIL:
        rows.append(_jwt_accepted(client, handle))
    return rows


def _jwt_local(facts: JwtFacts | None, *, handle: str, role: str, where: str, now: float) -> Row:
    mint = "mint a new JWT and export PREFLIGHT_JWT"
    if facts is None:
        return Row("JWT", FAIL, "is not a readable JWT (three base64url parts)", mint, Category.AUTH)
    if facts.expires_at is not None and facts.expires_at <= now:
        return Row(
            "JWT", FAIL, f"expired {_when(facts.expires_at)} ({_left(facts.expires_at - now)})", mint, Category.AUTH
        )
    held = facts.role_on(handle)
    if facts.roles is not None and held is None:
        return Row(
            "JWT",
            FAIL,
            f"carries no role on handle {handle} (roles on {', '.join(sorted(facts.roles)) or 'none'})",
            f"use a JWT of a user with a role on {handle}, or set handle in {where}",
            Category.AUTH,
        )
    if held and ROLE_RANK.get(held, 0) < ROLE_RANK[RUN_ROLE]:
        return Row(
            "JWT",
            FAIL,
            f"carries role {held} on {handle}; the run needs {RUN_ROLE}",
            f"use a JWT with role {RUN_ROLE} or above",
            Category.AUTH,
        )
    if held and ROLE_RANK.get(held, 0) < ROLE_RANK.get(role, 0):
        return Row(
            "JWT",
            FAIL,
            f"carries role {held} on {handle}, but {where} says role: {role}",
            f"set role: {held} in {where}, or use a JWT with role {role}",
            Category.CONFIG,
        )
    return Row("JWT", PASS, facts.describe(handle, now))


def _jwt_accepted(client: PlatformClient, handle: str) -> Row:
    """One read on the handle: the platform, not the claims, decides."""
    ex = client.call("list_campaigns", step="readiness", params={"limit": 1})
    if ex.status == 200:
        return Row(
            f"JWT on handle {handle}", PASS, f"accepted (GET campaigns -> 200, request {ex.request_id or 'n/a'})"
        )
    return _refused(f"JWT on handle {handle}", ex, "JWT")


# -- the PAT --------------------------------------------------------------------------------------


def existing_campaign(client: PlatformClient) -> str | None:
    """A campaign the handle has (the first one listed), so a scope is proven on something real."""
    for item in items(client, "list_campaigns", step="readiness", limit=20, most=5):
        if isinstance(item, dict) and isinstance(item.get("campaignId"), str):
            return item["campaignId"]
    return None


def pat(
    client: PlatformClient, token: str | None, *, scopes: list[str], where: str, campaign: str | None = None
) -> list[Row]:
    """A row per scope the run needs, by reads only. A read scope is proven on `campaign` (one the
    handle has) when there is one; else on a campaign that does not exist, where a 404 proves only
    that the scope was not refused: (gap) the platform may look for the campaign before the scope.
    No read proves a write scope: it stays UNKNOWN here (`write_scope` proves it after the opt-in)."""
    if not token:
        return [Row("PAT", FAIL, "no PAT", f"export PREFLIGHT_PAT (see {where})", Category.AUTH)]
    rows = []
    for scope in scopes:
        if scope in SCOPE_READS:
            rows.append(_scope_row(client, scope, SCOPE_READS[scope], campaign))
        else:
            rows.append(
                Row(
                    f"PAT scope {scope}",
                    UNKNOWN,
                    "no read proves a write scope; the run tries it once writes are allowed, before its first test",
                    "give the PAT this scope if unsure",
                )
            )
        if rows[-1].status == FAIL and rows[-1].detail.startswith("refused (401"):
            break  # the token itself is refused: every other scope would say the same
    return rows


def _scope_row(client: PlatformClient, scope: str, route: str, campaign: str | None) -> Row:
    ex = client.call(route, step="readiness", campaignId=campaign or PROBE_CAMPAIGN)
    item = f"PAT scope {scope}"
    seen = f"{ex.method} {ex.path} -> {ex.status}, request {ex.request_id or 'n/a'}"
    if ex.status == 200:
        return Row(item, PASS, f"accepted ({seen})")
    if ex.status == 404:
        what = f"campaign {campaign}" if campaign else "a campaign that does not exist"
        return Row(
            item,
            UNKNOWN,
            f"not refused ({seen}, for {what}): the platform may look for the campaign before the scope",
            "the run's first read with this scope will tell",
        )
    return _refused(item, ex, "PAT", scope=scope)


def write_scope(client: PlatformClient, scope: str, *, run_id: str) -> Row:
    """After the user allowed writes: the publish of a campaign that does not exist, which writes
    nothing (and counts in no quota: a /v2/public/ route). A 401/403 is the scope refused; a 404
    is not a refusal, nor a proof ((gap): the platform may look for the campaign first)."""
    route = SCOPE_WRITES[scope]
    ex = client.call(route, step="readiness", campaignId=PROBE_CAMPAIGN, json_body={}, key=f"pf-scope-{run_id}")
    item = f"PAT scope {scope}"
    seen = f"{ex.method} {ex.path} -> {ex.status}, request {ex.request_id or 'n/a'}"
    if ex.status in (401, 403) or ex.status is None or ex.status >= 500 or ex.status == 429:
        return _refused(item, ex, "PAT", scope=scope)
    return Row(item, UNKNOWN, f"not refused ({seen}, a publish of a campaign that does not exist)")


# -- shared ---------------------------------------------------------------------------------------

NEXT_BY_CODE = {
    "token_expired": "mint a new token and export it again",
    "invalid_token": "the token is not recognised (mistyped, revoked, for another environment, or a PAT "
    "where a JWT goes): export the right one",
    "missing_bearer_token": "export the token (PREFLIGHT_JWT / PREFLIGHT_PAT)",
    "forbidden": "the token has no access to this handle: use one for this handle, or fix handle in the target",
    "insufficient_role": "use a JWT with the required role",
    "insufficient_scope": "give the PAT the required scope",
}


def next_step_for(code: str | None, *, required: str | None = None) -> str:
    text = NEXT_BY_CODE.get(code or "", "check the token and the target's handle")
    return f"{text} ({required})" if required and code in ("insufficient_role", "insufficient_scope") else text


def _refused(item: str, ex: Exchange, kind: str, scope: str | None = None) -> Row:
    if ex.status is None:
        return Row(item, FAIL, f"no answer ({ex.error})", "check the network and base_url", Category.CONFIG)
    code = ex.error_code
    required = ex.body_field("requiredRole") or ex.body_field("requiredScope") or scope
    if ex.status in (401, 403):
        detail = f"refused ({ex.status} {code or 'no error code'}, request {ex.request_id or 'n/a'})"
        return Row(item, FAIL, detail, next_step_for(code, required=required), Category.AUTH)
    detail = (
        f"{ex.status} {code or ' '.join(ex.body_excerpt(80).split())} after {ex.attempts} attempt(s) (request "
        f"{ex.request_id or 'n/a'})"
    )
    if ex.status == 429:
        return Row(
            item,
            FAIL,
            f"still throttled: {detail}",
            "wait and re-run, or lower run.rate_limit_per_second",
            Category.THROTTLED,
        )
    if ex.status >= 500:
        return Row(
            item,
            FAIL,
            f"the platform keeps failing: {detail}",
            "re-run later; nothing was written",
            Category.PLATFORM_ERROR,
        )
    return Row(item, FAIL, f"unexpected answer {detail}", "is base_url the campaign API?", Category.CONFIG)


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _left(seconds: float) -> str:
    minutes = abs(seconds) / 60
    amount = f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"
