"""Test conversions (synthetic, feed health only) and public conversions (deduped per click
and event type)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.campaigns import state as campaigns
from preflight.sandbox.campaigns.models import DEFAULT_EVENT
from preflight.sandbox.conversions.models import ConversionIn, TestConversionIn
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import ApiError, not_found, validation_error
from preflight.sandbox.core.ids import new_id
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

DEFAULT_CURRENCY = "INR"


def _test_click(rt: Runtime, handle: str, campaign_id: str, token: str) -> ctx_tokens.Click:
    try:
        click = ctx_tokens.check(rt, token, handle, campaign_id)
    except ApiError as err:
        if err.extra.get("reason") == "wrong_campaign" and rt.faults.hit(
            FaultName.WRONG_CAMPAIGN_ACCEPTED, campaign_id
        ):
            return ctx_tokens.check(rt, token, handle, campaign_id, wrong_campaign_ok=True)
        raise
    if rt.faults.hit(FaultName.TEST_CONVERSION_REJECTS_CTX, campaign_id, click.slug):
        raise ctx_tokens.invalid("bad_signature", "ctx signature does not match")
    return click


def _variant_slug(rt: Runtime, campaign: sqlite3.Row, slug: str) -> str:
    link = links.get(rt, campaign["handle"], slug)
    if link is None or link["campaign_id"] != campaign["campaign_id"] or not link["enabled"]:
        raise validation_error("slug", f"{slug} is not an enabled variant of {campaign['campaign_id']}")
    return slug


def record_test(rt: Runtime, handle: str, campaign_id: str, body: TestConversionIn) -> dict[str, Any]:
    campaign = campaigns.require(rt, handle, campaign_id)
    click_id = None
    if body.ctx is not None:
        click = _test_click(rt, handle, campaign_id, body.ctx)
        slug, click_id = click.slug, click.click_id
    elif body.slug is not None:
        slug = _variant_slug(rt, campaign, body.slug)
    else:
        slug = campaign["primary_slug"]
    slug = links.swapped(rt, handle, campaign_id, slug)
    answer = {
        "testConversionId": new_id("tcv"),
        "campaignId": campaign_id,
        "slug": slug,
        "value": float(body.value or 0),
        "currency": body.currency or DEFAULT_CURRENCY,
        "test": True,
        "recordedAt": rfc3339(rt.clock.now()),
    }
    rt.db.run(
        "INSERT INTO test_conversions (test_conversion_id, handle, campaign_id, slug, "
        "click_id, value, currency, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            answer["testConversionId"],
            handle,
            campaign_id,
            slug,
            click_id,
            answer["value"],
            answer["currency"],
            rt.clock.now(),
        ),
    )
    return answer


def view(row: sqlite3.Row, deduped: bool = False) -> dict[str, Any]:
    answer = {
        "conversionId": row["conversion_id"],
        "campaignId": row["campaign_id"],
        "slug": row["slug"],
        "eventType": row["event_type"],
        "value": row["value"],
        "currency": row["currency"],
        "test": bool(row["test"]),
        "deduped": deduped,
    }
    if deduped:
        answer["dedupeReason"] = "click_event"
    return answer


def record_public(
    rt: Runtime, body: ConversionIn, force_new: bool = False
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, answer, extra headers) for POST /v2/public/conversions."""
    click = ctx_tokens.check(rt, body.ctx)
    campaign = campaigns.get(rt, click.handle, click.campaign_id)
    if campaign is None:
        raise not_found(f"campaign {click.campaign_id}")
    event = body.eventType or DEFAULT_EVENT[campaign["goal_type"]]
    db = rt.db
    with db.tx():
        if not force_new and rt.faults.active:
            previous = db.one(
                "SELECT * FROM conversions WHERE handle = ? AND campaign_id = ? ORDER BY id DESC LIMIT 1",
                (click.handle, click.campaign_id),
            )
            if previous is not None and rt.faults.hit(FaultName.KEYS_MERGED, click.campaign_id, click.slug):
                return 201, view(previous), {"Idempotent-Replayed": "true"}
            if previous is not None and rt.faults.hit(
                FaultName.CONVERSION_DEDUPED_FRESH, click.campaign_id, click.slug
            ):
                return 200, view(previous, deduped=True), {}
        if not force_new:
            first = db.one(
                "SELECT * FROM conversions WHERE click_id = ? AND event_type = ? ORDER BY id LIMIT 1",
                (click.click_id, event),
            )
            undeduped = rt.faults.active and rt.faults.hit(
                FaultName.CLICK_EVENT_NOT_DEDUPED, click.campaign_id, click.slug
            )
            if first is not None and not undeduped:
                return 200, view(first, deduped=True), {}
        conversion_id = new_id("cnv")
        slug = links.swapped(rt, click.handle, click.campaign_id, click.slug)
        db.run(
            "INSERT INTO conversions (conversion_id, handle, campaign_id, slug, click_id, "
            "event_type, value, currency, test, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversion_id,
                click.handle,
                click.campaign_id,
                slug,
                click.click_id,
                event,
                float(body.value or 0),
                body.currency or DEFAULT_CURRENCY,
                int(body.test),
                rt.clock.now(),
            ),
        )
        row = db.one("SELECT * FROM conversions WHERE conversion_id = ?", (conversion_id,))
    return 201, view(row), {}
