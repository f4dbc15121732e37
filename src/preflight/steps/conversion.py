"""Step 6: public conversions carry a fresh ctx from a real click and are
idempotency-safe: a replay is not counted twice, a reused key with another body is
refused, a reused ctx is deduped per click, and a stale ctx is refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.checks import expect_equal, expect_json_object, expect_status, fail
from preflight.exchange import Exchange
from preflight.lifecycle import LiveVariant, StepRun
from preflight.steps.clicks import Ctx

FIELDS = ("conversionId", "campaignId", "slug", "test", "deduped")
NEXT_DEDUPE = ("conversion dedupe confusion from reused idempotency key (UC-07): send one Idempotency-Key per "
               "business action and a fresh ctx per conversion; escalate with both request ids")


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


def record(run: StepRun, variant: LiveVariant, ctx: Ctx) -> Conversion:
    """A fresh ctx and a fresh key make one new conversion, attributed to the variant."""
    # The click id is part of the key: a rerun of this run id clicks again, which is a new action.
    key = run.key(f"conversion:{ctx.click_id}", variant.slug)
    body = body_for(run, ctx.token)
    ex = post(run, body, key)
    answer = expect_status(ex, 201, doing=f"posting a public conversion for {variant.slug}",
                           categories={"invalid_ctx": "invalid_ctx"})
    # A replay on a retry is our own first attempt, committed before its answer failed (5xx):
    # only a replay on the first attempt is a merge; a merge on a retry still shows as an earlier id.
    replayed = _replayed(ex) and ex.attempts == 1
    if ex.status == 200 or replayed or (isinstance(answer, dict) and answer.get("deduped")):
        raise _merged(run, ex, answer)
    answer = expect_json_object(ex, answer, doing="posting a conversion", fields=FIELDS)
    earlier = run.campaign.notes.setdefault("conversion_ids", [])
    if answer["conversionId"] in earlier:
        raise _merged(run, ex, answer)
    expect_equal(answer["slug"], variant.slug, category="contract_violation",
                 what="the conversion's attributed slug", exchanges=[ctx.click, ex])
    expect_equal(answer["test"], True, category="contract_violation", what="the conversion's `test` flag",
                 exchanges=[ex])
    expect_equal(answer.get("eventType"), run.campaign.config.event_type, category="contract_violation",
                 what="the conversion's eventType (the configured one, else the goal's default)", exchanges=[ex])
    earlier.append(answer["conversionId"])
    run.artifacts.add("conversionIds", answer["conversionId"])
    return Conversion(conversion_id=answer["conversionId"], key=key, body=body, ctx=ctx, exchange=ex)


def replay_is_same(run: StepRun, first: Conversion) -> None:
    ex = post(run, first.body, first.key)
    answer = expect_status(ex, (200, 201), doing="replaying the same conversion under the same key")
    same = isinstance(answer, dict) and answer.get("conversionId") == first.conversion_id
    if not (same and _replayed(ex)):
        raise fail("idempotency_dedupe", "a replay under the same Idempotency-Key was counted as a new conversion",
                   expected=f"conversionId {first.conversion_id} with Idempotent-Replayed: true",
                   actual=f"conversionId {answer.get('conversionId') if isinstance(answer, dict) else answer}, "
                          f"Idempotent-Replayed: {ex.response_headers.get('idempotent-replayed')}",
                   exchanges=[first.exchange, ex], next_step=NEXT_DEDUPE)


def reused_key_refused(run: StepRun, first: Conversion) -> None:
    changed = {**first.body, "value": (first.body.get("value") or 0) + 1}
    ex = post(run, changed, first.key)
    if ex.status != 422:
        raise fail("idempotency_dedupe", "a reused Idempotency-Key with another body was not refused",
                   expected="422 idempotency_key_reused", actual=f"{ex.status} {ex.body_excerpt(200)}",
                   exchanges=[first.exchange, ex], next_step=NEXT_DEDUPE)
    expect_equal(ex.error_code, "idempotency_key_reused", category="contract_violation",
                 what="the error code for a reused key", exchanges=[ex])


def reused_ctx_deduped(run: StepRun, first: Conversion) -> None:
    ex = post(run, first.body, run.key(f"reused-ctx:{first.ctx.click_id}", first.ctx.slug))
    answer = expect_status(ex, (200, 201), doing="posting the same ctx and event under a new key")
    expected = {"status": 200, "conversionId": first.conversion_id, "deduped": True, "dedupeReason": "click_event"}
    actual = {"status": ex.status, **{k: answer.get(k) for k in ("conversionId", "deduped", "dedupeReason")}} \
        if isinstance(answer, dict) else {"status": ex.status}
    if actual != expected:
        raise fail("idempotency_dedupe", "a second conversion of the same click and event was not deduped",
                   expected=expected, actual=actual, exchanges=[first.exchange, ex], next_step=NEXT_DEDUPE)


def stale_ctx_refused(run: StepRun, stale_token: str, slug: str) -> None:
    body = {**body_for(run, stale_token), "value": 1}
    ex = post(run, body, run.key(f"stale-ctx:{stale_token[-16:]}", slug))
    if ex.status in (200, 201):
        raise fail("stale_ctx_accepted", "a conversion with an expired ctx was accepted",
                   expected="400 invalid_ctx reason expired", actual=f"{ex.status} {ex.body_excerpt(200)}",
                   exchanges=[ex], next_step="verify public conversion payload includes fresh ctx token (UC-07 "
                                            "step 6); the platform must refuse stale ones: escalate")
    expect_status(ex, 400, doing="posting a conversion with an expired ctx")
    expect_equal((ex.error_code, ex.body_field("reason")), ("invalid_ctx", "expired"),
                 category="contract_violation", what="the error code and reason for an expired ctx", exchanges=[ex])


def _replayed(ex: Exchange) -> bool:
    return ex.response_headers.get("idempotent-replayed", "").lower() == "true"


def _merged(run: StepRun, ex: Exchange, answer: Any) -> Exception:
    earlier = run.campaign.notes.get("conversion_ids", [])
    return fail("idempotency_dedupe", "a conversion with a fresh ctx and a new key was merged into an earlier one",
                expected="201, a new conversionId, deduped false, no Idempotent-Replayed",
                actual=f"{ex.status}, {answer if isinstance(answer, str) else {k: answer.get(k) for k in ('conversionId', 'deduped', 'dedupeReason')}}, "
                       f"Idempotent-Replayed: {ex.response_headers.get('idempotent-replayed')}; earlier ids {sorted(earlier)}",
                exchanges=[ex], next_step=NEXT_DEDUPE)
