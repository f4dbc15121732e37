"""Step 6: public conversions carry a fresh ctx from a real click and are
idempotency-safe: a replay is not counted twice, a reused key with another body is
refused, a reused ctx is deduped per click, and a stale ctx is refused."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from preflight.core.categories import Category
from preflight.core.clock import parse_time
from preflight.http.exchange import Exchange
from preflight.lifecycle import journal
from preflight.lifecycle.checks import expect_equal, expect_json_object, expect_reason, expect_status, fail
from preflight.lifecycle.clicks import CREDITED_ELSEWHERE, Ctx
from preflight.lifecycle.model import PlatformVariant, StepRun

FIELDS = ("conversionId", "campaignId", "slug", "test", "deduped")
NEXT_DEDUPE = (
    "conversion dedupe confusion from reused idempotency key (UC-07): send one Idempotency-Key per "
    "business action and a fresh ctx per conversion; escalate with both request ids"
)


@dataclass
class Conversion:
    conversion_id: str
    key: str
    body: dict[str, Any]
    ctx: Ctx
    exchange: Exchange


def body_for(run: StepRun, token: str) -> dict[str, Any]:
    settings = run.campaign.config.conversion
    body: dict[str, Any] = {"ctx": token, "value": settings.value, "currency": settings.currency, "test": True}
    if settings.eventType:
        body["eventType"] = settings.eventType
    return body


def post(run: StepRun, body: dict[str, Any], key: str) -> Exchange:
    return run.client.call("public_conversion", step=run.step, key=key, json_body=body)


def record(run: StepRun, variant: PlatformVariant, ctx: Ctx) -> Conversion:
    """A fresh ctx and a fresh key make one new conversion, attributed to the variant."""
    # The click id is part of the key: a rerun of this run id clicks again, which is a new action.
    key = run.key(f"conversion:{ctx.click_id}", variant.slug)
    body = body_for(run, ctx.token)
    ex = post(run, body, key)
    answer = ex.response_body if isinstance(ex.response_body, dict) else {}
    earlier = run.campaign.notes.setdefault("conversion_ids", [])
    # Meaning before shape: whatever the status, an answer that is an earlier conversion is a merge.
    # A replay on a retry is our own first attempt, committed before its answer failed (5xx): only a
    # replay on the first attempt is a merge; a merge on a retry still shows as an earlier id.
    replayed = _replayed(ex) and ex.attempts == 1
    if ex.status in (200, 201) and (replayed or answer.get("deduped") or answer.get("conversionId") in earlier):
        raise _merged(run, ex, answer)
    answer = expect_status(
        ex,
        201,
        doing=f"posting a public conversion for {variant.slug}",
        categories={"invalid_ctx": (Category.INVALID_CTX, "a public conversion refuses a fresh ctx")},
    )
    answer = expect_json_object(ex, answer, doing="posting a conversion", fields=FIELDS)
    credited = {"campaignId": answer["campaignId"], "slug": answer["slug"]}
    clicked = {"campaignId": run.campaign.campaign_id, "slug": variant.slug}
    if credited != clicked:
        raise fail(
            Category.ATTRIBUTION,
            f"a conversion from a click on {variant.slug} is credited to {answer['slug']} of {answer['campaignId']}",
            expected=clicked,
            actual=credited,
            exchanges=[ctx.click, ex],
            cause=CREDITED_ELSEWHERE,
        )
    expect_equal(
        answer["test"],
        True,
        category=Category.CONTRACT_VIOLATION,
        what="the conversion's `test` flag",
        exchanges=[ex],
        cause="a conversion sent with test: true is recorded as real",
    )
    expect_equal(
        answer.get("eventType"),
        run.campaign.config.event_type,
        category=Category.CONTRACT_VIOLATION,
        what="the conversion's eventType (the configured one, else the goal's default)",
        exchanges=[ex],
        cause="a public conversion carries another eventType than the one sent (or the goal's default)",
    )
    earlier.append(answer["conversionId"])
    counts = run.campaign.notes.setdefault("public_test_conversions", {})
    counts[variant.slug] = counts.get(variant.slug, 0) + 1  # the analytics step counts them back
    run.campaign.notes.setdefault("conversion_exchanges", {})[answer["conversionId"]] = ex
    run.artifacts.add("conversionIds", answer["conversionId"])
    return Conversion(conversion_id=answer["conversionId"], key=key, body=body, ctx=ctx, exchange=ex)


def replay_is_same(run: StepRun, first: Conversion) -> None:
    ex = post(run, first.body, first.key)
    answer = ex.response_body if isinstance(ex.response_body, dict) else {}
    if ex.status in (200, 201) and not (answer.get("conversionId") == first.conversion_id and _replayed(ex)):
        raise fail(
            Category.IDEMPOTENCY_DEDUPE,
            "a replay under the same Idempotency-Key was counted as a new conversion",
            expected=f"conversionId {first.conversion_id} with Idempotent-Replayed: true",
            actual=f"{ex.status}, conversionId {answer.get('conversionId')}, "
            f"Idempotent-Replayed: {ex.response_headers.get('idempotent-replayed')}",
            exchanges=[first.exchange, ex],
            next_step=NEXT_DEDUPE,
            cause="a replay under the same Idempotency-Key is counted as a new conversion",
        )
    expect_status(ex, (200, 201), doing="replaying the same conversion under the same key")


def reused_key_refused(run: StepRun, first: Conversion) -> None:
    changed = {**first.body, "value": (first.body.get("value") or 0) + 1}
    ex = post(run, changed, first.key)
    if ex.status in (200, 201):
        raise fail(
            Category.IDEMPOTENCY_DEDUPE,
            "a reused Idempotency-Key with another body was accepted",
            expected="422 idempotency_key_reused",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[first.exchange, ex],
            next_step=NEXT_DEDUPE,
            cause="a reused Idempotency-Key with another body is accepted",
        )
    expect_status(ex, 422, doing="reusing a key with another body")
    expect_equal(
        ex.error_code,
        "idempotency_key_reused",
        category=Category.CONTRACT_VIOLATION,
        what="the error code for a reused key",
        exchanges=[ex],
        cause="a reused key is refused with another error than idempotency_key_reused",
    )
    return None  # not the check's: tests/tools/raises_covered.py tells its raise from a return by this line


def reused_ctx_deduped(run: StepRun, first: Conversion) -> None:
    ex = post(run, first.body, run.key(f"reused-ctx:{first.ctx.click_id}", first.ctx.slug))
    answer = ex.response_body if isinstance(ex.response_body, dict) else None
    expected = {"status": 200, "conversionId": first.conversion_id, "deduped": True, "dedupeReason": "click_event"}
    actual = (
        {"status": ex.status, **{k: answer.get(k) for k in ("conversionId", "deduped", "dedupeReason")}}
        if answer is not None
        else {"status": ex.status}
    )
    if ex.status in (200, 201) and actual != expected:
        raise fail(
            Category.IDEMPOTENCY_DEDUPE,
            "a second conversion of the same click and event was not deduped",
            expected=expected,
            actual=actual,
            exchanges=[first.exchange, ex],
            next_step=NEXT_DEDUPE,
            cause="a second conversion of one click and event is not deduped",
        )
    expect_status(ex, (200, 201), doing="posting the same ctx and event under a new key")


# A kept ctx counts as stale this long after its expiry, by the platform's clock (its Date header
# has one-second steps, and the two clocks may differ a little).
STALE_MARGIN_SECONDS = 60


def stale_from_journal(run: StepRun, journal_root: str) -> tuple[journal.KeptCtx | None, str]:
    """A ctx an earlier run on this target kept, whose lifetime is over by the platform's clock
    (the Date of a read), or None and why. No platform publishes its ctx TTL: this is how a real
    target gets a stale ctx without waiting inside the run."""
    kept = journal.kept_ctxs(journal_root, base_url=run.client.base_url, handle=run.client.handle, besides=run.run_id)
    if not kept:
        return None, (
            "no ctx of an earlier run on this target in the journal yet: the next run, once a ctx lifetime "
            "has passed, will have one (the platform does not publish its ctx TTL)"
        )
    ex = run.client.call("system_health", step=run.step)
    now = platform_now(ex)
    for candidate in kept:
        expires = parse_time(candidate.expires_at)
        if expires is not None and expires.timestamp() + STALE_MARGIN_SECONDS <= now:
            run.artifacts.put("staleCtxFrom", {"runId": candidate.run_id, "expiresAt": candidate.expires_at})
            return candidate, ""
    newest = kept[0]
    return None, (
        f"the newest ctx an earlier run kept (run {newest.run_id}) expires at {newest.expires_at}, not yet past "
        "by the platform's clock: a stale ctx needs one whose lifetime is over"
    )


def platform_now(ex: Exchange) -> float:
    """The platform's clock from an answer's Date header (else ours)."""
    stamp = ex.response_headers.get("date")
    try:
        return parsedate_to_datetime(stamp).timestamp() if stamp else time.time()
    except (TypeError, ValueError):
        return time.time()


def stale_ctx_refused(run: StepRun, stale_token: str, slug: str) -> None:
    body = {**body_for(run, stale_token), "value": 1}
    ex = post(run, body, run.key(f"stale-ctx:{stale_token[-16:]}", slug))
    if ex.status in (200, 201):
        raise fail(
            Category.STALE_CTX_ACCEPTED,
            "a conversion with an expired ctx was accepted",
            expected="400 invalid_ctx reason expired",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause="an expired ctx is accepted",
            next_step="verify public conversion payload includes fresh ctx token (UC-07 "
            "step 6); the platform must refuse stale ones: escalate",
        )
    expect_status(ex, 400, doing="posting a conversion with an expired ctx")
    expect_equal(
        ex.error_code,
        "invalid_ctx",
        category=Category.CONTRACT_VIOLATION,
        what="the error code for an expired ctx",
        exchanges=[ex],
        cause="an expired ctx is refused with another error than invalid_ctx",
    )
    reason = expect_reason(
        ex, ("expired",), what="a conversion with an expired ctx", cause="an expired ctx is refused for another reason"
    )
    run.artifacts.put("staleCtxReason", reason)


def _replayed(ex: Exchange) -> bool:
    return ex.response_headers.get("idempotent-replayed", "").lower() == "true"


def _merged(run: StepRun, ex: Exchange, answer: Any) -> Exception:
    earlier = run.campaign.notes.get("conversion_ids", [])
    return fail(
        Category.IDEMPOTENCY_DEDUPE,
        "a conversion with a fresh ctx and a new key was merged into an earlier one",
        cause="a conversion with a fresh ctx and a new key is merged into an earlier one",
        expected="201, a new conversionId, deduped false, no Idempotent-Replayed",
        actual=f"{ex.status}, {_answer_ids(answer)}, "
        f"Idempotent-Replayed: {ex.response_headers.get('idempotent-replayed')}; earlier ids {sorted(earlier)}",
        exchanges=[*_earlier_exchange(run, answer), ex],
        next_step=NEXT_DEDUPE,
    )


def _earlier_exchange(run: StepRun, answer: Any) -> list[Exchange]:
    """The exchange that created the conversion this answer merged into, when this run made it."""
    if not isinstance(answer, dict):
        return []
    found = run.campaign.notes.get("conversion_exchanges", {}).get(answer.get("conversionId"))
    return [found] if found is not None else []


def _answer_ids(answer: Any) -> Any:
    if isinstance(answer, str):
        return answer
    return {k: answer.get(k) for k in ("conversionId", "deduped", "dedupeReason")}
