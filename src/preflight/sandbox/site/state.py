"""What a landing page or the published detail page is about: the variant a visitor landed from,
the deployment a detail page shows, and the sandbox's test login.

On the real platform the landing pages are the customer's own site; here the sandbox stands in for
it (GET /_site/{host}{path}), so a run can follow the shopper all the way. A page learns its variant
from the ctx in its own URL (the click that brought the visitor), else from the link whose
destination it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sqlite3
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from preflight.core.faults import FaultName
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.errors import ApiError
from preflight.sandbox.site import pages
from preflight.sandbox.site.models import SitePage

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

SESSION_COOKIE = "pf_page_session"


@dataclass(frozen=True)
class PageAnswer:
    status: int
    html: str = ""
    redirect: str | None = None


def landing_answer(rt: Runtime, host: str, path: str, query: str) -> PageAnswer:
    """The landing page at `path` (`/_site/{host}/…`), as the customer's site serves it, faults and all."""
    found = landing_for(rt, path, query)
    campaign, slug = (found.campaign_id, found.slug) if found else (None, None)
    drops = rt.faults.hit(FaultName.SITE_REDIRECT_DROPS_QUERY, campaign, slug) if query else None
    if drops and not path.endswith("/"):
        # A site's trailing-slash rule that forgets the query string: ctx and utm_* are gone (but
        # the parameters named in `keep`: a rule that knows some of them, e.g. only the ctx).
        keep = {name.strip() for name in drops["keep"].split(",") if name.strip()}
        kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in keep])
        return PageAnswer(301, redirect=path + "/" + (f"?{kept}" if kept else ""))
    gone = rt.faults.hit(FaultName.LANDING_NOT_FOUND, campaign, slug)
    if gone:  # soft: 200 with the same page (a "soft 404")
        return PageAnswer(200 if gone["soft"] else 404, pages.not_found_page(host))
    slow = rt.faults.hit(FaultName.LANDING_SLOW, campaign, slug)
    changed = rt.faults.hit(FaultName.LANDING_CHANGED, campaign, slug)
    no_form = rt.faults.hit(FaultName.LEAD_FORM_MISSING, campaign, slug)
    page = pages.landing_page(
        host,
        found,
        form=not no_form or bool(no_form["emailOnly"]),
        email_field=not no_form,
        hero_delay_ms=slow["delayMs"] if slow else 0,
        broken_script=bool(rt.faults.hit(FaultName.LANDING_SCRIPT_ERROR, campaign, slug)),
        missing_asset=bool(rt.faults.hit(FaultName.LANDING_ASSET_MISSING, campaign, slug)),
        inert_form=bool(rt.faults.hit(FaultName.LEAD_FORM_INERT, campaign, slug)),
        changed=(changed["heading"], changed["hero"]) if changed else None,
        strips=_names(rt.faults.hit(FaultName.LANDING_STRIPS_CTX, campaign, slug), "params"),
        unmeasured=bool(rt.faults.hit(FaultName.LANDING_PAINT_UNMEASURED, campaign, slug)),
        checked_at=time.strftime("%H:%M:%S", time.gmtime(rt.clock.now())),
    )
    return PageAnswer(200, page)


def detail_answer(rt: Runtime, handle: str, page_slug: str, cookie: str | None) -> PageAnswer:
    """The published detail page, gated for a visitor without a session unless it is PUBLIC."""
    published = deployment(rt, handle, page_slug)
    if published is None:
        return PageAnswer(404, pages.not_found_page(f"{handle}.10x.in"))
    down = rt.faults.hit(FaultName.DETAIL_PAGE_DOWN, published["campaign_id"])
    if down:
        return PageAnswer(down["status"], pages.not_found_page(f"{handle}.10x.in"))
    gated = published["access_mode"] != "PUBLIC" and not valid_session(rt, handle, cookie)
    if gated and rt.faults.hit(FaultName.DETAIL_PAGE_UNGATED, published["campaign_id"]):
        gated = False
    leaks = gated and bool(rt.faults.hit(FaultName.DETAIL_PAGE_CONTENT_UNDER_GATE, published["campaign_id"]))
    login = f"/_edge/pages/{handle}/{page_slug}/login"
    return PageAnswer(200, pages.detail_page(published, gated=gated, login_url=login, content_too=leaks))


def landing_for(rt: Runtime, path: str, query: str) -> SitePage | None:
    """The variant of the page at `path` (`/_site/{host}/…`) with this query string, or None."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    token = params.get("ctx")
    if token:
        try:
            click = ctx_tokens.decode(rt.ctx_key, token)  # the signature, not the age: a page still shows
        except ApiError:
            click = None
        if click is not None:
            found = _landing(rt, click.handle, click.slug)
            if found is not None:
                return found
    return _by_destination(rt, path, params)


def _landing(rt: Runtime, handle: str, slug: str) -> SitePage | None:
    row = rt.db.one(
        "SELECT l.handle, l.slug, l.title, l.campaign_id, c.goal_type FROM links l "
        "JOIN campaigns c ON c.handle = l.handle AND c.campaign_id = l.campaign_id "
        "WHERE l.handle = ? AND l.slug = ?",
        (handle, slug),
    )
    return _from_row(row) if row is not None else None


def _by_destination(rt: Runtime, path: str, params: dict[str, str]) -> SitePage | None:
    """The newest enabled link whose destination is this page: its path, and its own query kept."""
    rows = rt.db.all(
        "SELECT l.handle, l.slug, l.title, l.campaign_id, l.destination_url, c.goal_type FROM links l "
        "JOIN campaigns c ON c.handle = l.handle AND c.campaign_id = l.campaign_id "
        "WHERE l.enabled = 1 AND l.destination_url LIKE ? ORDER BY l.id DESC LIMIT 200",
        (f"%{path.rstrip('/')}%",),
    )
    for row in rows:
        destination = urlsplit(row["destination_url"])
        own = dict(parse_qsl(destination.query, keep_blank_values=True))
        if destination.path.rstrip("/") == path.rstrip("/") and all(params.get(k) == v for k, v in own.items()):
            return _from_row(row)
    return None


def _from_row(row: sqlite3.Row) -> SitePage:
    return SitePage(
        handle=row["handle"],
        campaign_id=row["campaign_id"],
        slug=row["slug"],
        title=row["title"] or row["slug"],
        goal_type=row["goal_type"],
    )


# -- the published detail page -------------------------------------------------------------------


def page_url(base_url: str, handle: str, page_slug: str) -> str:
    """Where the sandbox serves a published detail page: the `url` its publish answers (the real
    platform's is https://{handle}.10x.in/{detailsPageSlug})."""
    return f"{base_url.rstrip('/')}/_edge/pages/{handle}/{page_slug}"


def deployment(rt: Runtime, handle: str, page_slug: str) -> sqlite3.Row | None:
    """The newest deployment published under this page slug on the handle."""
    return rt.db.one(
        "SELECT * FROM deployments WHERE handle = ? AND details_page_slug = ? ORDER BY id DESC LIMIT 1",
        (handle, page_slug),
    )


def session_for(rt: Runtime, handle: str, email: str) -> str:
    """The sandbox's test login: a signed cookie value naming the visitor (no account needed)."""
    who = base64.urlsafe_b64encode(f"{handle}:{email}".encode()).decode().rstrip("=")
    return f"s1.{who}.{_sign(rt, who)}"


def valid_session(rt: Runtime, handle: str, cookie: str | None) -> bool:
    parts = (cookie or "").split(".")
    if len(parts) != 3 or parts[0] != "s1" or not hmac.compare_digest(_sign(rt, parts[1]), parts[2]):
        return False
    try:
        who = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return False
    return who.startswith(f"{handle}:")


def _sign(rt: Runtime, text: str) -> str:
    digest = hmac.new(rt.ctx_key, b"page-session:" + text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _names(options: dict[str, Any] | None, option: str) -> tuple[str, ...]:
    """A fault's comma-separated names option (none when the fault is off)."""
    if not options:
        return ()
    return tuple(name.strip() for name in str(options[option]).split(",") if name.strip())
