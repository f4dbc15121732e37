"""Step 7's look: the first screen of each variant's landing page, on each viewport, held against
the look the marketer approved (`preflight approve`, stored beside the config): a page that loads,
keeps the ctx and shows the expected text can still be the wrong one (yesterday's creative, a
swapped hero, another offer's heading, a price gone). More changed pixels than
`browser.visual.max_diff` is a `landing_page` finding naming the variant, the viewport and the share;
the report shows approved | now | diff.

No approved look yet (or one of another size: the viewport changed) is "no approved look: run
`preflight approve`": could not judge (HOLD) where `browser.visual.required`, else not checked, by
choice. The run's own values (the ctx, the run id, its throwaway slug) are painted over before the
shot, as are the regions `browser.visual.mask` (and a variant's `expect.landing.mask`) names.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from preflight.browser import pixels
from preflight.browser.baselines import Approved, Baselines
from preflight.browser.look import LookRequest
from preflight.browser.visit import Visit
from preflight.config.browser import BrowserSettings, LandingExpect, Viewport
from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import Unjudged
from preflight.lifecycle.model import PlatformVariant, StepRun
from preflight.lifecycle.shopper import SITE_FIX

LOOK_CHANGED = "the landing page differs from its approved look"  # the cause `preflight approve` accepts
NO_LOOK = "no approved look: run `preflight approve`"
WOULD_CATCH = "a wrong page that loads: yesterday's creative, a swapped hero, another offer's heading, a price gone"


@dataclass
class Look:
    """One viewport's first screen and how it compares with its approved look."""

    viewport: Viewport
    now: bytes | None
    url: str  # the page's URL without its ctx
    target: str
    approved: Approved | None = None
    difference: pixels.Difference | None = None
    problem: str | None = None  # why it was not compared (no approved look, another size, no shot)
    ms: float = 0.0  # taking the shot and comparing it

    @property
    def share(self) -> float | None:
        return self.difference.share if self.difference is not None else None

    def over(self, settings: BrowserSettings) -> bool:
        return self.share is not None and self.share > settings.visual.max_diff

    def facts(self, settings: BrowserSettings) -> dict[str, Any]:
        difference = self.difference
        return {
            "viewport": self.viewport.name,
            "url": self.url,
            "target": self.target,
            "status": "changed" if self.over(settings) else "same" if difference else "not compared",
            "share": round(difference.share, 6) if difference else None,
            "changedPixels": difference.changed if difference else None,
            "maxDiff": settings.visual.max_diff,
            "approved": {"at": self.approved.approved_at, "runId": self.approved.run_id, "url": self.approved.url}
            if self.approved
            else None,
            "problem": self.problem,
            "ms": round(self.ms, 1),
        }


def request(
    run: StepRun, variant: PlatformVariant, settings: BrowserSettings, expect: LandingExpect | None
) -> LookRequest | None:
    """What the shot paints over (None: the look is off)."""
    if not settings.visual.enabled:
        return None
    mask = (*settings.visual.mask, *(expect.mask if expect else ()))
    own = [run.run_id, run.campaign.campaign_id] + ([variant.slug] if variant.slug != variant.name else [])
    return LookRequest(mask=tuple(mask), hide=tuple(value for value in own if value))


def compare(
    run: StepRun,
    variant: PlatformVariant,
    visit: Visit,
    viewport: Viewport,
    looks: Baselines | None,
    settings: BrowserSettings,
) -> Look:
    """The visit's first screen against its approved look (never raises: `judge` decides)."""
    started = time.perf_counter()
    look = Look(viewport, visit.look, without_ctx(visit.page_url or visit.final_url), run.target.name)
    approved = looks.find(run.campaign.stem, variant.name, viewport.name) if looks is not None else None
    if visit.look is None:
        look.problem = f"the first screen could not be taken ({visit.look_error or visit.error or 'no page'})"
    elif approved is None:
        look.problem = NO_LOOK
    elif approved.size != pixels.png_size(visit.look):
        look.problem = f"{NO_LOOK} (the approved look is {_size(approved.size)}, this screen {_size(visit)})"
    else:
        look.approved = approved
        look.difference = pixels.compare(approved.png, visit.look, threshold=settings.visual.threshold)
    look.ms = (visit.look_ms or 0.0) + (time.perf_counter() - started) * 1000
    return look


def judge(run: StepRun, variant: PlatformVariant, seen: list[Look], settings: BrowserSettings, clicks: list) -> None:
    """More changed than `max_diff` on any viewport fails; a look not compared is unjudged where
    required, else listed as not checked, by choice."""
    changed = [look for look in seen if look.over(settings)]
    if changed:
        raise _changed(variant, changed, settings, clicks)
    unjudged = [look for look in seen if look.problem]
    if not unjudged:
        return
    why = "; ".join(f"{look.viewport.name}: {look.problem}" for look in unjudged)
    if settings.visual.required:
        raise Unjudged(
            f"the look of {variant.name}'s landing page is not judged ({why})",
            fix=f"approve the look of the last run's pages: `preflight approve --variant {variant.name}` (or set "
            "browser.visual.required: false to list it as not checked)",
        )
    run.not_checked("the approved look", why, WOULD_CATCH)


def _changed(variant: PlatformVariant, changed: list[Look], settings: BrowserSettings, clicks: list[Exchange]):
    most = settings.visual.max_diff
    where = ", ".join(f"{_screen(look.viewport)} {_percent(look.share)}" for look in changed)
    approved = changed[0].approved.describe() if changed[0].approved else ""
    return fail(
        Category.LANDING_PAGE,
        f"{variant.name}'s landing page differs from its approved look: {where} of the first screen changed, over "
        f"browser.visual.max_diff {_percent(most)}",
        expected=f"at most {_percent(most)} of the first screen changed from the look {approved}",
        actual={look.viewport.name: _percent(look.share) for look in changed},
        exchanges=clicks[:1],
        cause=LOOK_CHANGED,
        next_step=(
            "see approved | now | diff (the test's image diff, landing-pages.html): a change you meant (a new "
            f"creative) is approved with `preflight approve --variant {variant.name}`; else the site serves the "
            f"wrong page: {SITE_FIX}"
        ),
    )


def without_ctx(url: str) -> str:
    """The page's URL without its ctx (the rest of its query, the tags, kept)."""
    parts = urlsplit(url or "")
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != "ctx"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _percent(share: float | None) -> str:
    return f"{(share or 0) * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _size(what: Any) -> str:
    size = pixels.png_size(what.look) if isinstance(what, Visit) else what
    return f"{size[0]}×{size[1]}" if size else "unreadable"


def _screen(viewport: Viewport) -> str:
    return f"{viewport.name} ({viewport.width}×{viewport.height})"
