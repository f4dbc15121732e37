"""Support reports: stored as sent, answered with a ticket id."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from preflight.sandbox.core.auth import Principal
from preflight.sandbox.core.ids import new_id

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime


def file_report(rt: Runtime, principal: Principal, report: dict[str, Any]) -> dict[str, str]:
    ticket_id = new_id("tkt")
    rt.db.run(
        "INSERT INTO support_reports (ticket_id, principal, body, created_at) VALUES (?, ?, ?, ?)",
        (ticket_id, f"{principal.kind}:{principal.subject}", json.dumps(report), rt.clock.now()),
    )
    return {"ticketId": ticket_id, "status": "RECEIVED"}
