"""A10 · The shopper's journey on the live links, only when asked (`--click --browser`): each live
short link opened in a real browser on every viewport, as the lifecycle's step 7 opens the
throwaway links (lifecycle/steps/landing.py, the same checks): the platform's answer judged by the
one click follower (lifecycle/clicks.py, as A8's click is: a live link's expiry, click limit or
password is the marketer's), the site's redirects followed as a browser follows them, the page
answering 2xx with the click's ctx and every tag, the variant's page, a LEAD_CAPTURE page's lead
form, its console and its Largest Contentful Paint, and its first screen against its approved look.
The browser says it is campaign-preflight (a bot click, never a qualified one) and blocks the ad
and analytics hosts. Reads only: no lead is sent from a live page."""

from __future__ import annotations

from preflight.audit.live import LiveRun
from preflight.browser.baselines import Baselines
from preflight.browser.launch import Shopper
from preflight.browser.visit import Visit
from preflight.config.browser import BrowserSettings
from preflight.lifecycle.failures import NotChecked
from preflight.lifecycle.model import PlatformVariant
from preflight.lifecycle.shopper import Evidence
from preflight.lifecycle.steps import landing

NOT_ASKED = (
    "no browser visit without --click --browser: left out is what a shopper meets on each live link (the "
    "landing page answering, keeping ctx and tags, being the variant's, its lead form; screenshots); run "
    "`preflight audit --click --browser` (one bot click per variant and viewport, never a qualified one)"
)
WOULD_CATCH = "a live landing page that does not load, loses the ctx or tags, is another variant's or lacks its form"


def asked(run: LiveRun) -> None:
    """Skips, saying what is left out, unless this audit was asked for --click --browser."""
    if not run.browser:
        raise NotChecked(NOT_ASKED, would_catch=WOULD_CATCH)


def journey(
    run: LiveRun,
    variant: PlatformVariant,
    shopper: Shopper,
    evidence: Evidence,
    settings: BrowserSettings,
    looks: Baselines | None = None,
) -> list[Visit]:
    """`looks`: the approved looks each live page's first screen is held against."""
    run.live_link(variant)  # a link that does not exist is live_config's finding: skipped here
    reads_only = settings.model_copy(update={"submit_lead": False})  # a lead is a write
    return landing.journey(
        run, variant, shopper, evidence, reads_only, lead_email="", lead_name="", own_link=False, looks=looks
    )
