"""Credentials: JWTs (HS256, claims sub, roles {handle: role}, exp) and PATs
(`patv1_<tokenId>.<secret>`, bound to one handle, with scopes).

- control plane `/v2/handles/{handle}/…`: JWT only, with a role on the handle;
- automation `/v2/public/handles/{handle}/…` (health, site structure): PAT with a scope,
  as `Authorization: Bearer …` or `x-api-key: …`;
- support: either.
401 missing_bearer_token / invalid_token / token_expired; 403 insufficient_role (+requiredRole),
insufficient_scope (+requiredScope), forbidden (no role on the handle, or a PAT of another handle).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from fastapi import Request

from preflight.sandbox.core.errors import ApiError

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

ROLES = ("CREATOR", "OPERATOR", "OWNER")  # weakest first
RANK = {role: i + 1 for i, role in enumerate(ROLES)}
PAT_PREFIX = "patv1_"


@dataclass(frozen=True)
class Principal:
    kind: str  # "jwt" or "pat"
    subject: str  # the JWT's sub, or the PAT's token id
    roles: dict[str, str] = field(default_factory=dict)
    handle: str | None = None  # a PAT's handle
    scopes: tuple[str, ...] = ()


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": f'Bearer error="{code}"'})


def read_credential(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise unauthorized("invalid_token", "Authorization must use the Bearer scheme")
        token = token.strip()
        if token:
            return token
        raise unauthorized("missing_bearer_token", "the Bearer credential is empty")
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    raise unauthorized("missing_bearer_token", "no credential: send Authorization: Bearer …")


# --- JWT -----------------------------------------------------------------------------------


def mint_jwt(rt: Runtime, sub: str, roles: dict[str, str], ttl_seconds: int) -> str:
    now = int(rt.clock.now())
    claims = {"sub": sub, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, rt.jwt_secret, algorithm="HS256")


def _jwt_claims(rt: Runtime, token: str) -> dict[str, Any]:
    """Signature-checked claims; cached since the signature of a token never changes."""
    claims = rt.jwt_cache.get(token)
    if claims is not None:
        return claims
    try:
        claims = jwt.decode(
            token,
            rt.jwt_secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["sub", "exp"]},
        )
    except jwt.InvalidTokenError as exc:
        raise unauthorized("invalid_token", f"JWT rejected: {exc}") from None
    roles = claims.get("roles", {})
    if (
        not isinstance(claims.get("sub"), str)
        or not isinstance(roles, dict)
        or not isinstance(claims.get("exp"), (int, float))
    ):
        raise unauthorized("invalid_token", "JWT claims sub, roles and exp are malformed")
    if len(rt.jwt_cache) > 4096:
        rt.jwt_cache.clear()
    rt.jwt_cache[token] = claims
    return claims


def _jwt_principal(rt: Runtime, token: str) -> Principal:
    claims = _jwt_claims(rt, token)
    # Expiry is checked against the sandbox clock, so /__sandbox/clock can expire a JWT.
    if claims["exp"] <= rt.clock.now():
        raise unauthorized("token_expired", "the JWT has expired: mint a new one")
    roles = {str(h): str(r) for h, r in claims.get("roles", {}).items()}
    return Principal("jwt", claims["sub"], roles)


# --- PAT -----------------------------------------------------------------------------------


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_pat(rt: Runtime, handle: str, scopes: list[str], name: str | None = None) -> tuple[str, str]:
    token_id = os.urandom(8).hex()
    secret = os.urandom(24).hex()
    rt.db.run(
        "INSERT INTO pats (token_id, handle, scopes, secret_hash, name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (token_id, handle, json.dumps(scopes), _hash_secret(secret), name, rt.clock.now()),
    )
    return token_id, f"{PAT_PREFIX}{token_id}.{secret}"


def _pat_principal(rt: Runtime, token: str) -> Principal:
    token_id, dot, secret = token[len(PAT_PREFIX) :].partition(".")
    if not token_id or not dot or not secret:
        raise unauthorized("invalid_token", "PAT is malformed: expected patv1_<tokenId>.<secret>")
    row = rt.pat_cache.get(token_id)
    if row is None:
        row = rt.db.one("SELECT handle, scopes, secret_hash, revoked_at FROM pats WHERE token_id = ?", (token_id,))
        if row is None:
            raise unauthorized("invalid_token", "unknown PAT")
        row = (row["handle"], tuple(json.loads(row["scopes"])), row["secret_hash"], row["revoked_at"])
        rt.pat_cache[token_id] = row
    handle, scopes, secret_hash, revoked_at = row
    if not hmac.compare_digest(_hash_secret(secret), secret_hash):
        raise unauthorized("invalid_token", "unknown PAT")
    if revoked_at is not None:
        raise unauthorized("invalid_token", "the PAT was revoked")
    return Principal("pat", token_id, handle=handle, scopes=scopes)


def authenticate(rt: Runtime, request: Request) -> Principal:
    token = read_credential(request)
    if token.startswith(PAT_PREFIX):
        return _pat_principal(rt, token)
    return _jwt_principal(rt, token)


def scope_grants(scopes: tuple[str, ...], wanted: str) -> bool:
    family = wanted.split(".", 1)[0]
    return wanted in scopes or f"{family}.*" in scopes


# --- the three surfaces ------------------------------------------------------------------


def require_role(rt: Runtime, request: Request, handle: str, role: str) -> Principal:
    principal = authenticate(rt, request)
    if principal.kind != "jwt":
        raise unauthorized("invalid_token", "a PAT never works on /v2/handles/…: use a JWT")
    held = principal.roles.get(handle)
    if held is None:
        raise ApiError(403, "forbidden", f"no role on handle {handle}")
    if RANK.get(held, 0) < RANK[role]:
        raise ApiError(
            403, "insufficient_role", f"{role} or above is required, the token has {held}", requiredRole=role
        )
    return principal


def require_scope(rt: Runtime, request: Request, handle: str, scope: str) -> Principal:
    principal = authenticate(rt, request)
    if principal.kind != "pat":
        raise unauthorized("invalid_token", "this automation route takes a PAT, not a JWT")
    if principal.handle != handle:
        raise ApiError(403, "forbidden", f"the PAT is bound to another handle, not {handle}")
    if not scope_grants(principal.scopes, scope):
        raise ApiError(403, "insufficient_scope", f"the PAT lacks scope {scope}", requiredScope=scope)
    return principal


# --- FastAPI dependencies ----------------------------------------------------------------
# The security schemes are written into the OpenAPI document by app.py (openapi_security),
# not declared as sub-dependencies: each one would cost a dependency solve per request.

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "JWT on /v2/handles/…; PAT on the /v2/public/… automation routes",
    },
    "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key", "description": "PAT"},
}


def jwt_role(role: str, write: bool = False):
    """A route dependency: a JWT with `role` on the path's handle; a write also counts quota."""

    async def dependency(request: Request, handle: str) -> Principal:
        rt = request.app.state.rt
        principal = require_role(rt, request, handle, role)
        if write:
            from preflight.sandbox.core import quota

            quota.consume(rt, handle)
        return principal

    return dependency


def pat_scope(scope: str):
    """A route dependency: a PAT of the path's handle carrying `scope`."""

    async def dependency(request: Request, handle: str) -> Principal:
        return require_scope(request.app.state.rt, request, handle, scope)

    return dependency


async def any_credential(request: Request) -> Principal:
    return authenticate(request.app.state.rt, request)


def openapi_security(path: str) -> list[dict[str, list[str]]] | None:
    """The credential a route takes, for the OpenAPI document."""
    if path.startswith("/v2/handles/"):
        return [{"bearerAuth": []}]
    if path.startswith("/v2/public/handles/") and not path.endswith("/leads"):
        return [{"bearerAuth": []}, {"apiKeyAuth": []}]
    if path == "/v2/support/report":
        return [{"bearerAuth": []}, {"apiKeyAuth": []}]
    return None
