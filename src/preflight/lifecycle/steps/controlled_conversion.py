"""Step 4: a controlled test conversion for each variant, attributed to its click; then
the conversion_signal check passes, and a foreign ctx is refused."""

from __future__ import annotations

from typing import Any

from preflight.core.categories import Category
from preflight.lifecycle.checks import expect_equal, expect_json_object, expect_reason, expect_status, fail
from preflight.lifecycle.clicks import CREDITED_ELSEWHERE, Ctx
from preflight.lifecycle.model import PlatformVariant, StepRun
from preflight.lifecycle.steps.health import fetch

NEXT_INVALID_CTX = (
    "test-conversion endpoint returns invalid_ctx (UC-07): the ctx came from a real click "
    "seconds ago and resolved via /v2/public/context, so escalate with the request ids"
)


def record(run: StepRun, variant: PlatformVariant, ctx: Ctx) -> dict[str, Any]:
    conversion = run.campaign.config.conversion
    body = {"value": conversion.value, "currency": conversion.currency, "ctx": ctx.token}
    ex = run.client.call(
        "test_conversion",
        step=run.step,
        key=run.key(f"test-conversion:{ctx.click_id}", variant.slug),
        json_body=body,
        campaignId=run.campaign.campaign_id,
    )
    answer = expect_status(
        ex,
        201,
        doing=f"recording a test conversion for {variant.slug}",
        categories={"invalid_ctx": (Category.INVALID_CTX, "test-conversion refuses a fresh ctx")},
        next_step=NEXT_INVALID_CTX,
    )
    answer = expect_json_object(
        ex, answer, doing="recording a test conversion", fields=("testConversionId", "campaignId", "slug", "test")
    )
    credited = {"campaignId": answer["campaignId"], "slug": answer["slug"]}
    clicked = {"campaignId": run.campaign.campaign_id, "slug": variant.slug}
    if credited != clicked:
        raise fail(
            Category.ATTRIBUTION,
            f"a test conversion from a click on {variant.slug} is credited to "
            f"{answer['slug']} of {answer['campaignId']}",
            expected=clicked,
            actual=credited,
            exchanges=[ctx.click, ex],
            cause=CREDITED_ELSEWHERE,
        )
    expect_equal(
        answer["test"],
        True,
        category=Category.CONTRACT_VIOLATION,
        what="the test conversion's `test` flag",
        exchanges=[ex],
        cause="a test conversion is recorded as real (test is not true): it would count in real metrics",
    )
    run.artifacts.add("testConversionIds", answer["testConversionId"])
    run.campaign.notes.setdefault("test_conversions", {})[variant.slug] = answer["testConversionId"]
    return answer


def check_signal(run: StepRun) -> None:
    health = fetch(run)
    signal = health.check("conversion_signal")
    if signal["status"] != "PASS":
        recorded = sorted(run.campaign.notes.get("test_conversions", {}))
        raise fail(
            Category.HEALTH_NOT_READY,
            f"conversion_signal is {signal['status']} after a test conversion per variant: {signal.get('detail')}",
            expected=f"conversion_signal PASS (test conversions recorded for {recorded})",
            actual=signal,
            exchanges=[health.exchange],
            cause="conversion_signal stays below PASS after a test conversion for every variant",
            follows=("test_conversion",),
            next_step="issue controlled test-conversion for each campaign variant (UC-07 step 4); "
            "the variants named in the detail have none",
        )


def foreign_ctx_refused(run: StepRun, foreign: Ctx) -> None:
    body = {"value": 0, "currency": run.campaign.config.conversion.currency, "ctx": foreign.token}
    ex = run.client.call(
        "test_conversion",
        step=run.step,
        key=run.key(f"foreign-ctx:{foreign.click_id}"),
        json_body=body,
        campaignId=run.campaign.campaign_id,
    )
    if ex.status in (200, 201):
        raise fail(
            Category.STALE_CTX_ACCEPTED,
            f"a ctx from campaign {foreign.campaign_id} was accepted by {run.campaign.campaign_id}'s test-conversion",
            expected="400 invalid_ctx reason wrong_campaign",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[foreign.click, ex],
            cause="test-conversion accepts a ctx of another campaign",
        )
    expect_status(ex, 400, doing="sending another campaign's ctx to test-conversion")
    expect_equal(
        ex.error_code,
        "invalid_ctx",
        category=Category.CONTRACT_VIOLATION,
        what="the error for another campaign's ctx",
        exchanges=[ex],
        cause="another campaign's ctx is refused with another error than invalid_ctx",
    )
    reason = expect_reason(
        ex,
        ("wrong_campaign",),
        what="another campaign's ctx",
        cause="another campaign's ctx is refused for another reason than wrong_campaign",
    )
    run.artifacts.put("foreignCtxReason", reason)
