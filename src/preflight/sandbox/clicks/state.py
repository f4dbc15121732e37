"""Clicks: the edge answers a short link as the link's fields say, records the click and mints its
ctx (only while the campaign is ACTIVE).

In order: an unknown or disabled link 404; before `scheduledStartAt` 404; after `scheduledEndAt` or
`expiresAt` 410 `link_expired`; at `maxClicks` 410 `link_exhausted`; a `passwordProtected` link a
200 password page. Otherwise routing picks the destination (link rules, personalization rules,
the link's own); a destination host listed but not VERIFIED is a 403 page and no ctx. The answer is
a 302 (or the link's `redirectType` 307) to the destination with ctx and utm tags, or for
`trackingPolicy.mode: BRIDGE` a 200 bridge page that sends the visitor on to the same URL.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from preflight.core.faults import FaultName
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import ApiError, not_found
from preflight.sandbox.core.ids import new_id
from preflight.sandbox.domains import state as domains
from preflight.sandbox.links import state as links
from preflight.sandbox.personalization import state as routing

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

# (gap) the platform's bot list: any User-Agent holding one of these is a bot's.
BOT_MARKS = re.compile(r"bot|crawler|spider|preflight", re.IGNORECASE)


@dataclass(frozen=True)
class ClickVisit:
    """Who clicks: from the request's headers (CloudFront-Viewer-Country, User-Agent, Referer)."""

    country: str | None = None
    user_agent: str = ""
    referrer: str | None = None
    source: str | None = None  # utm_source on the short link's own query, if any
    campaign: str | None = None
    prefetch: bool = False

    @property
    def bot(self) -> bool:
        return bool(BOT_MARKS.search(self.user_agent))

    @property
    def device(self) -> str:
        ua = self.user_agent.lower()
        if "ipad" in ua or "tablet" in ua:
            return "TABLET"
        if "mobi" in ua or "android" in ua or "iphone" in ua:
            return "MOBILE"
        return "DESKTOP"


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    page: str | None = None  # an HTML body (bridge, password or refusal page)
    click: ctx_tokens.Click | None = None


def record(
    rt: Runtime,
    handle: str,
    slug: str,
    campaign_id: str,
    clicked_at: float | None = None,
    visit: ClickVisit | None = None,
) -> ctx_tokens.Click:
    visit = visit or ClickVisit()
    click = ctx_tokens.Click(
        handle, slug, campaign_id, new_id("clk"), rt.clock.now() if clicked_at is None else clicked_at
    )
    with rt.db.tx():
        rt.db.run(
            "INSERT INTO clicks (click_id, handle, slug, campaign_id, clicked_at, bot, country, device, referrer) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                click.click_id,
                handle,
                slug,
                campaign_id,
                click.clicked_at,
                int(visit.bot),
                (visit.country or "").upper() or None,
                visit.device,
                visit.referrer,
            ),
        )
        rt.db.run("UPDATE links SET clicks = clicks + 1 WHERE handle = ? AND slug = ?", (handle, slug))
    return click


def with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def visitor_of(link: Any, tags: dict[str, str], visit: ClickVisit) -> routing.Traits:
    """The routing conditions of a click: its country and device, and its source and campaign (the
    short link's own utm_source/utm_campaign, else the link's tags) (gap)."""
    return routing.Traits(
        country=visit.country,
        device=visit.device,
        source=visit.source or tags.get("utmSource"),
        campaign=visit.campaign or tags.get("utmCampaign"),
    )


def answer(rt: Runtime, handle: str, slug: str, visit: ClickVisit) -> Answer:
    """How the edge answers a click on {handle}.10x.in/{slug}."""
    link = links.get(rt, handle, slug)
    if link is None or not link["enabled"]:
        raise not_found(f"link {slug}")
    broken = rt.faults.hit(FaultName.CLICK_FAILS, link["campaign_id"], slug) if rt.faults.active else None
    if broken is not None:  # the short-link edge is down: no click recorded, nowhere to go
        status = broken["status"]
        code = {404: "not_found", 503: "service_unavailable"}.get(status, "internal_error")
        raise ApiError(status, code, f"the short link {slug} could not be served")
    now = rt.clock.now()
    if link["scheduled_start_at"] is not None and now < link["scheduled_start_at"]:
        raise not_found(f"link {slug} (live from {rfc3339(link['scheduled_start_at'])})")
    ends = [t for t in (link["scheduled_end_at"], link["expires_at"]) if t is not None]
    if ends and now >= min(ends):
        raise ApiError(410, "link_expired", f"link {slug} expired at {rfc3339(min(ends))}")
    if link["max_clicks"] is not None and link["click_count"] >= link["max_clicks"]:
        raise ApiError(410, "link_exhausted", f"link {slug} reached its {link['max_clicks']} clicks")
    if not visit.prefetch:
        rt.db.run("UPDATE links SET click_count = click_count + 1 WHERE id = ?", (link["id"],))
    if link["password_protected"]:
        return Answer(200, {"Cache-Control": "no-store"}, password_page(slug))
    tags = links.tracking(rt, link)
    chosen = routing.route(rt, link, visitor_of(link, tags, visit))
    refused = domains.untrusted(rt, handle, urlsplit(chosen.destination_url).hostname)
    if refused is not None:
        return Answer(403, {"Cache-Control": "no-store"}, refusal_page(refused["domain"], refused["status"]))
    url, click = destination(rt, link, chosen.destination_url, tags, visit)
    return respond(rt, link, url, click)


def destination(
    rt: Runtime, link: Any, routed: str, tags: dict[str, str], visit: ClickVisit
) -> tuple[str, ctx_tokens.Click | None]:
    """The URL the visitor is sent to (with ctx and tags), and the click when it was tracked."""
    params = links.utm_params(tags)
    click = None
    if link["campaign_id"] is not None:
        status = rt.db.scalar(
            "SELECT status FROM campaigns WHERE handle = ? AND campaign_id = ?", (link["handle"], link["campaign_id"])
        )
        if status == "ACTIVE" and not visit.prefetch:  # DRAFT and PAUSED campaigns track nothing new
            click = record(rt, link["handle"], link["slug"], link["campaign_id"], visit=visit)
            dropped = rt.faults.active and rt.faults.hit(FaultName.CTX_DROPPED, link["campaign_id"], link["slug"])
            if link["append_ctx"] and not dropped:
                params["ctx"] = ctx_tokens.mint(rt.ctx_key, click)
    if (
        link["campaign_id"] is not None
        and rt.faults.active
        and rt.faults.hit(FaultName.REDIRECT_SWAPPED, link["campaign_id"], link["slug"])
    ):
        other = links.sibling(rt, link["handle"], link["campaign_id"], link["slug"])
        routed = other["destination_url"] if other is not None else routed
    offsite = rt.faults.hit(FaultName.REDIRECT_OFFSITE, link["campaign_id"], link["slug"]) if rt.faults.active else None
    if offsite is not None:
        # dropQuery: the link's own destination without its query; else another host and path
        parts = urlsplit(routed)
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment))
        routed = bare if offsite["dropQuery"] else offsite["url"]
    return with_params(routed, params), click


def respond(rt: Runtime, link: Any, url: str, click: ctx_tokens.Click | None) -> Answer:
    headers = {"Cache-Control": "no-store"}
    if click is not None:
        headers["x-click-id"] = click.click_id
    bridge = rt.faults.hit(FaultName.BRIDGE_CLICKS, link["campaign_id"], link["slug"]) if rt.faults.active else None
    slow = rt.faults.hit(FaultName.BRIDGE_SLOW, link["campaign_id"], link["slug"]) if rt.faults.active else None
    if link["tracking_mode"] == "BRIDGE" or bridge or slow:
        page = bridge_page(url, (bridge or {}).get("markup", "both"), wait=(slow or {}).get("seconds", 0))
        return Answer(200, headers, page, click)
    redirect = link["redirect_type"]
    if rt.faults.active and rt.faults.hit(FaultName.REDIRECT_307, link["campaign_id"], link["slug"]):
        redirect = 307
    return Answer(redirect, {**headers, "Location": url}, None, click)


def bridge_page(url: str, markup: str = "both", wait: int = 0) -> str:
    """The bridge page: a meta refresh and a continue link to the same URL (gap: the markup). `wait`:
    the seconds its refresh waits (fault bridge_slow; the contract's is 0)."""
    target = html.escape(url, quote=True)
    # broken bridge pages (fault bridge_clicks): "none" never sends the visitor on; "split" sends the
    # refresh and the continue link to two places (the continue link without the query)
    refresh = f'<meta http-equiv="refresh" content="{int(wait)};url={target}">'
    meta = refresh if markup in ("both", "meta", "split") else ""
    anchor = f'<a id="continue" href="{target}">Continue</a>' if markup in ("both", "anchor") else "Continue"
    if markup == "split":
        anchor = f'<a id="continue" href="{html.escape(url.split("?")[0], quote=True)}">Continue</a>'
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"{meta}<title>One moment</title></head>"
        f"<body><p>Taking you to the offer.</p><p>{anchor}</p></body></html>"
    )


def password_page(slug: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Password required</title></head><body>'
        f'<form id="password" method="post" action="/_edge/unlock/{html.escape(slug)}">'
        '<label>Password <input type="password" name="password" required></label>'
        "<button>Open</button></form></body></html>"
    )


def refusal_page(domain: str, status: str) -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>destination_unverified</title></head><body>'
        f"<h1>destination_unverified</h1><p>The destination domain {html.escape(domain)} is {status}, "
        "not VERIFIED: this link cannot send visitors there yet.</p></body></html>"
    )


def follow(rt: Runtime, handle: str, slug: str, record_click: bool = True) -> tuple[str, ctx_tokens.Click | None]:
    """Where a plain click (no country, a browser's User-Agent) goes, and the click when tracked."""
    got = answer(rt, handle, slug, ClickVisit(user_agent="Mozilla/5.0", prefetch=not record_click))
    return got.headers.get("Location", ""), got.click


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
