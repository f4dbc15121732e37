"""Cursor-paged lists, read the way the contract allows them to be answered.

`?limit=` and `?cursor=` → `{"items": [...], "nextCursor": null | "…"}`: a page may hold fewer
items than asked, even none, and still carry a `nextCursor`, so a reader follows the cursor until
it is null, never stopping at a short or empty page. A cursor seen twice ends the walk (a platform
that loops would otherwise keep a run busy for ever), and so does `most` pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange

# A walk this long means a platform whose cursors never end; a repeated cursor ends it sooner.
MOST_PAGES = 10_000


def pages(
    client: PlatformClient,
    route: str,
    *,
    step: str,
    limit: int = 200,
    most: int = MOST_PAGES,
    params: dict[str, Any] | None = None,
    **path_params: str,
) -> Iterator[tuple[Exchange, list[Any] | None]]:
    """Each page's exchange and its items (None when the answer is not a list page: the walk
    ends there, and the caller judges the exchange)."""
    query = {**(params or {}), "limit": limit}
    seen: set[str] = set()
    for _ in range(most):
        ex = client.call(route, step=step, params=query, **path_params)
        body = ex.response_body if ex.status == 200 and isinstance(ex.response_body, dict) else None
        items = body.get("items") if body is not None else None
        items = items if isinstance(items, list) else None
        yield ex, items
        cursor = body.get("nextCursor") if body is not None else None
        if items is None or not isinstance(cursor, str) or not cursor or cursor in seen:
            return
        seen.add(cursor)
        query = {**query, "cursor": cursor}


def items(client: PlatformClient, route: str, *, step: str, **kwargs: Any) -> Iterator[Any]:
    """Every item of every page (a page that is not a list ends the walk quietly)."""
    for _, found in pages(client, route, step=step, **kwargs):
        yield from found or []
