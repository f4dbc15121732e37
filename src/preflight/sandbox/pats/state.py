"""Personal access tokens managed by an OPERATOR (a sandbox extension of the contract)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from preflight.sandbox.core import auth
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import not_found

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime


def create(rt: Runtime, handle: str, scopes: list[str], name: str | None) -> dict[str, Any]:
    token_id, token = auth.mint_pat(rt, handle, scopes, name)
    return {**_view(rt, token_id), "token": token}


def _view(rt: Runtime, token_id: str) -> dict[str, Any]:
    row = rt.db.one("SELECT * FROM pats WHERE token_id = ?", (token_id,))
    return {
        "tokenId": row["token_id"],
        "handle": row["handle"],
        "name": row["name"],
        "scopes": json.loads(row["scopes"]),
        "createdAt": rfc3339(row["created_at"]),
        "revoked": row["revoked_at"] is not None,
    }


def listing(rt: Runtime, handle: str) -> list[dict[str, Any]]:
    rows = rt.db.all("SELECT token_id FROM pats WHERE handle = ? ORDER BY created_at", (handle,))
    return [_view(rt, row["token_id"]) for row in rows]


def revoke(rt: Runtime, handle: str, token_id: str) -> None:
    cur = rt.db.run(
        "UPDATE pats SET revoked_at = ? WHERE token_id = ? AND handle = ?", (rt.clock.now(), token_id, handle)
    )
    if not cur.rowcount:
        raise not_found(f"PAT {token_id}")
    rt.pat_cache.pop(token_id, None)
