"""The fault catalogue and the registry that routes and the middleware consult.

The names are an interface (the harness's fault-matrix tests use them): see docs/DESIGN.md.
Common options: `campaignId`, `slug` (limit the fault to that campaign/link) and `rate`.
Rates are deterministic and evenly spread: the n-th eligible request is hit when
floor(n*rate) > floor((n-1)*rate), so a 30% storm never hits one retry loop many times in a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from preflight.sandbox.core.errors import ApiError

TRAFFIC_TAGS = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign"}


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)


CATALOGUE: dict[str, Fault] = {f.name: f for f in [
    Fault("test_conversion_rejects_ctx",
          "test-conversion answers 400 invalid_ctx (reason bad_signature) to a good ctx"),
    Fault("traffic_tag_dropped",
          "links read back without one traffic tag (option tag, default utmMedium): health "
          "traffic_tags FAILs naming it, the redirect lacks the utm param",
          {"tag": "utmMedium"}),
    Fault("replay_counted_twice",
          "a replay of a public conversion (same key, same body) creates a second conversion "
          "with a new id, 201, no Idempotent-Replayed"),
    Fault("keys_merged",
          "a public conversion under a new key (and a new ctx) is answered with the previous "
          "conversion of that campaign (same conversionId, Idempotent-Replayed: true)"),
    Fault("valid_email_rejected", "a valid lead email gets 400 invalid_email"),
    Fault("invalid_email_accepted", "an invalid email is captured (201 CAPTURED)"),
    Fault("stale_ctx_accepted",
          "an expired ctx is accepted everywhere a ctx is taken (context, leads, test and "
          "public conversions)"),
    Fault("wrong_campaign_accepted", "a ctx of another campaign is accepted by test-conversion"),
    Fault("lead_missing_from_list", "captured leads are left out of GET …/leads"),
    Fault("lead_missing_from_export", "captured leads are left out of the CSV export"),
    Fault("publish_left_public",
          "publish answers 201 but the page is published (and fetched) with accessMode PUBLIC"),
    Fault("schema_fetch_fails", "the PAT schema fetch answers 404 not_found (option status)",
          {"status": 404}),
    Fault("health_disagree",
          "PAT health reports conversion_signal WARN and a score 10 lower than JWT health"),
    Fault("throttle_storm",
          "429 rate_limited reason throttle with Retry-After (option retryAfter, default 1)",
          {"rate": 0.3, "retryAfter": 1}),
    Fault("server_error_blips",
          "503 service_unavailable before doing anything (Retry-After: option retryAfter, default 1)",
          {"rate": 0.2, "retryAfter": 1}),
    Fault("commit_then_503",
          "writes only: the write commits (and its idempotency record is stored), then the "
          "answer is 503 (Retry-After: option retryAfter, default 1)", {"rate": 0.2, "retryAfter": 1}),
    Fault("commit_then_timeout",
          "writes only: the write commits (and its idempotency record is stored), then no answer: it is "
          "held until the client times out and goes away (at most option holdMs, default 30000), and a "
          "client still waiting then has its connection closed mid-answer", {"rate": 0.2, "holdMs": 30000}),
    Fault("slow_answers", "answers late (option delayMs, default 300)",
          {"delayMs": 300, "rate": 1.0}),
    # Breaks the harness names by what they mean, whatever the status code:
    Fault("conversion_deduped_fresh",
          "a public conversion with a fresh ctx and a new key is answered 200 deduped (click_event) with "
          "the campaign's previous conversion"),
    Fault("attribution_swapped",
          "test conversions, public conversions and leads are credited to another enabled variant of the "
          "same campaign than the one clicked"),
    Fault("redirect_swapped", "a click redirects to another variant's destination (its own ctx and tags)"),
    Fault("ctx_misattributed", "GET /v2/public/context resolves a ctx to another variant of its campaign"),
    Fault("lead_dropped_silently", "a valid lead is answered 202 ACCEPTED and nothing is stored"),
    # Differences a real deployment may have, which must never fail a run:
    Fault("extra_fields", "every JSON object answer carries extra fields the contract does not name"),
    Fault("request_id_header",
          "the request id goes out under another header (option header, default x-amzn-requestid)",
          {"header": "x-amzn-requestid"}),
    Fault("error_shape", "error bodies take another documented shape (option shape: nested or rfc9457)",
          {"shape": "nested"}),
]}

TRANSPORT = ("throttle_storm", "server_error_blips", "commit_then_503", "commit_then_timeout", "slow_answers")
# Faults that rewrite an answer on its way out (the middleware buffers it for them).
RESHAPING = ("extra_fields", "request_id_header", "error_shape")

# option -> (accepted types, check, what it must be)
_OPTIONS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "campaignId": ((str,), lambda v: bool(v), "a non-empty string"),
    "slug": ((str,), lambda v: bool(v), "a non-empty string"),
    "rate": ((int, float), lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    "tag": ((str,), lambda v: v in TRAFFIC_TAGS, "one of " + ", ".join(TRAFFIC_TAGS)),
    "status": ((int,), lambda v: 400 <= v <= 599, "an HTTP error status (400-599)"),
    "retryAfter": ((int,), lambda v: 0 <= v <= 3600, "whole seconds from 0 to 3600"),
    "delayMs": ((int,), lambda v: 0 <= v <= 60000, "milliseconds from 0 to 60000"),
    "holdMs": ((int,), lambda v: 0 <= v <= 600000, "milliseconds from 0 to 600000"),
    "header": ((str,), lambda v: v.replace("-", "").isalnum() and v.lower() != "x-request-id",
               "a header name other than x-request-id"),
    "shape": ((str,), lambda v: v in ("nested", "rfc9457"), "nested or rfc9457"),
}
_COMMON = ("campaignId", "slug", "rate")


def _bad(field_name: str, message: str) -> ApiError:
    return ApiError(400, "validation_error", f"{field_name}: {message}",
                    fields=[{"field": field_name, "message": message}])


def _closest(name: str) -> str:
    import difflib
    match = difflib.get_close_matches(name, CATALOGUE, n=1)
    return f" (did you mean {match[0]}?)" if match else ""


def validate(spec: Any) -> dict[str, dict[str, Any]]:
    """Check a `{"<name>": {<options>}}` map; answer it with each fault's defaults filled in."""
    if not isinstance(spec, dict):
        raise _bad("faults", "must be an object of fault name to options")
    active: dict[str, dict[str, Any]] = {}
    for name, options in spec.items():
        fault = CATALOGUE.get(name)
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
            if isinstance(value, bool) or not isinstance(value, types) or not check(value):
                raise _bad(where, f"must be {what}")
        merged = {"rate": 1.0, **fault.defaults, **options}
        active[name] = merged
    return active


class Faults:
    def __init__(self) -> None:
        self.active: dict[str, dict[str, Any]] = {}
        self._counts: dict[str, int] = {}
        self._rates: dict[str, Fraction] = {}

    def replace(self, active: dict[str, dict[str, Any]]) -> None:
        self.active = active
        self._counts = {name: 0 for name in active}
        self._rates = {name: Fraction(str(opts["rate"])) for name, opts in active.items()}

    def clear(self) -> None:
        self.replace({})

    def wants(self, name: str, campaign_id: str | None = None, slug: str | None = None) -> bool:
        """Whether a fault would apply to this target, without counting a request."""
        opts = self.active.get(name)
        if opts is None:
            return False
        if "campaignId" in opts and opts["campaignId"] != campaign_id:
            return False
        return not ("slug" in opts and opts["slug"] != slug)

    def hit(self, name: str, campaign_id: str | None = None,
            slug: str | None = None) -> dict[str, Any] | None:
        """Count one eligible request for the fault; its options when this one is hit."""
        if not self.active or not self.wants(name, campaign_id, slug):
            return None
        n = self._counts[name] = self._counts[name] + 1
        rate = self._rates[name]
        if math.floor(n * rate) > math.floor((n - 1) * rate):
            return self.active[name]
        return None

    def listing(self) -> dict[str, Any]:
        return {"available": [{"name": f.name, "description": f.description}
                              for f in CATALOGUE.values()],
                "active": self.active}
