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

from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.playbook import SUPPORT, step_next_steps

# The default next step of each category no one step owns (the playbook declares the rest), grounded in
# UC-07 (docs/guide/UC-07-…txt).
CROSS_CUTTING: dict[Category, str] = {
    Category.AUTH: (
        "confirm actor role access (UC-07 flow step 1): give the JWT the required role or the PAT the required "
        "scope for this handle, then re-run"
    ),
    Category.QUOTA: (
        "the handle's daily write quota ran out (UC-07 Limits and Quotas): wait for the reset (Retry-After) or "
        "raise the plan, and schedule runs outside peak campaign windows"
    ),
    Category.METERS_MISMATCH: (
        "nothing was judged: the platform refused a write for its daily quota while its own usage-meters show "
        "writes left (UC-07 Limits and Quotas); " + SUPPORT + " with both request ids, and re-run once it answers"
    ),
    Category.PEAK_WINDOW: (
        "schedule high-volume workflows outside peak campaign windows (UC-07 Limits and Quotas): run after the "
        "window ends, or pass --allow-peak if this run must go now; nothing is escalated for this"
    ),
    Category.THROTTLED: (
        "respect per-route throttles (UC-07 Limits and Quotas): lower concurrency or raise the retry budget and "
        "re-run; writes are idempotency-safe to retry"
    ),
    Category.PLATFORM_ERROR: (
        "the platform answered 5xx or not at all past the retries: re-run once; if it persists, " + SUPPORT
    ),
    Category.ATTRIBUTION: (
        "a click, lead or conversion was credited to another variant or campaign, or a click went to another "
        "variant's page: the A/B numbers would be wrong without anyone noticing; do not ramp spend, " + SUPPORT
    ),
    Category.CONTRACT_VIOLATION: (
        "an answer was outside the contract: capture the request id and body (UC-07 flow step 4) and "
        + SUPPORT
        + "; change the target YAML only if the deployment documents the difference"
    ),
    Category.CONFIG: (
        "fix the run's config (config/preflight.yaml or the target YAML) as the message says and re-run; "
        "nothing is escalated for this"
    ),
    Category.HARNESS_ERROR: (
        "a bug in campaign-preflight itself, not the platform: re-run with --tb=long and file it against the "
        "harness; nothing is escalated for this"
    ),
}

# One default next step per category.
NEXT_STEPS: dict[Category, str] = {**CROSS_CUTTING, **step_next_steps()}


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
            category=exc.category,
            next_step=exc.next_step or NEXT_STEPS[exc.category],
            summary=exc.summary,
            exchanges=tuple(exc.exchanges),
            expected=exc.expected,
            actual=exc.actual,
            state_before=exc.state_before,
            state_after=exc.state_after,
        )
    category = _category_of(exc)
    return Classification(category=category, next_step=NEXT_STEPS[category], summary=_describe(exc, when))


def _category_of(exc: BaseException) -> str:
    if isinstance(exc, _config_error_types()):
        return Category.CONFIG
    # RemoteProtocolError: the server dropped the connection mid-answer, so no answer arrived either.
    if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)):
        return Category.PLATFORM_ERROR
    return Category.HARNESS_ERROR


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


def failure_from_exchange(
    ex: Exchange, *, step: str, expected: Any, context: str = "", has: str | None = None
) -> PreflightFailure:
    """A PreflightFailure for an answer the step did not expect.

    `context` says what the step was doing ("test-conversion for spring-ab:spring-b");
    `has` what the credential carries, when known ("role CREATOR", "scopes analytics.read").
    """
    category = _http_category(ex)
    has = has or CREDENTIALS_HAVE.get(ex.surface)
    summary = ": ".join(part for part in (step, context, _SUMMARIES[category](ex, has)) if part)
    return PreflightFailure(
        category=category,
        summary=summary,
        expected=expected,
        actual=_actual(ex),
        next_step=_next_step(category, ex),
        exchanges=[ex],
    )


def _next_step(category: str, ex: Exchange) -> str:
    """An auth failure's next step follows its error code (an expired token wants a new token,
    a missing scope that scope), not the category's general advice."""
    if category != Category.AUTH:
        return NEXT_STEPS[category]
    from preflight.http.readiness import next_step_for

    required = ex.body_field("requiredRole") or ex.body_field("requiredScope")
    credential = {"jwt": "the JWT ($PREFLIGHT_JWT)", "pat": "the PAT ($PREFLIGHT_PAT)"}.get(ex.surface, "the token")
    return f"{credential}: {next_step_for(ex.error_code, required=required)}; then re-run (nothing is escalated)"


def _http_category(ex: Exchange) -> str:
    status = ex.status
    if status is None or status >= 500:
        return Category.PLATFORM_ERROR
    if status in (401, 403):
        return Category.AUTH
    if status == 429:
        return Category.QUOTA if ex.body_field("reason") == "daily_quota" else "throttled"
    if status == 400 and ex.error_code == "invalid_ctx":
        return Category.INVALID_CTX
    return Category.CONTRACT_VIOLATION


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
    return (
        f"daily write quota exhausted on {ex.method} {ex.path}: plan {ex.body_field('plan') or '?'}, "
        f"writesPerDay {per_day if per_day is not None else '?'}, "
        f"writesToday {today if today is not None else '?'}{_retry_after(ex)}"
    )


def _throttle_summary(ex: Exchange, has: str | None) -> str:
    return (
        f"{ex.method} {ex.path} still throttled (429 {ex.body_field('reason') or 'rate_limited'}) "
        f"after {ex.attempts} attempt(s){_retry_after(ex)}"
    )


def _platform_summary(ex: Exchange, has: str | None) -> str:
    if ex.status is None:
        return f"no answer from {ex.method} {ex.path} after {ex.attempts} attempt(s): {ex.error or 'unknown error'}"
    return (
        f"{ex.method} {ex.path} answered {ex.status} {ex.error_code or ''}".rstrip()
        + f" after {ex.attempts} attempt(s)"
    )


def _invalid_ctx_summary(ex: Exchange, has: str | None) -> str:
    return f"{ex.method} {ex.path} refused the ctx: invalid_ctx, reason {ex.body_field('reason') or 'not given'}"


def _contract_summary(ex: Exchange, has: str | None) -> str:
    return f"unexpected answer {ex.status} {ex.error_code or '(no error code)'} from {ex.method} {ex.path}"


def _retry_after(ex: Exchange) -> str:
    value = ex.response_headers.get("retry-after")
    return f", Retry-After {value}s" if value else ""


_SUMMARIES = {
    Category.AUTH: _auth_summary,
    Category.QUOTA: _quota_summary,
    Category.THROTTLED: _throttle_summary,
    Category.PLATFORM_ERROR: _platform_summary,
    Category.INVALID_CTX: _invalid_ctx_summary,
    Category.CONTRACT_VIOLATION: _contract_summary,
}
