"""The customer's landing pages (`GET /_site/{host}/{path}`, the sandbox's stand-in for the customer's
site: a sandbox target points its throwaway links here) and the published detail page
(`GET /_edge/pages/{handle}/{detailsPageSlug}`, the `url` a publish answers, with the sandbox's test
login). HTML for browsers, left out of the API schema."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from preflight.sandbox.core.web import runtime
from preflight.sandbox.site import pages, state

router = APIRouter(tags=["site"], include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
ASSET_TYPES = {
    "site.css": ("text/css", pages.SITE_CSS),
    "site.js": ("text/javascript", pages.SITE_JS),
    "offer-widget.js": ("text/javascript", pages.BROKEN_JS),
    "hero.svg": ("image/svg+xml", pages.HERO_SVG),
    "hero-old.svg": ("image/svg+xml", pages.OLD_HERO_SVG),
}
MAX_LATE_MS = 60000


@router.get("/_site/_assets/{name}")
async def asset(name: str, late: int = 0):
    """The site's own stylesheet, script and hero image (`late`: the image answers that late)."""
    if name not in ASSET_TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    if late > 0:
        await asyncio.sleep(min(late, MAX_LATE_MS) / 1000.0)
    media_type, body = ASSET_TYPES[name]
    return Response(body, media_type=media_type, headers=NO_STORE)


@router.get("/_site/{host}")
@router.get("/_site/{host}/{path:path}")
async def landing(request: Request, host: str, path: str = ""):
    """A landing page that keeps the query string it was given (ctx and tags) and shows its variant."""
    answer = state.landing_answer(runtime(request), host, request.url.path, request.url.query)
    if answer.redirect:
        return RedirectResponse(answer.redirect, status_code=answer.status, headers=NO_STORE)
    return HTMLResponse(answer.html, status_code=answer.status, headers=NO_STORE)


@router.get("/_edge/pages/{handle}/{page_slug}")
async def detail_page(request: Request, handle: str, page_slug: str):
    """The published detail page: FREE_WITH_LOGIN and PAID pages show the login gate to a visitor
    without a session, and their content after the sandbox's test login."""
    answer = state.detail_answer(runtime(request), handle, page_slug, request.cookies.get(state.SESSION_COOKIE))
    return HTMLResponse(answer.html, status_code=answer.status, headers=NO_STORE)


@router.post("/_edge/pages/{handle}/{page_slug}/login")
async def test_login(request: Request, handle: str, page_slug: str):
    """The sandbox's test login: any email signs in (a session cookie for the handle's pages)."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    email = (form.get("email") or [""])[0].strip()
    back = f"/_edge/pages/{handle}/{page_slug}"
    if "@" not in email:
        return RedirectResponse(back, status_code=303, headers=NO_STORE)
    answer = RedirectResponse(back, status_code=303, headers=NO_STORE)
    answer.set_cookie(
        state.SESSION_COOKIE,
        state.session_for(runtime(request), handle, email),
        path=f"/_edge/pages/{handle}/",
        httponly=True,
        samesite="lax",
    )
    return answer
