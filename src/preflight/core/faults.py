"""The sandbox's fault catalogue: the names, what each does and its options.

The names are an interface: the fault-matrix tests, a sandbox target's `sandbox.faults` config
and `PUT /__sandbox/faults` use them. Code names a fault by its `FaultName` member, never a typed
string (tests/unit/test_names.py fails on a `FaultName.<NAME>` the enum does not have, and the
sandbox's registry refuses a name outside the catalogue). The config and the sandbox both read
this module, so the config need not import the sandbox.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FaultName(StrEnum):
    TEST_CONVERSION_REJECTS_CTX = "test_conversion_rejects_ctx"
    TRAFFIC_TAG_DROPPED = "traffic_tag_dropped"
    REPLAY_COUNTED_TWICE = "replay_counted_twice"
    KEYS_MERGED = "keys_merged"
    VALID_EMAIL_REJECTED = "valid_email_rejected"
    INVALID_EMAIL_ACCEPTED = "invalid_email_accepted"
    STALE_CTX_ACCEPTED = "stale_ctx_accepted"
    WRONG_CAMPAIGN_ACCEPTED = "wrong_campaign_accepted"
    LEAD_MISSING_FROM_LIST = "lead_missing_from_list"
    LEAD_MISSING_FROM_EXPORT = "lead_missing_from_export"
    PUBLISH_LEFT_PUBLIC = "publish_left_public"
    SCHEMA_FETCH_FAILS = "schema_fetch_fails"
    HEALTH_DISAGREE = "health_disagree"
    THROTTLE_STORM = "throttle_storm"
    SERVER_ERROR_BLIPS = "server_error_blips"
    COMMIT_THEN_503 = "commit_then_503"
    COMMIT_THEN_TIMEOUT = "commit_then_timeout"
    SLOW_ANSWERS = "slow_answers"
    CONVERSION_DEDUPED_FRESH = "conversion_deduped_fresh"
    ATTRIBUTION_SWAPPED = "attribution_swapped"
    REDIRECT_SWAPPED = "redirect_swapped"
    REDIRECT_OFFSITE = "redirect_offsite"
    CTX_MISATTRIBUTED = "ctx_misattributed"
    LEAD_DROPPED_SILENTLY = "lead_dropped_silently"
    QUOTA_REFUSED_EARLY = "quota_refused_early"
    SPARSE_PAGES = "sparse_pages"
    ANSWER_REWRITTEN = "answer_rewritten"
    PENDING_LEAD_LISTED = "pending_lead_listed"
    TRAFFIC_TAG_CHANGED = "traffic_tag_changed"
    KEY_REUSE_ACCEPTED = "key_reuse_accepted"
    CLICK_EVENT_NOT_DEDUPED = "click_event_not_deduped"
    PRIMARY_LINK_PENDING = "primary_link_pending"
    PUBLISH_FAILS = "publish_fails"
    TAMPERED_CTX_ACCEPTED = "tampered_ctx_accepted"
    CTX_DROPPED = "ctx_dropped"
    LANDING_NOT_FOUND = "landing_not_found"
    SITE_REDIRECT_DROPS_QUERY = "site_redirect_drops_query"
    LEAD_FORM_MISSING = "lead_form_missing"
    LANDING_SCRIPT_ERROR = "landing_script_error"
    LANDING_ASSET_MISSING = "landing_asset_missing"
    LANDING_SLOW = "landing_slow"
    DETAIL_PAGE_UNGATED = "detail_page_ungated"
    LEAD_FORM_INERT = "lead_form_inert"
    DETAIL_PAGE_DOWN = "detail_page_down"
    LANDING_CHANGED = "landing_changed"
    LANDING_STRIPS_CTX = "landing_strips_ctx"
    LANDING_PAINT_UNMEASURED = "landing_paint_unmeasured"
    DETAIL_PAGE_CONTENT_UNDER_GATE = "detail_page_content_under_gate"
    BRIDGE_SLOW = "bridge_slow"
    EXTRA_FIELDS = "extra_fields"
    REQUEST_ID_HEADER = "request_id_header"
    ERROR_SHAPE = "error_shape"
    REDIRECT_307 = "redirect_307"
    BRIDGE_CLICKS = "bridge_clicks"
    TEST_CONVERSIONS_COUNTED = "test_conversions_counted"
    BOTS_COUNTED_QUALIFIED = "bots_counted_qualified"
    CLICK_FAILS = "click_fails"


TRAFFIC_TAGS = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign"}


@dataclass(frozen=True)
class Fault:
    name: FaultName
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)


CATALOGUE: dict[FaultName, Fault] = {
    f.name: f
    for f in [
        Fault(
            FaultName.TEST_CONVERSION_REJECTS_CTX,
            "test-conversion answers 400 invalid_ctx (reason bad_signature) to a good ctx",
        ),
        Fault(
            FaultName.TRAFFIC_TAG_DROPPED,
            "links read back without one traffic tag (option tag, default utmMedium): health "
            "traffic_tags FAILs naming it, the redirect lacks the utm param",
            {"tag": "utmMedium"},
        ),
        Fault(
            FaultName.REPLAY_COUNTED_TWICE,
            "a replay of a public conversion (same key, same body) creates a second conversion "
            "with a new id, 201, no Idempotent-Replayed",
        ),
        Fault(
            FaultName.KEYS_MERGED,
            "a public conversion under a new key (and a new ctx) is answered with the previous "
            "conversion of that campaign (same conversionId, Idempotent-Replayed: true)",
        ),
        Fault(FaultName.VALID_EMAIL_REJECTED, "a valid lead email gets 400 invalid_email"),
        Fault(FaultName.INVALID_EMAIL_ACCEPTED, "an invalid email is captured (201 CAPTURED)"),
        Fault(
            FaultName.STALE_CTX_ACCEPTED,
            "an expired ctx is accepted everywhere a ctx is taken (context, leads, test and public conversions)",
        ),
        Fault(FaultName.WRONG_CAMPAIGN_ACCEPTED, "a ctx of another campaign is accepted by test-conversion"),
        Fault(FaultName.LEAD_MISSING_FROM_LIST, "captured leads are left out of GET …/leads"),
        Fault(FaultName.LEAD_MISSING_FROM_EXPORT, "captured leads are left out of the CSV export"),
        Fault(
            FaultName.PUBLISH_LEFT_PUBLIC,
            "publish answers 201 but the page is published (and fetched) with accessMode PUBLIC",
        ),
        Fault(
            FaultName.SCHEMA_FETCH_FAILS, "the PAT schema fetch answers 404 not_found (option status)", {"status": 404}
        ),
        Fault(
            FaultName.HEALTH_DISAGREE, "PAT health reports conversion_signal WARN and a score 10 lower than JWT health"
        ),
        Fault(
            FaultName.THROTTLE_STORM,
            "429 rate_limited reason throttle with Retry-After (option retryAfter, default 1)",
            {"rate": 0.3, "retryAfter": 1},
        ),
        Fault(
            FaultName.SERVER_ERROR_BLIPS,
            "503 service_unavailable before doing anything (Retry-After: option retryAfter, default 1)",
            {"rate": 0.2, "retryAfter": 1},
        ),
        Fault(
            FaultName.COMMIT_THEN_503,
            "writes only: the write commits (and its idempotency record is stored), then the "
            "answer is 503 (Retry-After: option retryAfter, default 1)",
            {"rate": 0.2, "retryAfter": 1},
        ),
        Fault(
            FaultName.COMMIT_THEN_TIMEOUT,
            "writes only: the write commits (and its idempotency record is stored), then no answer: it is "
            "held until the client times out and goes away (at most option holdMs, default 30000), and a "
            "client still waiting then has its connection closed mid-answer",
            {"rate": 0.2, "holdMs": 30000},
        ),
        Fault(FaultName.SLOW_ANSWERS, "answers late (option delayMs, default 300)", {"delayMs": 300, "rate": 1.0}),
        # Breaks the harness names by what they mean, whatever the status code:
        Fault(
            FaultName.CONVERSION_DEDUPED_FRESH,
            "a public conversion with a fresh ctx and a new key is answered 200 deduped (click_event) with "
            "the campaign's previous conversion",
        ),
        Fault(
            FaultName.ATTRIBUTION_SWAPPED,
            "test conversions, public conversions and leads are credited to another enabled variant of the "
            "same campaign than the one clicked",
        ),
        Fault(FaultName.REDIRECT_SWAPPED, "a click redirects to another variant's destination (its own ctx and tags)"),
        Fault(
            FaultName.REDIRECT_OFFSITE,
            "a click redirects to another host and path (option url, default https://elsewhere.example/sale), or "
            "with dropQuery: true to its own destination without the destination's query; ctx and utm tags kept",
            {"url": "https://elsewhere.example/sale", "dropQuery": False},
        ),
        Fault(FaultName.CTX_MISATTRIBUTED, "GET /v2/public/context resolves a ctx to another variant of its campaign"),
        Fault(FaultName.LEAD_DROPPED_SILENTLY, "a valid lead is answered 202 ACCEPTED and nothing is stored"),
        Fault(
            FaultName.TRAFFIC_TAG_CHANGED,
            "links read back with one traffic tag changed (option tag, default utmMedium; option value, default "
            "changed): health's traffic_tags still PASSes, the redirect carries the changed utm value",
            {"tag": "utmMedium", "value": "changed"},
        ),
        Fault(
            FaultName.KEY_REUSE_ACCEPTED,
            "a write whose Idempotency-Key was used with another body is run as a new one (201), not refused 422",
        ),
        Fault(
            FaultName.CLICK_EVENT_NOT_DEDUPED,
            "a second public conversion of one click and event type under a new key is recorded anew (201)",
        ),
        Fault(
            FaultName.PRIMARY_LINK_PENDING,
            "health reports primary_link PENDING (its status and score follow from it)",
        ),
        Fault(FaultName.CTX_DROPPED, "a click on an ACTIVE campaign's link redirects without its ctx (tags kept)"),
        Fault(
            FaultName.TAMPERED_CTX_ACCEPTED,
            "a ctx whose signature does not match is accepted everywhere a ctx is taken (its click as it says)",
        ),
        Fault(FaultName.PUBLISH_FAILS, "publishing the detail page answers 500 internal_error and publishes nothing"),
        Fault(
            FaultName.CLICK_FAILS,
            "a click on a link answers `status` (default 503) with the platform's error body: the short-link "
            "edge is down, no click is recorded (302: a redirect without a Location)",
            {"status": 503},
        ),
        Fault(
            FaultName.PENDING_LEAD_LISTED,
            "leads waiting for their email to be verified (EMAIL_OTP, EMAIL_REPLY_YES) are listed for review",
        ),
        Fault(
            FaultName.QUOTA_REFUSED_EARLY,
            "once `after` counted writes were made today (default 0), counted writes are refused with 429 "
            "daily_quota although usage-meters still shows writes left",
            {"after": 0},
        ),
        # One field of one route's answers, said wrong: the contract's smaller promises, one at a time.
        Fault(
            FaultName.ANSWER_REWRITTEN,
            "answers of the routes whose path matches `path` (a glob; option method, default any) say `field` "
            "wrong: set to `value` (default null), or left out with remove: true. `field` is dotted, `[]` for "
            "every item of a list (items[].email); in a text/csv answer it names a column (every row's cell), or "
            "`header` (the header row, a comma-separated `value`). Option contentType replaces the answer's",
            {"path": "*", "method": "*", "field": "", "value": None, "remove": False, "contentType": ""},
        ),
        # A list answered as the contract allows (must not fail a run):
        Fault(
            FaultName.SPARSE_PAGES,
            "list pages hold at most `size` items (default 1), and every page with items comes after an empty "
            "page that still carries a nextCursor",
            {"size": 1},
        ),
        # The landing pages (GET /_site/…, the customer's site in the sandbox) and the published detail page:
        Fault(
            FaultName.LANDING_NOT_FOUND,
            "a landing page answers 404 (the destination the ads lead to is gone); soft: true answers 200 with the "
            "same page saying it does not exist (a soft 404)",
            {"soft": False},
        ),
        Fault(
            FaultName.LANDING_CHANGED,
            "a landing page that still loads and keeps its form, but is not the approved one: its heading says "
            "`heading` and its hero image is swapped for another (hero: swapped) or gone (hero: none)",
            {"heading": "Last season's offer", "hero": "swapped"},
        ),
        Fault(
            FaultName.LANDING_STRIPS_CTX,
            "a landing page's own script removes the ctx from its URL once the page has loaded "
            "(history.replaceState): its lead form then sends no ctx (option params: the comma-separated names "
            "it removes, default ctx; e.g. utm_medium for a script that drops a tag)",
            {"params": "ctx"},
        ),
        Fault(
            FaultName.SITE_REDIRECT_DROPS_QUERY,
            "a landing page first redirects (301) to its path with a trailing slash and without its query "
            "string: ctx and utm tags are lost on the customer's site (option keep: the comma-separated names "
            "it keeps, default none; e.g. ctx for a rule that keeps the ctx and drops the tags)",
            {"keep": ""},
        ),
        Fault(
            FaultName.LEAD_FORM_MISSING,
            "a landing page is served without its lead form (form#lead); with option emailOnly, the form stays "
            "but without its email field",
            {"emailOnly": False},
        ),
        Fault(
            FaultName.LEAD_FORM_INERT,
            "a landing page's lead form sends nothing when submitted (the site's script is left off the page)",
        ),
        Fault(FaultName.LANDING_SCRIPT_ERROR, "a landing page's script throws an uncaught error"),
        Fault(
            FaultName.LANDING_PAINT_UNMEASURED,
            "a landing page's own script takes PerformanceObserver away (as some tag wrappers do): the browser "
            "reports no Largest Contentful Paint for it",
        ),
        Fault(FaultName.LANDING_ASSET_MISSING, "a landing page's own stylesheet answers 404"),
        Fault(
            FaultName.LANDING_SLOW,
            "a landing page's hero image answers late (option delayMs, default 2500): a late Largest Contentful Paint",
            {"delayMs": 2500},
        ),
        Fault(
            FaultName.DETAIL_PAGE_UNGATED,
            "the published detail page shows its content to a visitor without a session (no login gate)",
        ),
        Fault(
            FaultName.DETAIL_PAGE_CONTENT_UNDER_GATE,
            "the published detail page shows its login gate to a visitor without a session, and its content "
            "under the gate all the same",
        ),
        Fault(
            FaultName.DETAIL_PAGE_DOWN,
            "the published detail page answers `status` (default 404): published, yet not served",
            {"status": 404},
        ),
        Fault(
            FaultName.TEST_CONVERSIONS_COUNTED,
            "analytics counts test conversions as real: in conversions and revenue as well as testConversions",
        ),
        Fault(
            FaultName.BOTS_COUNTED_QUALIFIED,
            "analytics counts bot clicks (a bot's User-Agent) as qualified clicks",
        ),
        # Differences a real deployment may have, which must never fail a run:
        Fault(FaultName.EXTRA_FIELDS, "every JSON object answer carries extra fields the contract does not name"),
        Fault(
            FaultName.REQUEST_ID_HEADER,
            "the request id goes out under another header (option header, default x-amzn-requestid)",
            {"header": "x-amzn-requestid"},
        ),
        Fault(
            FaultName.ERROR_SHAPE,
            "error bodies take another documented shape (option shape: nested or rfc9457)",
            {"shape": "nested"},
        ),
        # Documented click variants a link may have (redirectType, trackingPolicy.mode), switched on
        # for every link: a sandbox target rehearses them on its throwaway links. Never a failure.
        Fault(FaultName.REDIRECT_307, "every click answers 307 (a link with redirectType 307) instead of 302"),
        Fault(
            FaultName.BRIDGE_CLICKS,
            "every click answers 200 with the bridge page (trackingPolicy.mode BRIDGE); option markup: both "
            "(meta refresh and a#continue), meta or anchor; or a broken bridge page (a failure): none sends the "
            "visitor nowhere, split sends its refresh and its continue link to two places",
            {"markup": "both"},
        ),
        Fault(
            FaultName.BRIDGE_SLOW,
            "every click answers 200 with the bridge page, whose meta refresh waits `seconds` (default 8) before "
            "sending the visitor on (its continue link works at once): shoppers leave before the page",
            {"seconds": 8},
        ),
    ]
}

TRANSPORT = (
    FaultName.THROTTLE_STORM,
    FaultName.SERVER_ERROR_BLIPS,
    FaultName.COMMIT_THEN_503,
    FaultName.COMMIT_THEN_TIMEOUT,
    FaultName.SLOW_ANSWERS,
)
# Faults that rewrite an answer on its way out (the middleware buffers it for them).
RESHAPING = (FaultName.EXTRA_FIELDS, FaultName.REQUEST_ID_HEADER, FaultName.ERROR_SHAPE, FaultName.ANSWER_REWRITTEN)

# option -> (accepted types, check, what it must be)
_OPTIONS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "campaignId": ((str,), lambda v: bool(v), "a non-empty string"),
    "slug": ((str,), lambda v: bool(v), "a non-empty string"),
    "rate": ((int, float), lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    "tag": ((str,), lambda v: v in TRAFFIC_TAGS, "one of " + ", ".join(TRAFFIC_TAGS)),
    "status": (
        (int,),
        lambda v: 400 <= v <= 599 or v in (301, 302, 303, 307, 308),
        "an HTTP error status (400-599), or a redirect status (301-308) for an answer without a Location",
    ),
    "retryAfter": ((int,), lambda v: 0 <= v <= 3600, "whole seconds from 0 to 3600"),
    "delayMs": ((int,), lambda v: 0 <= v <= 60000, "milliseconds from 0 to 60000"),
    "holdMs": ((int,), lambda v: 0 <= v <= 600000, "milliseconds from 0 to 600000"),
    "url": ((str,), lambda v: v.startswith(("http://", "https://")) and len(v) < 2000, "an http(s) URL"),
    "path": ((str,), lambda v: v.startswith(("/", "*")) and len(v) < 300, "a path glob, e.g. /v2/handles/*/leads"),
    "method": (
        (str,),
        lambda v: v in ("*", "GET", "POST", "PUT", "PATCH", "DELETE"),
        "*, GET, POST, PUT, PATCH or DELETE",
    ),
    "field": ((str,), lambda v: 0 < len(v) < 200, "a dotted field, e.g. items[].email, or a CSV column"),
    "value": ((str, int, float, bool, type(None)), lambda v: True, "a JSON value: text, a number, true/false or null"),
    "remove": ((bool,), lambda v: True, "true or false"),
    "dropQuery": ((bool,), lambda v: True, "true or false"),
    "contentType": ((str,), lambda v: 0 < len(v) < 100, "a content type, e.g. text/plain"),
    "size": ((int,), lambda v: 1 <= v <= 200, "a whole number of items from 1 to 200"),
    "after": ((int,), lambda v: 0 <= v <= 100000, "a whole number of writes from 0 to 100000"),
    "header": (
        (str,),
        lambda v: v.replace("-", "").isalnum() and v.lower() != "x-request-id",
        "a header name other than x-request-id",
    ),
    "shape": ((str,), lambda v: v in ("nested", "rfc9457"), "nested or rfc9457"),
    "soft": ((bool,), lambda v: True, "true or false"),
    "emailOnly": ((bool,), lambda v: True, "true or false"),
    "params": ((str,), lambda v: _names(v, empty=False), "comma-separated query parameter names, e.g. ctx"),
    "keep": ((str,), lambda v: _names(v, empty=True), "comma-separated query parameter names, e.g. ctx (or none)"),
    "heading": ((str,), lambda v: 0 < len(v) <= 200, "text of 1-200 characters"),
    "hero": ((str,), lambda v: v in ("swapped", "none"), "swapped or none"),
    "seconds": ((int,), lambda v: 0 <= v <= 60, "whole seconds from 0 to 60"),
    "markup": (
        (str,),
        lambda v: v in ("both", "meta", "anchor", "none", "split"),
        "both, meta, anchor, none or split",
    ),
}
_COMMON = ("campaignId", "slug", "rate")


def _names(value: str, *, empty: bool) -> bool:
    names = [name.strip() for name in value.split(",") if name.strip()]
    return (empty or bool(names)) and len(value) < 200 and all(re.fullmatch(r"[A-Za-z0-9_]+", n) for n in names)


class FaultSpecError(ValueError):
    """A fault map that names an unknown fault or option, or gives an option a bad value."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.problem = message


def _bad(field_name: str, message: str) -> FaultSpecError:
    return FaultSpecError(field_name, message)


def _closest(name: str) -> str:
    match = difflib.get_close_matches(name, CATALOGUE, n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def validate(spec: Any) -> dict[str, dict[str, Any]]:
    """Check a `{"<name>": {<options>}}` map; answer it with each fault's defaults filled in."""
    if not isinstance(spec, dict):
        raise _bad("faults", "must be an object of fault name to options")
    active: dict[str, dict[str, Any]] = {}
    for name, options in spec.items():
        fault = CATALOGUE.get(name) if isinstance(name, str) else None
        if fault is None:
            raise _bad(f"faults.{name}", "unknown fault" + _closest(name))
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise _bad(f"faults.{name}", "options must be an object")
        allowed = set(_COMMON) | set(fault.defaults)
        for key, value in options.items():
            where = f"faults.{name}.{key}"
            if key not in allowed:
                raise _bad(where, "unknown option; allowed: " + ", ".join(sorted(allowed)))
            types, check, what = _OPTIONS[key]
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types) or not check(value):
                raise _bad(where, f"must be {what}")
        merged = {"rate": 1.0, **fault.defaults, **options}
        active[fault.name] = merged
    return active
