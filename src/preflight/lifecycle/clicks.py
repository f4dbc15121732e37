"""Real clicks: one way to follow a short link, shared by the lifecycle's steps (fresh ctx tokens,
the redirect's tags, the browser's click in the shopper's journey) and the audit (`preflight audit
--click`, `--browser`).

What a click's answer may be, and what makes it wrong, is `core/hops.py`; here is the judgement:
whose fix a wrong hop is and what to do, the same for the HTTP client's click and the browser's.
The redirect is never followed by the client: the landing URL is read from the answer, its `ctx`
is checked with GET /v2/public/context."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from preflight.core import hops
from preflight.core.categories import Category
from preflight.core.clock import parse_time
from preflight.core.hops import Wrong
from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status, fail
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.model import PlatformVariant, StepRun

# One root cause, whichever step sees it (health's traffic_tags, a redirect without the utm tag).
TAG_LOST = "the platform dropped a traffic tag the config sets"
CREDITED_ELSEWHERE = "a lead or conversion is credited to another variant or campaign than the click it came from"
UTM_PARAMS = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign"}
WORKING_CLICK = "a working click (302, 307 or a bridge page)"


@dataclass
class Landing:
    """A click that worked: how it answered and where it sends the visitor."""

    how: str  # "302", "307" or "bridge"
    url: str  # the redirect's Location, or where the bridge page sends the visitor
    exchange: Exchange

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query)

    def tags(self) -> dict[str, str | None]:
        query = self.query
        return {param: (query.get(param) or [None])[0] for param in UTM_PARAMS.values()}


def click(client: PlatformClient, url: str, *, step: str, headers: dict[str, str] | None = None) -> Exchange:
    """One click on a short link (the redirect is not followed)."""
    return client.get_url(url, step=step, headers=headers)


def answer_of(ex: Exchange) -> hops.ClickAnswer:
    """A click's exchange as `core/hops.py` reads it."""
    body = ex.response_body
    return hops.ClickAnswer(
        url=ex.url,
        status=ex.status,
        location=ex.response_headers.get("location") or None,
        page=body if isinstance(body, str) else "",
        error_code=ex.error_code,
    )


def landing(ex: Exchange, slug: str, *, own_link: bool, clicking: str | None = None) -> Landing:
    """Where a click sends the visitor, or the finding that it does not work: the HTTP client's
    click and the browser's (its first hop, as an exchange) alike.

    `own_link`: the harness made the link itself (the lifecycle's throwaway links carry no
    schedule, limit or password), so an answer about the link's lifetime is the platform's doing.
    `clicking`: what made the click, for an error's summary (default "clicking {slug}")."""
    hop = hops.follow(answer_of(ex))
    if isinstance(hop, hops.WayOn):
        return Landing(hop.how, hop.url, ex)
    if hop.wrong is Wrong.NOWHERE:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"the click on {slug} answers 200 with a page that sends the visitor nowhere",
            expected='a bridge page: <meta http-equiv="refresh" content="0;url=…"> or <a id="continue" href="…">',
            actual=ex.body_excerpt(300),
            exchanges=[ex],
            cause="a click answers 200 with no bridge page markup",
        )
    if hop.wrong is Wrong.TWO_WAYS:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"the bridge page of {slug} sends the visitor two ways: {hop.seen}",
            expected="one destination for both",
            actual=hop.seen,
            exchanges=[ex],
            cause="a bridge page's refresh and continue link disagree",
        )
    raise refused(hop, ex, slug, own_link=own_link, clicking=clicking)


def refused(hop: hops.WrongHop, ex: Exchange, slug: str, *, own_link: bool, clicking: str | None) -> PreflightFailure:
    """The finding for a click that does not reach the destination."""
    if hop.wrong is Wrong.DESTINATION_UNVERIFIED:
        return fail(
            Category.DESTINATION_TRUST,
            f"the click on {slug} is refused: its destination's domain is listed and not VERIFIED (403 "
            "destination_unverified)",
            expected=WORKING_CLICK,
            actual=f"403 destination_unverified: {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause="a destination domain is listed but not VERIFIED",
            next_step="verify the destination domain in the dashboard (Destination domains: verify, or POST "
            "…/destination-domains/{domain}/verify), then re-run: until then every click is refused",
        )
    if hop.wrong in hops.LIFETIME and not own_link:
        return fail(
            Category.LINK_LIFETIME,
            f"the click on {slug} answers {hop.seen}, not the destination",
            expected=WORKING_CLICK,
            actual=f"{hop.seen}: {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause=f"a live link answers {hop.seen}",
            next_step="open the link in the dashboard and clear what stops it (its expiry or end, its click "
            "limit, its password), then re-run",
        )
    if hop.wrong in hops.LIFETIME or hop.wrong in (Wrong.NO_LOCATION, Wrong.OTHER_REDIRECT):
        return fail(
            Category.CONTRACT_VIOLATION,
            f"the click on {slug} answers {hop.seen}"
            + (" without a Location" if hop.wrong is Wrong.NO_LOCATION else ""),
            expected="302, 307 (with a Location) or a bridge page",
            actual=f"{ex.status}: {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause=f"a click on a link the run made answers {hop.seen}",
        )
    from preflight.lifecycle.classify import failure_from_exchange

    return failure_from_exchange(
        ex, step=ex.step or "", expected="302, 307 or a bridge page", context=clicking or f"clicking {slug}"
    )


@dataclass
class Ctx:
    token: str
    slug: str
    campaign_id: str
    click_id: str | None
    expires_at: str | None
    click: Exchange
    resolve: Exchange
    landing: Landing
    clicked_at: str | None = None


def fresh_ctx(run: StepRun, variant: PlatformVariant) -> Ctx:
    client = run.client
    ex = click(client, run.target.click_url_for(variant.slug), step=run.step)
    landed = landing(ex, variant.slug, own_link=True)
    return resolved_ctx(run, variant, landed, run.campaign.campaign_id)


def resolved_ctx(run: StepRun, variant: PlatformVariant, landed: Landing, campaign_id: str) -> Ctx:
    """The ctx a working click carries, resolved and checked to be this variant's."""
    client = run.client
    token = (landed.query.get("ctx") or [""])[0]
    if not token:
        # Nothing after this click (a lead, a conversion) could be credited to the variant.
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} minted no ctx",
            expected="a landing URL with ?ctx=… (the campaign is ACTIVE)",
            actual=landed.url or "no landing URL",
            exchanges=[landed.exchange],
            cause="a click on an ACTIVE campaign's link redirects without a ctx",
            next_step="nothing the visitor does after this click can be attributed: check the campaign is ACTIVE "
            "and the link enabled, bound to it and set to append its ctx, then escalate with the request id",
        )
    run.artifacts.add("redirectTags", landed.tags())
    resolve = client.call("resolve_context", step=run.step, params={"ctx": token})
    body = expect_status(
        resolve,
        200,
        doing=f"resolving the fresh ctx of {variant.slug}",
        categories={"invalid_ctx": Category.INVALID_CTX},
    )
    body = expect_json_object(
        resolve, body, doing="resolving a ctx", fields=("handle", "slug", "campaignId", "clickId", "expiresAt")
    )
    actual = {"handle": body["handle"], "slug": body["slug"], "campaignId": body["campaignId"]}
    expected = {"handle": client.handle, "slug": variant.slug, "campaignId": campaign_id}
    if actual != expected:
        raise fail(
            Category.ATTRIBUTION,
            f"a click on {variant.slug} is credited to {body['slug']} of {body['campaignId']}",
            expected=expected,
            actual=actual,
            exchanges=[landed.exchange, resolve],
            cause="a click's ctx resolves to another variant or campaign than the link clicked",
            next_step="every conversion from this click would count for the wrong variant: escalate with "
            "both request ids before spend ramps",
        )
    run.artifacts.add("ctx", token)
    run.artifacts.add("clickIds", body["clickId"])
    if run.journal is not None and not run.campaign.notes.get("ctx_kept") and parse_time(body.get("expiresAt")):
        # for a later run on this target: a stale ctx once its lifetime is over (tests of step 6)
        run.journal.ctx(run.campaign.campaign_id, run.campaign.handle, variant.slug, token, str(body["expiresAt"]))
        run.campaign.notes["ctx_kept"] = True
    counts = run.campaign.notes.setdefault("clicks", {})
    counts[variant.slug] = counts.get(variant.slug, 0) + 1  # the analytics step counts them back
    return Ctx(
        token=token,
        slug=variant.slug,
        campaign_id=body["campaignId"],
        click_id=body["clickId"],
        expires_at=body.get("expiresAt"),
        click=landed.exchange,
        resolve=resolve,
        landing=landed,
        clicked_at=body.get("clickedAt") or _answered_at(landed.exchange),
    )


def _answered_at(ex: Exchange) -> str | None:
    """When the click was answered, by its Date header (the platform's clock), else now."""
    try:
        return parsedate_to_datetime(ex.response_headers["date"]).isoformat()
    except (KeyError, TypeError, ValueError):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def check_ctx_lifetime(run: StepRun, ctx: Ctx, window_minutes: int) -> float:
    """A conversion `window_minutes` after the click must still find its ctx valid: expiresAt −
    clickedAt covers the window. Answers the ctx's lifetime in minutes."""
    start, end = parse_time(ctx.clicked_at or ""), parse_time(ctx.expires_at or "")
    if start is None or end is None:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"the ctx of {ctx.slug} has no readable clickedAt/expiresAt",
            expected="RFC 3339 clickedAt and expiresAt from GET /v2/public/context",
            actual={"clickedAt": ctx.clicked_at, "expiresAt": ctx.expires_at},
            exchanges=[ctx.resolve],
            cause="GET /v2/public/context gives no readable clickedAt or expiresAt",
        )
    lifetime = (end - start).total_seconds() / 60
    run.artifacts.put("ctxLifetimeMinutes", round(lifetime, 1))
    if lifetime + 1e-6 < window_minutes:
        raise fail(
            Category.CTX_LIFETIME,
            f"the ctx of a click on {ctx.slug} lives {lifetime:.1f} min, less than the "
            f"{window_minutes} min conversion window",
            expected=f"expiresAt − clickedAt ≥ {window_minutes} min (expectations.conversion_window_minutes)",
            actual=f"{lifetime:.1f} min (clickedAt {ctx.clicked_at}, expiresAt {ctx.expires_at})",
            exchanges=[ctx.click, ctx.resolve],
            cause="a click's ctx expires before the configured conversion window ends",
            next_step=f"a conversion later than {lifetime:.0f} min after its click cannot be attributed: set "
            f"expectations.conversion_window_minutes to what the platform gives ({lifetime:.0f}) if your buyers "
            "convert sooner, or ask 10xDotIn support whether the handle's ctx lifetime can be raised",
        )
    return lifetime


def check_redirect_tags(run: StepRun, ctx: Ctx, variant: PlatformVariant) -> None:
    """The click lands on the variant's own page, with its utm tags, so the A/B split and the
    analytics attribute the visit.

    Only the health step asserts this: a lost tag is one finding, not a failure of every
    later step that merely needs a ctx."""
    check_landing(run, ctx.landing, variant)


def check_landing(run: StepRun, landed: Landing, variant: PlatformVariant) -> None:
    """A working click lands on `variant`'s destination (its own query kept) with its utm tags."""
    location = urlsplit(landed.url)
    query = parse_qs(location.query)
    page = _landing_variant(run, variant, location, query)
    if page is not None and page.slug != variant.slug:
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} sends the visitor to {page.slug}'s page",
            expected=variant.destination_url,
            actual=landed.url,
            exchanges=[landed.exchange],
            cause="a variant's click redirects to another variant's destination",
            next_step="the A/B split is broken (both arms see one page): escalate before spend ramps",
        )
    if page is None:
        _elsewhere(landed, variant, location, query)
    _check_utm(landed, variant, query)


def _elsewhere(landed: Landing, variant: PlatformVariant, location: Any, query: dict) -> None:
    """The click lands on no variant's page: another host or path, or the destination without its
    own query (which is how an A/B split often tells its pages apart). Either way the variant's
    traffic lands somewhere it should not, silently: attribution."""
    destination = urlsplit(variant.destination_url)
    if (location.scheme, location.netloc, location.path) != (destination.scheme, destination.netloc, destination.path):
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} lands on another page than its destination",
            expected=variant.destination_url,
            actual=landed.url,
            exchanges=[landed.exchange],
            cause="a click redirects to another page than the link's destinationUrl",
            next_step="the variant's traffic would land on a page the A/B test does not measure: compare the link's "
            "destinationUrl on the platform with the config, and escalate with the request id before spend ramps",
        )
    for key, value in parse_qs(destination.query).items():  # the destination's own query survives
        if query.get(key) != value:
            raise fail(
                Category.ATTRIBUTION,
                f"the click on {variant.slug} drops or changes ?{key}= of its destination",
                expected=f"{key}={value}",
                actual=f"{key}={query.get(key)}",
                exchanges=[landed.exchange],
                cause="a click's redirect drops or changes the destination's own query",
                next_step="the page that tells the variants apart by its query would show another variant: "
                "escalate with the request id before spend ramps",
            )


def _check_utm(landed: Landing, variant: PlatformVariant, query: dict) -> None:
    wrong = {
        UTM_PARAMS[k]: (query.get(UTM_PARAMS[k]) or [None])[0]
        for k, v in variant.tracking.items()
        if k in UTM_PARAMS and query.get(UTM_PARAMS[k]) and query[UTM_PARAMS[k]][0] != v
    }
    if wrong:
        raise fail(
            Category.MISSING_TRAFFIC_TAGS,
            f"the click on {variant.slug} redirects with other utm values",
            expected={UTM_PARAMS[k]: v for k, v in variant.tracking.items() if UTM_PARAMS.get(k) in wrong},
            actual=wrong,
            exchanges=[landed.exchange],
            cause="a click's redirect carries other utm values than its link",
        )
    missing = [key for key, param in UTM_PARAMS.items() if variant.tracking.get(key) and not query.get(param)]
    if missing:
        raise fail(
            Category.MISSING_TRAFFIC_TAGS,
            f"the click on {variant.slug} redirects without {', '.join(UTM_PARAMS[k] for k in missing)}",
            expected={UTM_PARAMS[k]: variant.tracking[k] for k in missing},
            actual="absent from the redirect's query string",
            exchanges=[landed.exchange],
            cause=TAG_LOST,
            next_step=f"run campaign health before spend ramp (UC-07 step 1); the config tags link "
            f"{variant.slug} with {', '.join(missing)}, so the platform lost it: escalate",
        )


def _landing_variant(run: StepRun, variant: PlatformVariant, location: Any, query: dict) -> PlatformVariant | None:
    """The variant whose page the redirect lands on: of the destinations it matches (same scheme,
    host and path, and each of the destination's own query parameters), the most specific one, the
    clicked variant winning a tie. So with A at /spring and B at /spring?v=b, a redirect to
    /spring?v=b is B's page, whichever variant was clicked. None: no variant's page."""

    def score(url: str) -> int | None:
        parts = urlsplit(url)
        own = parse_qs(parts.query)
        same_page = (parts.scheme, parts.netloc, parts.path) == (location.scheme, location.netloc, location.path)
        return len(own) if same_page and all(query.get(k) == v for k, v in own.items()) else None

    # The clicked variant as given (the audit's carries where routing sends such a visitor), then its siblings.
    candidates = [variant, *(v for v in run.campaign.variants if v.slug != variant.slug)]
    scored = [(score(v.destination_url), v is variant, v) for v in candidates]
    matching = [entry for entry in scored if entry[0] is not None]
    return max(matching, key=lambda entry: (entry[0], entry[1]))[2] if matching else None


def sent_elsewhere(run: StepRun, variant: PlatformVariant, url: str) -> PlatformVariant | None:
    """The sibling variant whose page `url` is, when it is not the clicked variant's own."""
    location = urlsplit(url)
    page = _landing_variant(run, variant, location, parse_qs(location.query))
    return page if page is not None and page.slug != variant.slug else None


def tamper(token: str) -> str:
    """The same ctx with one character of its signature changed."""
    # Not the last character: in base64 its low bits may be padding and decode the same.
    index = max(0, len(token) - 6)
    swapped = "A" if token[index] != "A" else "B"
    return token[:index] + swapped + token[index + 1 :]
