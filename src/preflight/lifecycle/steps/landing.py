"""Step 7, the shopper's journey: each variant's click followed in a real browser on every viewport,
as UC-07's flow asks ("validate expected state in UI and API after each step"). The step's other
test, the published detail page as an anonymous visitor sees it, is `detail_page.py`.

Per variant and viewport: the click's own answer (a 302, a 307 or a bridge page: the browser
follows whichever) is judged as the HTTP client's click is (`lifecycle/clicks.py`: a bridge page
whose two ways disagree fails both alike), and the site's own redirects lead to a page that answers
2xx; its URL still carries the click's ctx (resolved with the API) and every utm_* tag of the
variant; it is the variant's page (`expect.landing`); a LEAD_CAPTURE page shows its lead form with
an email field (and, with `browser.submit_lead`, a lead sent from the page is CAPTURED, credited to
this variant and in the review list: `lead_capture`'s own checks); console errors and failed
requests of its own assets are findings (failing with `browser.fail_on_console_errors`); its Largest
Contentful Paint is within `browser.lcp_budget_ms`.

Whose fix: the customer's site (landing_page, or a ctx or tags its own redirect drops) breaks the
funnel but is never escalated to the platform; what the platform's click does wrong is.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from preflight.browser.baselines import Baselines
from preflight.browser.launch import Shopper
from preflight.browser.visit import Hop, Tab, Visit
from preflight.config.browser import BrowserSettings, LandingExpect
from preflight.core.categories import Category
from preflight.core.hops import same_place
from preflight.http.exchange import Exchange
from preflight.lifecycle import clicks
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import PreflightFailure, Unjudged
from preflight.lifecycle.model import PlatformVariant, StepRun
from preflight.lifecycle.shopper import Evidence, click_exchange, failure_evidence, form_exchange, short, site_step
from preflight.lifecycle.steps import landing_look, landing_url, lead_capture

# A page that answers 2xx but says it is not there (a "soft 404"): its title or main heading.
SOFT_404 = re.compile(
    r"\b(page|file|offer|product)\s+(was\s+)?not\s+found\b|^\s*not\s+found\b|\b404\b"
    r"|\b(does|did)\s+not\s+exist|\bdoesn['’]t\s+exist|\bno\s+longer\s+(exists|available)"
    r"|\bpage\s+(is\s+)?(unavailable|gone)\b",
    re.IGNORECASE,
)


@dataclass
class Landed:
    """Where one click went: the click's own answer, where the platform sent the browser, the final page."""

    click: Exchange  # the platform's answer to the click, as the browser got it
    sent_to: str  # where the click's answer sends the visitor (the redirect's Location, the bridge page's way on)
    final: Hop | None


# -- the journey --------------------------------------------------------------------------------------


def journey(
    run: StepRun,
    variant: PlatformVariant,
    shopper: Shopper,
    evidence: Evidence,
    settings: BrowserSettings,
    *,
    lead_email: str,
    lead_name: str,
    own_link: bool = True,
    looks: Baselines | None = None,
) -> list[Visit]:
    """Every viewport is visited (each its own screenshot, and its first screen compared with its
    approved look in `looks`) before the first failure is raised; the look is judged last.
    `own_link`: the run made the link (the audit's live links: False), as `clicks.landing` reads it."""
    click_url = run.target.click_url_for(variant.slug)
    expect = _expectations(run, variant)
    submit = settings.submit_lead and run.campaign.goal_type == "LEAD_CAPTURE"
    wanted = landing_look.request(run, variant, settings, expect)
    visits: list[Visit] = []
    seen: list[landing_look.Look] = []
    clicked: list[Exchange] = []
    failures: list[PreflightFailure] = []
    for viewport in settings.viewports:
        with Tab(shopper, viewport, trace=True) as tab:
            visit = tab.open(click_url, look=wanted)
            visits.append(visit)
            failed = False
            try:
                landed = check_visit(run, variant, tab, visit, settings, expect, own_link=own_link)
                clicked.append(landed.click)
                if submit:
                    submit = False  # one lead per variant, from the first viewport whose page works
                    submit_lead(run, variant, tab, settings, expect, landed, email=lead_email, name=lead_name)
            except PreflightFailure as failure:
                failed = True
                failure.summary = f"on {_screen(viewport)}: {failure.summary}"
                failures.append(failure)
                failure_evidence(evidence, tab, viewport.name, page="landing page")
            look = landing_look.compare(run, variant, visit, viewport, looks, settings) if wanted else None
            if look is not None:
                seen.append(look)
            failed = failed or bool(look and look.over(settings))
            evidence.visit(visit, page="landing page", failed=failed, look=look)
    _note(run, visits, settings, seen)
    if failures:
        first = failures[0]
        others = [f.summary.split(":", 1)[0] for f in failures[1:]]
        if others:
            first.summary += f" (also failed {', '.join(others)})"
        raise _rebuilt(first)
    if wanted:
        landing_look.judge(run, variant, seen, settings, clicked)
    _left_out(run, settings, expect)
    _lcp_judged(visits, settings)
    return visits


def _left_out(run: StepRun, settings: BrowserSettings, expect: LandingExpect | None) -> None:
    """The promises the config leaves out on purpose: listed as not checked, by choice."""
    if not settings.visual.enabled:
        run.not_checked(
            "the approved look",
            "browser.visual.enabled is false: no first screen is taken or compared",
            landing_look.WOULD_CATCH,
        )
    if expect is None or not (expect.text or expect.selector):
        run.not_checked(
            "the variant's own page",
            "no expect.landing text or selector for this variant in the config",
            "another variant's page, or yesterday's creative, served on this link",
        )
    if not settings.lcp_budget_ms:
        run.not_checked(
            "LCP budget",
            "browser.lcp_budget_ms is not set: the Largest Contentful Paint is measured, not judged",
            "a page too slow for the shoppers the ads bring",
        )
    if not settings.fail_on_console_errors:
        run.not_checked(
            "console errors and failed assets",
            "browser.fail_on_console_errors is false: they are recorded in the report, not judged",
            "a page whose scripts or own assets fail",
        )


def _lcp_judged(visits: list[Visit], settings: BrowserSettings) -> None:
    """With a budget, a page the browser reported no Largest Contentful Paint for could not be judged."""
    unmeasured = [visit.viewport for visit in visits if visit.lcp_ms is None]
    if settings.lcp_budget_ms and unmeasured:
        raise Unjudged(
            f"no Largest Contentful Paint was reported on {', '.join(unmeasured)}: the page's paint is not held "
            f"against browser.lcp_budget_ms ({settings.lcp_budget_ms} ms)",
            fix="re-run; if it stays unmeasured, check the page paints an image or a text block (a blank or "
            "script-drawn page reports no LCP) or leave lcp_budget_ms out to measure without judging",
        )


def check_visit(
    run: StepRun,
    variant: PlatformVariant,
    tab: Tab,
    visit: Visit,
    settings: BrowserSettings,
    expect: LandingExpect | None,
    *,
    own_link: bool = True,
) -> Landed:
    """The page a click settles on, judged; the first broken promise raises."""
    landed = _landed(run, variant, visit, own_link=own_link)
    _bridge_quick(run, variant, visit, landed, settings)
    _reached_the_site(run, variant, visit, landed)
    landing_url.kept_the_click(run, variant, visit, landed.click, landed.sent_to, landed.final.url)
    _is_the_variant_page(run, variant, tab, visit, landed, expect)
    if run.campaign.goal_type == "LEAD_CAPTURE":
        _has_lead_form(run, tab, visit, landed, _form(settings, expect))
    _works_cleanly(run, visit, landed, settings)
    return landed


def _landed(run: StepRun, variant: PlatformVariant, visit: Visit, *, own_link: bool) -> Landed:
    """The click's own answer, judged by the one click follower (`clicks.landing`): a wrong hop (a
    bridge page that sends nowhere or two ways, a redirect the contract does not name, a refused or
    expired link) fails here as it fails the HTTP client's click, with the same category and cause."""
    click = click_exchange(run, visit)
    unanswered = f" ({visit.error})" if click.status is None else ""
    clicking = f"the browser's click on {variant.slug}{unanswered}"
    way = clicks.landing(click, variant.slug, own_link=own_link, clicking=clicking)
    return Landed(click=click, sent_to=way.url, final=visit.final_hop)


def _bridge_quick(
    run: StepRun, variant: PlatformVariant, visit: Visit, landed: Landed, settings: BrowserSettings
) -> None:
    """A bridge page sends the shopper on at once (the contract's `content="0;url=…"`): one that
    holds them longer than `browser.bridge_max_ms` loses shoppers before the page."""
    waited, most = visit.bridge_ms, settings.bridge_max_ms
    if waited is None or waited <= most:
        return
    bridge = visit.bridge
    says = f" (its meta refresh waits {bridge.wait_seconds:g} s)" if bridge and bridge.wait_seconds else ""
    raise fail(
        Category.CONTRACT_VIOLATION,
        f"the bridge page of {variant.slug} held the shopper {waited / 1000:.1f} s before the page{says}, over "
        f"browser.bridge_max_ms {most} ms",
        expected=f"a bridge page that sends the shopper on within {most} ms (the contract: a meta refresh of 0 s)",
        actual=f"{waited:.0f} ms on the bridge page{says}",
        exchanges=[landed.click],
        cause="a click's bridge page makes the shopper wait before sending them on",
        next_step="shoppers leave a page that makes them wait: escalate with the link's slug and the request id (a "
        "live link's trackingPolicy.mode BRIDGE is the marketer's to switch to a redirect)",
    )


def _reached_the_site(run: StepRun, variant: PlatformVariant, visit: Visit, landed: Landed) -> None:
    click = landed.click
    other = clicks.sent_elsewhere(run, variant, landed.sent_to)
    if other is not None:
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} sends the shopper to {other.slug}'s page",
            expected=variant.destination_url,
            actual=landed.sent_to,
            exchanges=[click],
            cause="a variant's click redirects to another variant's destination",
            next_step="the A/B split is broken (both arms see one page): escalate before spend ramps",
        )
    if visit.error or landed.final is None or same_place(landed.final.url, visit.click_url):
        raise fail(
            Category.LANDING_PAGE,
            f"the landing page {short(landed.sent_to)} does not load: {visit.error}",
            expected=f"{landed.sent_to} to load",
            actual=visit.error,
            exchanges=[click],
            cause="the landing page does not load",
            next_step=site_step(
                "make the page load for a shopper (if this machine cannot reach the site, run where it can or "
                + _without_browser(run)
                + ")"
            ),
        )
    status = landed.final.status
    if not 200 <= status < 300:
        raise fail(
            Category.LANDING_PAGE,
            f"the landing page {short(landed.final.url)} answers {status}",
            expected="2xx",
            actual=f"{status} for {landed.final.url}",
            exchanges=[click],
            cause=f"the landing page answers {status}",
            next_step=site_step(f"publish the page at {landed.final.url}, or point the link at one that answers 2xx"),
        )
    said = next((text for text in (visit.title, visit.heading) if text and SOFT_404.search(text)), None)
    if said is not None:
        raise fail(
            Category.LANDING_PAGE,
            f"the landing page {short(landed.final.url)} answers {status} but says it does not exist: {said!r}",
            expected="the variant's page",
            actual=f"{status}, titled {visit.title!r}, heading {visit.heading!r}",
            exchanges=[landed.click],
            cause="the landing page answers 2xx but says it does not exist (a soft 404)",
            next_step=site_step(f"publish the page at {short(landed.final.url)}, or point the link at one that exists"),
        )


def _without_browser(run: StepRun) -> str:
    """How to leave the browser out: --browser (an audit's) opens it whatever browser.use says."""
    return "leave out --browser" if getattr(run, "browser", False) else "set browser.use: off"


def _is_the_variant_page(
    run: StepRun, variant: PlatformVariant, tab: Tab, visit: Visit, landed: Landed, expect: LandingExpect | None
) -> None:
    if expect is None:
        return
    missing = []
    if expect.text and not tab.shows_text(expect.text):
        missing.append(f"the text {expect.text!r}")
    if expect.selector and not tab.visible(expect.selector):
        missing.append(f"a visible {expect.selector}")
    if missing:
        raise fail(
            Category.LANDING_PAGE,
            f"the page is not {variant.name}'s: it does not show {' or '.join(missing)} (title {visit.title!r})",
            expected=" and ".join(missing),
            actual=f"{landed.final.url} titled {visit.title!r}",
            exchanges=[landed.click],
            cause="the landing page is not the variant's page",
            next_step=site_step(
                f"point link {variant.slug} at {variant.name}'s page, or correct expect.landing in the config"
            ),
        )


def _has_lead_form(run: StepRun, tab: Tab, visit: Visit, landed: Landed, form: str) -> None:
    if not tab.visible(form):
        problem, cause = (
            f"has no visible lead form ({form})",
            "the landing page of a LEAD_CAPTURE funnel has no lead form",
        )
    elif tab.email_field(form) is None:
        problem, cause = (
            f"has a lead form ({form}) without an email field",
            "the landing page's lead form has no email field",
        )
    else:
        return
    raise fail(
        Category.LANDING_PAGE,
        f"the landing page {short(landed.final.url)} {problem}",
        expected=f"a visible {form} with an email input",
        actual=f"{landed.final.url} titled {visit.title!r}",
        exchanges=[landed.click],
        cause=cause,
        next_step=site_step(
            f"put the lead form back on the page (or set browser.lead_form to its selector, now {form})"
        ),
    )


def _works_cleanly(run: StepRun, visit: Visit, landed: Landed, settings: BrowserSettings) -> None:
    errors = visit.page_errors + visit.console_errors + [f.line() for f in visit.own_failures]
    if errors and settings.fail_on_console_errors:
        raise fail(
            Category.LANDING_PAGE,
            f"the landing page {short(landed.final.url)} has {len(errors)} console error(s) or failed request(s) of "
            f"its own: {errors[0]}",
            expected="no console error and no failed request of the page's own assets",
            actual=errors[:10],
            exchanges=[landed.click],
            cause="the landing page has script errors or failing assets",
            next_step=site_step("fix the page's scripts and assets (or set browser.fail_on_console_errors: false)"),
        )
    budget = settings.lcp_budget_ms
    if budget and visit.lcp_ms is not None and visit.lcp_ms > budget:
        raise fail(
            Category.LANDING_PAGE,
            f"the landing page {short(landed.final.url)} is slow: Largest Contentful Paint {visit.lcp_ms:.0f} ms "
            f"({visit.lcp_element or 'element unknown'}), over the budget of {budget} ms",
            expected=f"LCP at most {budget} ms",
            actual=f"LCP {visit.lcp_ms:.0f} ms, load {visit.load_ms or 0:.0f} ms",
            exchanges=[landed.click],
            cause="the landing page's Largest Contentful Paint is over the budget",
            next_step=site_step("make the page's largest element (often the hero image) load sooner"),
        )


# -- a lead from the page ---------------------------------------------------------------------------


def submit_lead(
    run: StepRun,
    variant: PlatformVariant,
    tab: Tab,
    settings: BrowserSettings,
    expect: LandingExpect | None,
    landed: Landed,
    *,
    email: str,
    name: str,
) -> None:
    """A lead sent from the page as a shopper sends it is CAPTURED, credited to this variant and
    found in the creator's review list and export (the lead step's own checks)."""
    form = _form(settings, expect)
    answer = tab.submit(form, email=email, name=name, posts_to="/leads")
    if answer.status is None and not answer.url:
        raise fail(
            Category.LANDING_PAGE,
            f"the lead form ({form}) sends nothing: {answer.error}",
            expected="a POST to the public leads route when the form is submitted",
            actual=answer.error,
            exchanges=[landed.click],
            cause="the landing page's lead form does not send the lead",
            next_step=site_step("make the form post the lead (POST /v2/public/handles/{handle}/leads with the ctx)"),
        )
    ex = form_exchange(run, answer)
    lead = f"a lead sent from {variant.name}'s page"
    body = lead_capture.check_stored(ex, lead=lead, doing=f"sending a lead from {variant.name}'s page")
    lead_capture.check_credited(run, ex, body, lead=lead, slug=variant.slug, click=landed.click)
    run.artifacts.add("leadIds", body["leadId"])
    run.artifacts.put("browserLead", {"leadId": body["leadId"], "slug": body["slug"], "status": body["status"]})
    if body["status"] != "CAPTURED":
        return  # EMAIL_OTP or EMAIL_REPLY_YES: listed only once verified
    captured = lead_capture.Lead(
        lead_id=body["leadId"], email=email, name=name, slug=variant.slug, status=body["status"], exchange=ex
    )
    # the whole row, slug included, as the lead step reviews its own lead
    lead_capture.find_in_review(run, captured)


# -- helpers --------------------------------------------------------------------------------------------


def _expectations(run: StepRun, variant: PlatformVariant) -> LandingExpect | None:
    try:
        configured = run.campaign.config.variant(variant.name)
    except KeyError:  # a decoy variant is nobody's page
        return None
    return configured.expect.landing if configured.expect else None


def _form(settings: BrowserSettings, expect: LandingExpect | None) -> str:
    return (expect.lead_form if expect and expect.lead_form else None) or settings.lead_form


def _note(run: StepRun, visits: list[Visit], settings: BrowserSettings, seen: list[landing_look.Look]) -> None:
    """What each visit saw, and what it found without failing (for the report's artifacts)."""
    run.artifacts.put("landing", [visit.facts() for visit in visits])
    if seen:
        run.artifacts.put("looks", [look.facts(settings) for look in seen])
    blocked: Counter = Counter()
    for visit in visits:
        blocked.update(visit.blocked)
    run.artifacts.put("blocked", dict(sorted(blocked.items())))
    findings = []
    for visit in visits:
        findings += [f"{visit.viewport}: console error: {error}" for error in visit.page_errors + visit.console_errors]
        findings += [f"{visit.viewport}: failed request: {failed.line()}" for failed in visit.own_failures]
    if findings:
        run.artifacts.put(
            "landingFindings",
            {
                "failing": settings.fail_on_console_errors,
                "why": "recorded; they fail the run only with browser.fail_on_console_errors: true",
                "findings": findings,
            },
        )


def _rebuilt(failure: PreflightFailure) -> PreflightFailure:
    """The same failure with its message rebuilt (the summary changed after it was made)."""
    return PreflightFailure(**{name: getattr(failure, name) for name in failure.__dataclass_fields__})


def _screen(viewport: Any) -> str:
    return f"{viewport.name} ({viewport.width}×{viewport.height})"
