"""Exception -> failure category + the UC-07 next step.

Every failed test ends up with exactly one category from preflight.core.categories:
the gate verdict, the Allure categories and the escalation decision all key on it.
A next step names the UC-07 "How Gharart Debugs It" step (or "Where This Breaks" mode)
it comes from, so whoever reads the report knows where in the playbook they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from preflight.http.exchange import Exchange
from preflight.lifecycle.failures import PreflightFailure

_SUPPORT = "escalate via POST /v2/support/report with the request ids and repro artifact (UC-07 Escalation)"

# One default next step per category, grounded in UC-07 (guide/UC-07-…txt).
NEXT_STEPS: dict[str, str] = {
    "invalid_ctx": (
        "issue the controlled test-conversion again with a ctx from a fresh tracked click on that variant "
        "(UC-07 step 4; 'test-conversion endpoint returns invalid_ctx'); if a fresh ctx is still refused, " + _SUPPORT),
    "stale_ctx_accepted": (
        "the platform took a stale or foreign ctx: public conversions must carry a fresh ctx (UC-07 step 6) and "
        "stale ctx payloads must be rejected ('lead capture rejects … stale ctx payloads'); " + _SUPPORT),
    "missing_traffic_tags": (
        "run campaign health before spend ramp (UC-07 step 1); tag the named links with the missing utm tags "
        "(utmSource, utmMedium, utmCampaign) and re-run"),
    "idempotency_dedupe": (
        "send each conversion with its own Idempotency-Key and a fresh ctx (UC-07 step 6; 'conversion dedupe "
        "confusion from reused idempotency key'); if a replay was counted twice or distinct keys merged, " + _SUPPORT),
    "lead_capture": (
        "submit one public lead with a valid test email and a fresh ctx (UC-07 step 3; 'lead capture rejects "
        "invalid email or stale ctx payloads'); check the email and the ctx age in the request, then " + _SUPPORT),
    "lead_missing_from_review": (
        "verify the creator review (GET …/leads) and export routes show the captured lead (UC-07 step 3); "
        "re-check once, then " + _SUPPORT),
    "publish_access_mode": (
        "re-publish the campaign detail page with accessMode FREE_WITH_LOGIN (UC-07 step 5) and re-run; "
        "if publish keeps answering another mode, " + _SUPPORT),
    "schema_fetch": (
        "verify the campaign detail page is published and the schema fetch succeeds (UC-07 step 5): check the "
        "PAT has pages.read, re-publish, re-run; if it still fails, " + _SUPPORT),
    "health_mismatch": (
        "compare campaign health (UC-07 step 1) with the PAT/public health route (UC-07 step 2): both must give "
        "the same verdict; " + _SUPPORT),
    "health_not_ready": (
        "run campaign health before spend ramp (UC-07 step 1); fix each check that is not PASS (its detail "
        "says why) and re-run before ramping spend"),
    "auth": (
        "confirm actor role access (UC-07 flow step 1): give the JWT the required role or the PAT the required "
        "scope for this handle, then re-run"),
    "quota": (
        "the handle's daily write quota ran out (UC-07 Limits and Quotas): wait for the reset (Retry-After) or "
        "raise the plan, and schedule runs outside peak campaign windows"),
    "peak_window": (
        "schedule high-volume workflows outside peak campaign windows (UC-07 Limits and Quotas): run after the "
        "window ends, or pass --allow-peak if this run must go now; nothing is escalated for this"),
    "throttled": (
        "respect per-route throttles (UC-07 Limits and Quotas): lower concurrency or raise the retry budget and "
        "re-run; writes are idempotency-safe to retry"),
    "platform_error": (
        "the platform answered 5xx or not at all past the retries: re-run once; if it persists, " + _SUPPORT),
    "attribution": (
        "a click, lead or conversion was credited to another variant or campaign, or a click went to another "
        "variant's page: the A/B numbers would be wrong without anyone noticing; do not ramp spend, " + _SUPPORT),
    "contract_violation": (
        "an answer was outside the contract: capture the request id and body (UC-07 flow step 4) and " + _SUPPORT
        + "; change the target YAML only if the deployment documents the difference"),
    "config": (
        "fix the run's config (config/preflight.yaml or the target YAML) as the message says and re-run; "
        "nothing is escalated for this"),
    "harness_error": (
        "a bug in campaign-preflight itself, not the platform: re-run with --tb=long and file it against the "
        "harness; nothing is escalated for this"),
}


@dataclass(frozen=True)
class Classification:
    category: str
    next_step: str
    summary: str
    # The exchanges behind the failure (empty for non-HTTP errors), so escalation can use them.
    exchanges: tuple[Exchange, ...] = field(default=(), compare=False)
    expected: Any = field(default=None, compare=False)
    actual: Any = field(default=None, compare=False)
    state_before: Any = field(default=None, compare=False)
    state_after: Any = field(default=None, compare=False)

    @property
    def request_ids(self) -> list[str]:
        return [ex.request_id for ex in self.exchanges if ex.request_id]


def classify(exc: BaseException, when: str) -> Classification:
    """The category of an exception raised in pytest phase `when` (setup, call or teardown)."""
    if isinstance(exc, PreflightFailure):
        return Classification(
            category=exc.category, next_step=exc.next_step or NEXT_STEPS[exc.category], summary=exc.summary,
            exchanges=tuple(exc.exchanges), expected=exc.expected, actual=exc.actual,
            state_before=exc.state_before, state_after=exc.state_after)
    category = _category_of(exc)
    return Classification(category=category, next_step=NEXT_STEPS[category], summary=_describe(exc, when))


def _category_of(exc: BaseException) -> str:
    if isinstance(exc, _config_error_types()):
        return "config"
    # RemoteProtocolError: the server dropped the connection mid-answer, so no answer arrived either.
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return "platform_error"
    return "harness_error"


def _config_error_types() -> tuple[type[BaseException], ...]:
    # Imported lazily: preflight.config may not exist yet, and classify must still work.
    try:
        from preflight.config import ConfigError  # type: ignore[attr-defined]
    except ImportError:
        return ()
    return (ConfigError,)


def _describe(exc: BaseException, when: str) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    name = type(exc).__name__
    return f"{name} during {when}: {first}" if first else f"{name} during {when}"


# -- unexpected HTTP answers -------------------------------------------------------------

# What each credential of this run carries ("role CREATOR on handle gharart"), set by the
# session at start, so an auth failure says what the token has next to what was required.
CREDENTIALS_HAVE: dict[str, str] = {}


def describe_credentials(**by_surface: str) -> None:
    CREDENTIALS_HAVE.update(by_surface)


def failure_from_exchange(ex: Exchange, *, step: str, expected: Any, context: str = "",
                          has: str | None = None) -> PreflightFailure:
    """A PreflightFailure for an answer the step did not expect.

    `context` says what the step was doing ("test-conversion for spring-ab:spring-b");
    `has` what the credential carries, when known ("role CREATOR", "scopes analytics.read").
    """
    category = _http_category(ex)
    has = has or CREDENTIALS_HAVE.get(ex.surface)
    summary = ": ".join(part for part in (step, context, _SUMMARIES[category](ex, has)) if part)
    return PreflightFailure(category=category, summary=summary, expected=expected, actual=_actual(ex),
                            next_step=_next_step(category, ex), exchanges=[ex])


def _next_step(category: str, ex: Exchange) -> str:
    """An auth failure's next step follows its error code (an expired token wants a new token,
    a missing scope that scope), not the category's general advice."""
    if category != "auth":
        return NEXT_STEPS[category]
    from preflight.http.readiness import next_step_for

    required = ex.body_field("requiredRole") or ex.body_field("requiredScope")
    credential = {"jwt": "the JWT ($PREFLIGHT_JWT)", "pat": "the PAT ($PREFLIGHT_PAT)"}.get(ex.surface, "the token")
    return f"{credential}: {next_step_for(ex.error_code, required=required)}; then re-run (nothing is escalated)"


def _http_category(ex: Exchange) -> str:
    status = ex.status
    if status is None or status >= 500:
        return "platform_error"
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "quota" if ex.body_field("reason") == "daily_quota" else "throttled"
    if status == 400 and ex.error_code == "invalid_ctx":
        return "invalid_ctx"
    return "contract_violation"


def _actual(ex: Exchange) -> str:
    if ex.status is None:
        return f"no answer ({ex.error or 'unknown error'}) after {ex.attempts} attempt(s)"
    code = ex.error_code
    message = ex.body_field("message")
    text = f"{ex.status}" + (f" {code}" if code else "")
    if isinstance(message, str) and message:
        text += f": {message}"
    elif not code:
        text += f" {ex.body_excerpt(200)}"
    return text


def _auth_summary(ex: Exchange, has: str | None) -> str:
    kind = f"{ex.surface} credential" if ex.surface in ("jwt", "pat") else "request without a credential"
    parts = [f"{kind} refused on {ex.method} {ex.path} ({ex.status} {ex.error_code or 'no error code'})"]
    for name in ("requiredRole", "requiredScope"):
        value = ex.body_field(name)
        if value:
            parts.append(f"{name} {value}")
    if has:
        parts.append(f"token has {has}")
    return "; ".join(parts)


def _quota_summary(ex: Exchange, has: str | None) -> str:
    limits = ex.body_field("limits") or {}
    usage = ex.body_field("usage") or {}
    per_day = limits.get("writesPerDay", ex.body_field("writesPerDay")) if isinstance(limits, dict) else None
    today = usage.get("writesToday", ex.body_field("writesToday")) if isinstance(usage, dict) else None
    return (f"daily write quota exhausted on {ex.method} {ex.path}: plan {ex.body_field('plan') or '?'}, "
            f"writesPerDay {per_day if per_day is not None else '?'}, "
            f"writesToday {today if today is not None else '?'}{_retry_after(ex)}")


def _throttle_summary(ex: Exchange, has: str | None) -> str:
    return (f"{ex.method} {ex.path} still throttled (429 {ex.body_field('reason') or 'rate_limited'}) "
            f"after {ex.attempts} attempt(s){_retry_after(ex)}")


def _platform_summary(ex: Exchange, has: str | None) -> str:
    if ex.status is None:
        return f"no answer from {ex.method} {ex.path} after {ex.attempts} attempt(s): {ex.error or 'unknown error'}"
    return f"{ex.method} {ex.path} answered {ex.status} {ex.error_code or ''}".rstrip() + \
        f" after {ex.attempts} attempt(s)"


def _invalid_ctx_summary(ex: Exchange, has: str | None) -> str:
    return f"{ex.method} {ex.path} refused the ctx: invalid_ctx, reason {ex.body_field('reason') or 'not given'}"


def _contract_summary(ex: Exchange, has: str | None) -> str:
    return f"unexpected answer {ex.status} {ex.error_code or '(no error code)'} from {ex.method} {ex.path}"


def _retry_after(ex: Exchange) -> str:
    value = ex.response_headers.get("retry-after")
    return f", Retry-After {value}s" if value else ""


_SUMMARIES = {
    "auth": _auth_summary,
    "quota": _quota_summary,
    "throttled": _throttle_summary,
    "platform_error": _platform_summary,
    "invalid_ctx": _invalid_ctx_summary,
    "contract_violation": _contract_summary,
}
