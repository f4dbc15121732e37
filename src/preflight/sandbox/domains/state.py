"""Destination domains of a handle. Registering lists a domain PENDING; verifying it (DNS on the
platform, at once here) makes it VERIFIED. A click whose destination host, or a parent domain of
it, is listed and not VERIFIED is refused (gap: both); a host not listed routes as before."""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING, Any

from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import ApiError, not_found, validation_error

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normal(domain: str) -> str:
    name = domain.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(name):
        raise validation_error("domain", "a domain name such as gharart.example (no scheme, no path)")
    return name


def view(row: sqlite3.Row) -> dict[str, Any]:
    return {"domain": row["domain"], "status": row["status"], "updatedAt": rfc3339(row["updated_at"])}


def get(rt: Runtime, handle: str, domain: str) -> sqlite3.Row | None:
    return rt.db.one("SELECT * FROM destination_domains WHERE handle = ? AND domain = ?", (handle, domain))


def register(rt: Runtime, handle: str, domain: str, status: str = "PENDING") -> dict[str, Any]:
    name = normal(domain)
    with rt.db.tx():
        if get(rt, handle, name) is not None:
            raise ApiError(409, "conflict", f"domain {name} is registered already")
        rt.db.run(
            "INSERT INTO destination_domains (handle, domain, status, updated_at) VALUES (?, ?, ?, ?)",
            (handle, name, status, rt.clock.now()),
        )
        return view(get(rt, handle, name))


def set_status(rt: Runtime, handle: str, domain: str, status: str) -> dict[str, Any]:
    name = domain.strip().lower().rstrip(".")
    with rt.db.tx():
        if get(rt, handle, name) is None:
            raise not_found(f"domain {name}")
        rt.db.run(
            "UPDATE destination_domains SET status = ?, updated_at = ? WHERE handle = ? AND domain = ?",
            (status, rt.clock.now(), handle, name),
        )
        return view(get(rt, handle, name))


def listing(rt: Runtime, handle: str, after: int, limit: int) -> tuple[list[sqlite3.Row], list[dict[str, Any]]]:
    rows = rt.db.all(
        "SELECT * FROM destination_domains WHERE handle = ? AND id > ? ORDER BY id LIMIT ?", (handle, after, limit + 1)
    )
    return rows, [view(row) for row in rows[:limit]]


def untrusted(rt: Runtime, handle: str, host: str | None) -> sqlite3.Row | None:
    """The listed entry (the host or a parent domain of it) that is not VERIFIED, if any."""
    if not host:
        return None
    labels = host.lower().rstrip(".").split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    marks = ", ".join("?" * len(candidates))
    return rt.db.one(
        f"SELECT * FROM destination_domains WHERE handle = ? AND domain IN ({marks}) AND status != 'VERIFIED' "
        "ORDER BY length(domain) DESC LIMIT 1",
        (handle, *candidates),
    )
