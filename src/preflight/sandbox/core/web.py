"""Small helpers every router uses: the runtime of a request, list pages, common models."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import Query, Request
from pydantic import BaseModel, ConfigDict

from preflight.core.faults import FaultName
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
    return _cursor(cursor)[0]


def _cursor(cursor: str | None) -> tuple[int, bool]:
    """(the row id a cursor continues after, whether it follows an empty page of sparse_pages)."""
    if cursor is None:
        return 0, False
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        emptied = text.endswith("~")
        value = int(text.removesuffix("~"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_error("cursor", "not a cursor this API handed out") from None
    if value < 0:
        raise validation_error("cursor", "not a cursor this API handed out")
    return value, emptied


def _encode(after: int, emptied: bool = False) -> str:
    return base64.urlsafe_b64encode(f"{after}{'~' if emptied else ''}".encode()).decode().rstrip("=")


def page(rows: Sequence[Any], limit: int, items: list[Any]) -> dict[str, Any]:
    """`{"items", "nextCursor"}` from rows fetched with LIMIT limit+1 (rows carry `id`)."""
    next_cursor = None
    if len(rows) > limit:
        next_cursor = _encode(rows[limit - 1]["id"])
    return {"items": items[:limit], "nextCursor": next_cursor}


Fetch = Callable[[int, int], tuple[Sequence[Any], list[Any]]]


def list_page(rt: Runtime, cursor: str | None, limit: int, fetch: Fetch) -> dict[str, Any]:
    """One page of a list: `fetch(after, limit)` gives rows fetched with LIMIT limit+1 and their views.

    Under fault sparse_pages, as the contract allows a platform to answer: each page holds at most
    `size` items, and every page with items is preceded by an empty one that still carries a
    nextCursor (to the same place)."""
    after, emptied = _cursor(cursor)
    sparse = rt.faults.hit(FaultName.SPARSE_PAGES) if rt.faults.active else None
    if sparse is None:
        rows, items = fetch(after, limit)
        return page(rows, limit, items)
    if not emptied:
        rows, _ = fetch(after, 1)
        return {"items": [], "nextCursor": _encode(after, emptied=True) if rows else None}
    size = min(limit, sparse["size"])
    rows, items = fetch(after, size)
    return page(rows, size, items)
