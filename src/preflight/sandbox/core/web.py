"""Small helpers every router uses: the runtime of a request, list pages, common models."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict

from preflight.sandbox.core.errors import validation_error

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

LIMIT = Query(50, ge=1, le=200, description="page size, 1-200")
CURSOR = Query(None, max_length=200, description="nextCursor of the previous page")


class StrictIn(BaseModel):
    """Request bodies: wrong JSON types are errors (no "yes" for true); unknown keys ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)

    idempotencyKey: str | None = None


def runtime(request: Request) -> Runtime:
    return request.app.state.rt


def after_id(cursor: str | None) -> int:
    """The row id a cursor continues after (cursors are opaque base64 of it)."""
    if cursor is None:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_error("cursor", "not a cursor this API handed out") from None
    if value < 0:
        raise validation_error("cursor", "not a cursor this API handed out")
    return value


def page(rows: Sequence[Any], limit: int, items: list[Any]) -> dict[str, Any]:
    """`{"items", "nextCursor"}` from rows fetched with LIMIT limit+1 (rows carry `id`)."""
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]["id"]
        next_cursor = base64.urlsafe_b64encode(str(last).encode()).decode().rstrip("=")
    return {"items": items[:limit], "nextCursor": next_cursor}
