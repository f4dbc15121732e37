"""Fresh ctx tokens from real clicks: follow the short link without following the
redirect, take `ctx` from Location, and check it with GET /v2/public/context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status, fail
from preflight.lifecycle.model import LiveVariant, StepRun

REDIRECTS = (301, 302, 303, 307, 308)
# One root cause, whichever step sees it (health's traffic_tags, a redirect without the utm tag).
TAG_LOST = "the platform dropped a traffic tag the config sets"
CREDITED_ELSEWHERE = "a lead or conversion is credited to another variant or campaign than the click it came from"
UTM_PARAMS = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign"}


@dataclass
class Ctx:
    token: str
    slug: str
    campaign_id: str
    click_id: str | None
    expires_at: str | None
    click: Exchange
    resolve: Exchange


def fresh_ctx(run: StepRun, variant: LiveVariant) -> Ctx:
    client = run.client
    click = client.get_url(run.target.click_url_for(variant.slug), step=run.step)
    expect_status(click, REDIRECTS, doing=f"clicking {variant.slug}")
    location = click.response_headers.get("location", "")
    query = parse_qs(urlsplit(location).query)
    token = (query.get("ctx") or [""])[0]
    if not token:
        # Nothing after this click (a lead, a conversion) could be credited to the variant.
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} minted no ctx",
            expected="a Location with ?ctx=… (the campaign is ACTIVE)",
            actual=location or "no Location",
            exchanges=[click],
            cause="a click on an ACTIVE campaign's link redirects without a ctx",
            next_step="nothing the visitor does after this click can be attributed: check the campaign is ACTIVE "
            "and the link enabled, bound to it and set to append its ctx, then escalate with the request id",
        )
    run.artifacts.add("redirectTags", {UTM_PARAMS[k]: (query.get(UTM_PARAMS[k]) or [None])[0] for k in UTM_PARAMS})
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
    expected = {"handle": client.handle, "slug": variant.slug, "campaignId": run.campaign.campaign_id}
    if actual != expected:
        raise fail(
            Category.ATTRIBUTION,
            f"a click on {variant.slug} is credited to {body['slug']} of {body['campaignId']}",
            expected=expected,
            actual=actual,
            exchanges=[click, resolve],
            cause="a click's ctx resolves to another variant or campaign than the link clicked",
            next_step="every conversion from this click would count for the wrong variant: escalate with "
            "both request ids before spend ramps",
        )
    run.artifacts.add("ctx", token)
    run.artifacts.add("clickIds", body["clickId"])
    if run.journal is not None and not run.campaign.notes.get("ctx_kept") and isinstance(body.get("expiresAt"), str):
        # for a later run on this target: a stale ctx once its lifetime is over (tests of step 6)
        run.journal.ctx(run.campaign.campaign_id, run.campaign.handle, variant.slug, token, body["expiresAt"])
        run.campaign.notes["ctx_kept"] = True
    return Ctx(
        token=token,
        slug=variant.slug,
        campaign_id=body["campaignId"],
        click_id=body["clickId"],
        expires_at=body.get("expiresAt"),
        click=click,
        resolve=resolve,
    )


def check_redirect_tags(run: StepRun, ctx: Ctx, variant: LiveVariant) -> None:
    """The click lands on the variant's own page, with its utm tags, so the A/B split and the
    analytics attribute the visit.

    Only the health step asserts this: a lost tag is one finding, not a failure of every
    later step that merely needs a ctx."""
    landed = ctx.click.response_headers.get("location", "")
    location = urlsplit(landed)
    query = parse_qs(location.query)
    page = _landing_variant(run, variant, location, query)
    if page is not None and page is not variant:
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} sends the visitor to {page.slug}'s page",
            expected=variant.destination_url,
            actual=landed,
            exchanges=[ctx.click],
            cause="a variant's click redirects to another variant's destination",
            next_step="the A/B split is broken (both arms see one page): escalate before spend ramps",
        )
    if page is None:
        _elsewhere(ctx, variant, location, query)
    _check_utm(ctx, variant, query)


def _elsewhere(ctx: Ctx, variant: LiveVariant, location: Any, query: dict) -> None:
    """The click lands on no variant's page: another host or path, or the destination without its
    own query (which is how an A/B split often tells its pages apart). Either way the variant's
    traffic lands somewhere it should not, silently: attribution."""
    destination = urlsplit(variant.destination_url)
    landed = ctx.click.response_headers.get("location")
    if (location.scheme, location.netloc, location.path) != (destination.scheme, destination.netloc, destination.path):
        raise fail(
            Category.ATTRIBUTION,
            f"the click on {variant.slug} lands on another page than its destination",
            expected=variant.destination_url,
            actual=landed,
            exchanges=[ctx.click],
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
                exchanges=[ctx.click],
                cause="a click's redirect drops or changes the destination's own query",
                next_step="the page that tells the variants apart by its query would show another variant: "
                "escalate with the request id before spend ramps",
            )


def _check_utm(ctx: Ctx, variant: LiveVariant, query: dict) -> None:
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
            exchanges=[ctx.click],
            cause="a click's redirect carries other utm values than its link",
        )
    missing = [key for key, param in UTM_PARAMS.items() if variant.tracking.get(key) and not query.get(param)]
    if missing:
        raise fail(
            Category.MISSING_TRAFFIC_TAGS,
            f"the click on {variant.slug} redirects without {', '.join(UTM_PARAMS[k] for k in missing)}",
            expected={UTM_PARAMS[k]: variant.tracking[k] for k in missing},
            actual="absent from the redirect's query string",
            exchanges=[ctx.click],
            cause=TAG_LOST,
            next_step=f"run campaign health before spend ramp (UC-07 step 1); the config tags link "
            f"{variant.slug} with {', '.join(missing)}, so the platform lost it: escalate",
        )


def _landing_variant(run: StepRun, variant: LiveVariant, location: Any, query: dict) -> LiveVariant | None:
    """The variant whose page the redirect lands on: of the destinations it matches (same scheme,
    host and path, and each of the destination's own query parameters), the most specific one, the
    clicked variant winning a tie. So with A at /spring and B at /spring?v=b, a redirect to
    /spring?v=b is B's page, whichever variant was clicked. None: no variant's page."""

    def score(url: str) -> int | None:
        parts = urlsplit(url)
        own = parse_qs(parts.query)
        same_page = (parts.scheme, parts.netloc, parts.path) == (location.scheme, location.netloc, location.path)
        return len(own) if same_page and all(query.get(k) == v for k, v in own.items()) else None

    scored = [(score(v.destination_url), v is variant, v) for v in run.campaign.variants]
    matching = [entry for entry in scored if entry[0] is not None]
    return max(matching, key=lambda entry: (entry[0], entry[1]))[2] if matching else None


def sent_elsewhere(run: StepRun, variant: LiveVariant, url: str) -> LiveVariant | None:
    """The sibling variant whose page `url` is, when it is not the clicked variant's own."""
    location = urlsplit(url)
    page = _landing_variant(run, variant, location, parse_qs(location.query))
    return page if page is not None and page is not variant else None


def tamper(token: str) -> str:
    """The same ctx with one character of its signature changed."""
    # Not the last character: in base64 its low bits may be padding and decode the same.
    index = max(0, len(token) - 6)
    swapped = "A" if token[index] != "A" else "B"
    return token[:index] + swapped + token[index + 1 :]
