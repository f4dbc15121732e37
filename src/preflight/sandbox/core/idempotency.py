"""Stripe-style idempotency for writes under /v2 (the record; the flow is transport/platform.py).

Per key and credential (a route without credential: per key and route), kept 24 h on the
sandbox clock. The claim is one INSERT inside a BEGIN IMMEDIATE transaction, so of many
concurrent requests under one key exactly one runs; the others see it in flight (409) or,
once it finished, get its stored answer replayed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

KEEP_SECONDS = 24 * 3600
# A claim still pending this long (sandbox clock) belongs to a request that died: take it over.
PENDING_TAKEOVER_SECONDS = 300
KEY_HEADER = "Idempotency-Key"
BODY_FIELD = "idempotencyKey"  # where a client without the header may put its key
MAX_KEY_LENGTH = 255
# A scope key the flow sets when a fault makes it run a write anew instead of replaying it: the
# route then creates a new record, as if the stored answer were not there.
FORCE_NEW = "sandbox.force_new"


@dataclass
class Stored:
    fingerprint: str
    state: str  # "pending" or "done"
    status: int | None
    headers: list[list[str]]
    body: bytes


def scope_of(headers: dict[str, str], method: str, path: str) -> str:
    credential = headers.get("authorization") or headers.get("x-api-key")
    if credential:
        return "cred:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    return f"route:{method} {path}"


def fingerprint(method: str, path: str, body: bytes, parsed: Any) -> str:
    """What "the same request" means: method, path and the body (key field left out)."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    if isinstance(parsed, dict):
        canonical = {k: v for k, v in parsed.items() if k != BODY_FIELD}
        digest.update(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())
    else:
        digest.update(body)
    return digest.hexdigest()


def claim(rt: Runtime, scope: str, key: str, print_: str) -> Stored | None:
    """None when this request now owns the key; else what is already there."""
    now = rt.clock.now()
    db = rt.db
    with db.tx():
        row = db.one(
            "SELECT fingerprint, state, status, headers, body, created_at FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        )
        if row is not None:
            age = now - row["created_at"]
            stale = age > KEEP_SECONDS or (row["state"] == "pending" and age > PENDING_TAKEOVER_SECONDS)
            if not stale:
                return Stored(
                    row["fingerprint"],
                    row["state"],
                    row["status"],
                    json.loads(row["headers"] or "[]"),
                    row["body"] or b"",
                )
            db.run("DELETE FROM idempotency WHERE scope = ? AND key = ?", (scope, key))
        db.run(
            "INSERT INTO idempotency (scope, key, fingerprint, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
            (scope, key, print_, now),
        )
    return None


def store(rt: Runtime, scope: str, key: str, status: int, headers: list[list[str]], body: bytes) -> None:
    rt.db.run(
        "UPDATE idempotency SET state = 'done', status = ?, headers = ?, body = ? WHERE scope = ? AND key = ?",
        (status, json.dumps(headers), body, scope, key),
    )


def release(rt: Runtime, scope: str, key: str) -> None:
    rt.db.run("DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'pending'", (scope, key))
