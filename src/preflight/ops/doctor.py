"""The doctor's checks, beyond readiness: what the target really sends, what is left on it
from earlier runs, whether a run fits today's quota, whether our clock agrees with it, and
whether a peak window is on (or when the next one starts).

Every check here is a GET. Each gives a readiness.Row: PASS, FAIL (with its fix) or UNKNOWN
(with the reason it cannot be told).
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

from preflight.config import TargetConfig
from preflight.core.categories import Category
from preflight.core.readings import read_bool
from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.http.listing import pages
from preflight.http.readiness import FAIL, PASS, UNKNOWN, Row
from preflight.ops import peak
from preflight.ops import plan as plan_mod

CLOCK_SKEW_OK = 30  # seconds
PREFETCH = {"sec-purpose": "prefetch"}
ID_HINTS = ("request-id", "requestid", "trace-id", "correlation-id")


def request_id_header(ex: Exchange, configured: list[str], where: str) -> Row:
    """The header the target really puts its request id in, against contract.request_id_headers."""
    item = "request-id header"
    present = [name for name in configured if ex.response_headers.get(name)]
    if present:
        return Row(item, PASS, f"{present[0]} (listed in contract.request_id_headers)")
    others = [name for name in ex.response_headers if any(hint in name for hint in ID_HINTS)]
    if others:
        return Row(
            item,
            FAIL,
            f"the answers carry it in {others[0]}, which contract.request_id_headers does not list",
            f"add {others[0]} to contract.request_id_headers in {where}",
        )
    body_id = isinstance(ex.response_body, dict) and ex.response_body.get("requestId")
    return Row(
        item,
        UNKNOWN,
        "no request-id header on the answers" + (" (error bodies carry requestId)" if body_id else ""),
        "failures will name request ids only from error bodies",
    )


def clock(ex: Exchange, now: float) -> Row:
    item = "clock"
    stamp = ex.response_headers.get("date")
    if not stamp:
        return Row(item, UNKNOWN, "the answers carry no Date header to compare with")
    try:
        theirs = parsedate_to_datetime(stamp).timestamp()
    except (TypeError, ValueError):
        return Row(item, UNKNOWN, f"an unreadable Date header: {stamp}")
    skew = now - theirs
    detail = f"local clock {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the platform's Date header"
    if abs(skew) <= CLOCK_SKEW_OK:
        return Row(item, PASS, detail)
    return Row(item, FAIL, detail, "sync the clock (NTP): JWT expiry and ctx ages are judged on it")


def pf_campaigns(client: PlatformClient) -> tuple[list[dict[str, Any]], Exchange | None]:
    """The handle's campaigns that runs created (`pf-…`), from the campaign list."""
    found, last = [], None
    for ex, items in pages(client, "list_campaigns", step="doctor"):
        last = ex
        found += [c for c in items or [] if isinstance(c, dict) and str(c.get("campaignId", "")).startswith("pf-")]
    return found, last


def enabled_links(client: PlatformClient, campaign: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """(the links of a campaign known to be enabled, with their bodies; the slugs whose state is unknown)."""
    enabled, unknown = [], []
    primary = campaign.get("primaryLink") if isinstance(campaign.get("primaryLink"), dict) else None
    for slug in campaign.get("links") or ([primary["slug"]] if primary else []):
        link = primary if primary and primary.get("slug") == slug else None
        if link is None:  # (gap) the contract lists no link read; a deployment that has one tells us
            ex = client.call("get_link", step="doctor", slug=slug)
            link = ex.response_body if ex.status == 200 and isinstance(ex.response_body, dict) else None
        state = read_bool(link.get("enabled")) if link is not None else None
        if state is True:  # "true" too; a link that does not say, or says what is no boolean, is unknown
            enabled.append(link)
        elif state is not False:
            unknown.append(slug)
    return enabled, unknown


def leftovers(
    client: PlatformClient, campaigns: list[dict[str, Any]], *, retire: str = "preflight cleanup --all"
) -> Row:
    """`retire`: the cleanup command as it pastes (without --yes: it shows; --yes retires)."""
    item = "leftovers of earlier runs"
    live, unknown = {}, []
    for campaign in campaigns:
        links, unsure = enabled_links(client, campaign)
        if links:
            live[campaign["campaignId"]] = [link["slug"] for link in links]
        unknown += unsure
    if live:
        count = sum(len(v) for v in live.values())
        named = "; ".join(f"{cid}: {', '.join(slugs)}" for cid, slugs in list(live.items())[:3])
        return Row(
            item,
            FAIL,
            f"{count} link(s) of {len(live)} pf- campaign(s) still enabled ({named}"
            + (", …" if len(live) > 3 else "")
            + ")",
            f"retire them: {retire} --yes",
        )
    if unknown:
        return Row(
            item,
            UNKNOWN,
            f"{len(unknown)} link(s) of pf- campaigns whose enabled state cannot be read (no link read on this "
            "platform, or an answer without a readable `enabled`)",
            f"{retire} shows what the local journals know",
        )
    return Row(item, PASS, f"none: {len(campaigns)} pf- campaign(s) on the handle, every link retired")


def click_template(client: PlatformClient, target: TargetConfig, campaigns: list[dict[str, Any]]) -> Row:
    """The click URL template resolves for a link that exists, followed without recording a click."""
    item = "click URL template"
    if target.contract.click_preview == "none":
        return Row(
            item,
            UNKNOWN,
            "the platform documents no way to follow a short link without recording a "
            "click (contract.click_preview: none); the run's first click will tell",
        )
    link = next(
        (
            c["primaryLink"]
            for c in campaigns
            if isinstance(c.get("primaryLink"), dict) and c["primaryLink"].get("enabled")
        ),
        None,
    )
    if link is None:
        return Row(item, UNKNOWN, "no enabled link on the handle to try it on")
    url = target.click_url_for(link["slug"])
    ex = client.get_url(url, step="doctor", headers=PREFETCH)
    location = ex.response_headers.get("location", "")
    if (
        ex.status in (301, 302, 303, 307, 308)
        and location.split("?")[0] == str(link.get("destinationUrl", "")).split("?")[0]
    ):
        return Row(item, PASS, f"{url} -> {ex.status} to its destination (followed as a prefetch: no click recorded)")
    return Row(
        item,
        FAIL,
        f"{url} -> {ex.status if ex.status is not None else ex.error} {location or ex.body_excerpt(60)}",
        f"fix click_url in {target.source} (e.g. https://{{handle}}.10x.in/{{slug}})",
    )


def quota(fit: plan_mod.Fit, meters: dict[str, Any] | None) -> Row:
    item = "write quota"
    if meters is None:
        return Row(item, UNKNOWN, f"the platform has no usage-meters; the run needs {fit.total} write(s)")
    detail = (
        f"plan {meters.get('plan')}: {fit.writes_left} of {meters.get('writesPerDay')} writes left, "
        f"resets at {meters.get('resetsAt')}; the run needs {fit.total}"
    )
    if fit.fits:
        return Row(item, PASS, detail)
    return Row(item, FAIL, detail, "split it: " + plan_mod.describe_split(fit.split), Category.QUOTA)


def peak_windows(windows: list[Any], now: peak.Now, *, embedded: bool) -> Row:
    """The peak window on now (a run that writes would stop: FAIL) or the next one to come."""
    item = "peak windows"
    text = peak.sentence(windows, now)
    if not windows:
        return Row(item, PASS, text)
    if embedded:
        return Row(item, PASS, f"{text} (they do not apply to the embedded sandbox, the run's own)")
    on = peak.current(windows, now.moment)
    if on is None:
        return Row(item, PASS, f"none on now {now.says()}; {text}")
    ends = peak.stamp(peak.clear_at(windows, on), on.window.tz)
    return Row(item, FAIL, text, f"run after {ends}, or pass --allow-peak to run anyway", Category.PEAK_WINDOW)


def now() -> float:
    return time.time()
