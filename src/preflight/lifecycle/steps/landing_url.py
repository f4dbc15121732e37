"""Step 7: what the landing page's URL kept of the click, read from the page's own `location.href`
once its scripts ran (a script that rewrites the URL with `history.replaceState` can drop the ctx
after load, and the page's lead form then sends none): the ctx, resolved with the API to this
click's variant, and every utm tag of the variant. A loss says who lost it: the platform's redirect
(escalated), the site's own redirect, or the page's own script (the customer site's, never escalated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from preflight.browser.visit import Visit
from preflight.core.categories import CUSTOMER_SITE, Category
from preflight.http.exchange import Exchange
from preflight.lifecycle import clicks
from preflight.lifecycle.checks import expect_json_object, expect_status, fail
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.model import PlatformVariant, StepRun
from preflight.lifecycle.shopper import short, site_step

SITE_DROPS_CTX = "the landing site's own redirect drops the click's ctx from the URL"
SITE_DROPS_TAGS = "the landing site's own redirect drops utm tags from the URL"
PLATFORM_DROPS_CTX = "a short-link click's redirect carries no ctx"
SCRIPT_DROPS_CTX = "the landing page's own script removes the click's ctx from its URL"
SCRIPT_DROPS_TAGS = "the landing page's own script removes utm tags from its URL"


def kept_the_click(
    run: StepRun, variant: PlatformVariant, visit: Visit, click: Exchange, sent_to: str, response_url: str
) -> None:
    """The page's URL, once its own scripts ran (`location.href`: a script may rewrite it), still
    carries the click's ctx (resolved: this click's variant) and every tag; a loss says who lost it:
    the platform's redirect, the site's redirect, or the page's own script."""
    urls = _Urls(sent_to, response_url, visit.page_url or response_url)
    wanted = {clicks.UTM_PARAMS[k]: v for k, v in variant.tracking.items() if k in clicks.UTM_PARAMS}
    token = urls.value("page", "ctx")
    if not token:
        raise _ctx_lost(urls, click, sorted(name for name in wanted if not urls.value("page", name)))
    resolved = _resolve(run, variant, token)
    run.artifacts.add("ctx", token)
    run.artifacts.add("clickIds", resolved.get("clickId"))
    wrong = {name: urls.value("page", name) for name in wanted if urls.value("page", name) != wanted[name]}
    if wrong:
        raise _tags_lost(variant, urls, click, wanted, wrong)


@dataclass(frozen=True)
class _Urls:
    """Where the click's answer sent the shopper, the page's answer, and its URL once its scripts ran."""

    sent: str
    response: str
    page: str

    def value(self, which: str, name: str) -> str | None:
        return (parse_qs(urlsplit(getattr(self, which)).query).get(name) or [None])[0]

    def lost_by(self, names: dict[str, str | None]) -> str:
        """`script` (the page's answer had them), `site` (the platform sent them) or `platform`."""
        if all(self.value("response", name) == value for name, value in names.items()):
            return "script"
        if all(self.value("sent", name) == value for name, value in names.items()):
            return "site"
        return "platform"


def _ctx_lost(urls: _Urls, click: Exchange, lost_tags: list[str]) -> PreflightFailure:
    # A branch per party (tests/tools/raises_covered.py counts each as a finding of its own).
    path = urlsplit(urls.sent).path
    if urls.value("response", "ctx"):
        how = (
            f": the page's own script removes it after load (its answer at {short(urls.response)} had it), so "
            "its lead form sends no ctx"
        )
        cause, party, next_step = (
            SCRIPT_DROPS_CTX,
            CUSTOMER_SITE,
            site_step(
                "stop the page's script from rewriting its URL without the ctx (history.replaceState): without it "
                "no lead or conversion from this page is attributed to its click"
            ),
        )
    elif urls.value("sent", "ctx"):
        how = f": the site sent {short(urls.sent)} on to {short(urls.response)}"
        cause, party, next_step = (
            SITE_DROPS_CTX,
            CUSTOMER_SITE,
            site_step(
                f"make the site's redirect from {path} keep the query string (ctx and utm_*): without the ctx no lead "
                "or conversion from this page is attributed to its click"
            ),
        )
    else:
        how, cause, party, next_step = (
            "",
            "a short-link click's redirect carries no ctx",
            None,
            "the platform's redirect carries no ctx for an ACTIVE campaign's enabled link: escalate",
        )
    return fail(
        Category.ATTRIBUTION,
        "the landing page's URL has lost the click's ctx"
        + (f" (and {', '.join(lost_tags)})" if lost_tags else "")
        + how,
        expected="ctx (and the utm tags) in the page's URL once its scripts ran",
        actual=urls.page,
        exchanges=[click],
        cause=cause,
        party=party,
        escalate=party is None,
        next_step=next_step,
    )


def _tags_lost(
    variant: PlatformVariant, urls: _Urls, click: Exchange, wanted: dict[str, str], wrong: dict[str, str | None]
) -> PreflightFailure:
    # A branch per party (tests/tools/raises_covered.py counts each as a finding of its own).
    who = urls.lost_by({name: wanted[name] for name in wrong})
    keep = site_step(
        "make the site's redirects and scripts keep the utm_* tags, or analytics cannot attribute the visit"
    )
    if who == "script":
        cause, party, next_step = SCRIPT_DROPS_TAGS, CUSTOMER_SITE, keep
    elif who == "site":
        cause, party, next_step = SITE_DROPS_TAGS, CUSTOMER_SITE, keep
    else:
        cause, party, next_step = (
            clicks.TAG_LOST,
            None,
            f"run campaign health before spend ramp (UC-07 step 1); the config tags link {variant.slug} "
            f"with {', '.join(sorted(wrong))}, so the platform lost it: escalate",
        )
    return fail(
        Category.MISSING_TRAFFIC_TAGS,
        f"the landing page's URL lacks or changed {', '.join(sorted(wrong))}"
        + (" after its own script ran (its answer's URL had them)" if who == "script" else ""),
        expected={name: wanted[name] for name in wrong},
        actual=wrong,
        exchanges=[click],
        cause=cause,
        party=party,
        escalate=party is None,
        next_step=next_step,
    )


def _resolve(run: StepRun, variant: PlatformVariant, token: str) -> dict[str, Any]:
    ex = run.client.call("resolve_context", step=run.step, params={"ctx": token})
    body = expect_status(
        ex,
        200,
        doing=f"resolving the ctx the browser landed with from {variant.slug}",
        categories={"invalid_ctx": (Category.INVALID_CTX, "a fresh ctx from a browser's click is refused")},
    )
    body = expect_json_object(ex, body, doing="resolving a ctx", fields=("slug", "campaignId"))
    actual = {"slug": body["slug"], "campaignId": body["campaignId"]}
    expected = {"slug": variant.slug, "campaignId": run.campaign.campaign_id}
    if actual != expected:
        raise fail(
            Category.ATTRIBUTION,
            f"the browser's click on {variant.slug} is credited to {body['slug']} of {body['campaignId']}",
            expected=expected,
            actual=actual,
            exchanges=[ex],
            cause="a click's ctx resolves to another variant or campaign than the link clicked",
            next_step="every lead and conversion from this page would count for the wrong variant: escalate",
        )
    return body
