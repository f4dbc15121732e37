"""Assertions for lifecycle steps. Each failure is a PreflightFailure with a category,
the request ids, expected vs actual, and the next step."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.lifecycle.failures import PreflightFailure, plain


def fail(
    category: str,
    summary: str,
    *,
    expected: Any = None,
    actual: Any = None,
    exchanges: Iterable[Exchange] = (),
    next_step: str = "",
    cause: str = "",
    escalate: bool = True,
    follows: tuple[str, ...] = (),
    party: str | None = None,
    **state: Any,
) -> PreflightFailure:
    """`cause`: the root cause in words, the same wherever it shows (see PreflightFailure); `party`:
    whose fix it is when not the category's own party (e.g. the customer's site, the marketer)."""
    from preflight.lifecycle.classify import NEXT_STEPS

    return PreflightFailure(
        category=category,
        summary=summary,
        expected=expected,
        actual=actual,
        next_step=next_step or NEXT_STEPS.get(category, ""),
        exchanges=[ex for ex in exchanges if ex is not None],
        state_before=state.get("state_before"),
        state_after=state.get("state_after"),
        cause=cause,
        escalate=escalate,
        follows=follows,
        party=party,
    )


def expect_status(
    ex: Exchange,
    expected: int | Iterable[int],
    *,
    doing: str,
    categories: Mapping[str, str | tuple[str, str]] | None = None,
    next_step: str = "",
) -> Any:
    """The answer's body when its status is one of `expected`.

    `categories` maps an error code to the failure it means at this step, as a category
    or (category, root cause) (e.g. a valid lead answered `invalid_email` is `lead_capture`);
    any other unexpected answer is classified by status (auth, quota, throttled, ...).
    """
    wanted = {expected} if isinstance(expected, int) else set(expected)
    if ex.status in wanted:
        return ex.response_body
    meaning = (categories or {}).get(ex.error_code or "")
    if meaning:
        category, cause = meaning if isinstance(meaning, tuple) else (meaning, "")
        reason = ex.body_field("reason")
        detail = f"{ex.error_code}" + (f" (reason: {reason})" if reason else "")
        raise fail(
            category,
            f"{doing}: the platform answered {ex.status} {detail}",
            expected=_status_text(wanted),
            actual=f"{ex.status} {detail}: {ex.body_excerpt(300)}",
            exchanges=[ex],
            next_step=next_step,
            cause=cause,
        )
    from preflight.lifecycle.classify import failure_from_exchange

    raise failure_from_exchange(ex, step=ex.step or "", expected=_status_text(wanted), context=doing)


def expect_json_object(
    ex: Exchange, body: Any, *, doing: str, fields: Iterable[str] | Mapping[str, type | tuple[type, ...]]
) -> dict:
    """The body as a dict holding every field the contract promises (of the given types,
    when `fields` maps names to types), else contract_violation."""
    names = list(fields)
    if not isinstance(body, dict):
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"{doing}: the answer is not a JSON object",
            expected=f"a JSON object with {sorted(names)}",
            actual=ex.body_excerpt(200),
            exchanges=[ex],
        )
    missing = [name for name in names if name not in body]
    if missing:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"{doing}: the answer lacks {', '.join(missing)}",
            expected=f"fields {sorted(names)}",
            actual=f"fields {sorted(body)}",
            exchanges=[ex],
        )
    types = fields if isinstance(fields, Mapping) else {}
    wrong = {
        name: body[name]
        for name, kind in types.items()
        if not isinstance(body[name], kind) or isinstance(body[name], bool) and kind is not bool
    }
    if wrong:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"{doing}: {', '.join(wrong)} of the wrong type",
            expected={name: _type_name(types[name]) for name in wrong},
            actual=wrong,
            exchanges=[ex],
        )
    return body


def expect_equal(
    actual: Any,
    expected: Any,
    *,
    category: str,
    what: str,
    exchanges: Iterable[Exchange],
    next_step: str = "",
    cause: str = "",
) -> None:
    if actual != expected:
        raise fail(
            category,
            f"{what} is {plain(actual)}, expected {plain(expected)}",
            expected=expected,
            actual=actual,
            exchanges=exchanges,
            next_step=next_step,
            cause=cause or f"{what} is wrong",
        )


def expect_reason(ex: Exchange, wanted: tuple[str, ...], *, what: str, cause: str) -> str | None:
    """An `invalid_ctx` refusal's reason is one of `wanted`. (gap) the platform's docs name only
    invalid_ctx: an answer without a reason is taken as it is; another reason is a finding."""
    reason = ex.body_field("reason")
    if reason is None or reason in wanted:
        return reason
    raise fail(
        Category.CONTRACT_VIOLATION,
        f"{what} is refused for another reason: {reason!r}",
        expected=f"400 invalid_ctx, reason {' or '.join(wanted)}",
        actual=f"{ex.status} {ex.error_code} reason {reason}",
        exchanges=[ex],
        cause=cause,
        next_step="the platform's ctx check says something else went wrong than what did: capture the request id "
        "and escalate (a fresh ctx may be judged as wrongly)",
    )


def _status_text(wanted: set[int]) -> str:
    return " or ".join(str(code) for code in sorted(wanted))


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
