"""Clicks: the edge redirect records a click and mints its ctx (only while ACTIVE)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from preflight.core.faults import FaultName
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import not_found
from preflight.sandbox.core.ids import new_id
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime


def record(rt: Runtime, handle: str, slug: str, campaign_id: str, clicked_at: float | None = None) -> ctx_tokens.Click:
    click = ctx_tokens.Click(
        handle, slug, campaign_id, new_id("clk"), rt.clock.now() if clicked_at is None else clicked_at
    )
    with rt.db.tx():
        rt.db.run(
            "INSERT INTO clicks (click_id, handle, slug, campaign_id, clicked_at) VALUES (?, ?, ?, ?, ?)",
            (click.click_id, handle, slug, campaign_id, click.clicked_at),
        )
        rt.db.run("UPDATE links SET clicks = clicks + 1 WHERE handle = ? AND slug = ?", (handle, slug))
    return click


def with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def follow(rt: Runtime, handle: str, slug: str, record_click: bool = True) -> tuple[str, ctx_tokens.Click | None]:
    """Where a click on {handle}.10x.in/{slug} goes, and the click when it was tracked."""
    link = links.get(rt, handle, slug)
    if link is None or not link["enabled"]:
        raise not_found(f"link {slug}")
    params = links.utm_params(links.tracking(rt, link))
    click = None
    if link["campaign_id"] is not None:
        status = rt.db.scalar(
            "SELECT status FROM campaigns WHERE handle = ? AND campaign_id = ?", (handle, link["campaign_id"])
        )
        if status == "ACTIVE" and record_click:  # DRAFT and PAUSED campaigns track nothing new
            click = record(rt, handle, slug, link["campaign_id"])
            if not (rt.faults.active and rt.faults.hit(FaultName.CTX_DROPPED, link["campaign_id"], slug)):
                params["ctx"] = ctx_tokens.mint(rt.ctx_key, click)
    destination = link["destination_url"]
    if (
        link["campaign_id"] is not None
        and rt.faults.active
        and rt.faults.hit(FaultName.REDIRECT_SWAPPED, link["campaign_id"], slug)
    ):
        other = links.sibling(rt, handle, link["campaign_id"], slug)
        destination = other["destination_url"] if other is not None else destination
    offsite = rt.faults.hit(FaultName.REDIRECT_OFFSITE, link["campaign_id"], slug) if rt.faults.active else None
    if offsite is not None:
        # dropQuery: the link's own destination without its query; else another host and path
        parts = urlsplit(destination)
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment))
        destination = bare if offsite["dropQuery"] else offsite["url"]
    return with_params(destination, params), click


def describe(rt: Runtime, click: ctx_tokens.Click) -> dict[str, Any]:
    slug = click.slug
    if rt.faults.active and rt.faults.hit(FaultName.CTX_MISATTRIBUTED, click.campaign_id, click.slug):
        other = links.sibling(rt, click.handle, click.campaign_id, click.slug)
        slug = other["slug"] if other is not None else slug
    return {
        "handle": click.handle,
        "slug": slug,
        "campaignId": click.campaign_id,
        "clickId": click.click_id,
        "clickedAt": rfc3339(click.clicked_at),
        "expiresAt": rfc3339(ctx_tokens.expires_at(rt, click)),
    }
