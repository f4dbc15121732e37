"""Campaigns: create with a primary link, read, list, change status."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from preflight.sandbox.campaigns.models import CampaignIn, CampaignPatch
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import ApiError, not_found, validation_error
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime


def get(rt: Runtime, handle: str, campaign_id: str) -> sqlite3.Row | None:
    return rt.db.one("SELECT * FROM campaigns WHERE handle = ? AND campaign_id = ?", (handle, campaign_id))


def require(rt: Runtime, handle: str, campaign_id: str) -> sqlite3.Row:
    row = get(rt, handle, campaign_id)
    if row is None:
        raise not_found(f"campaign {campaign_id}")
    return row


def view(rt: Runtime, row: sqlite3.Row) -> dict[str, Any]:
    bound = links.for_campaign(rt, row["handle"], row["campaign_id"])
    primary = next((link for link in bound if link["slug"] == row["primary_slug"]), None)
    return {
        "campaignId": row["campaign_id"],
        "handle": row["handle"],
        "goalType": row["goal_type"],
        "status": row["status"],
        "name": row["name"],
        "primarySlug": row["primary_slug"],
        "primaryLink": links.view(rt, primary) if primary is not None else None,
        "leadVerification": {"mode": row["lead_mode"]},
        "links": [link["slug"] for link in bound],
        "createdAt": rfc3339(row["created_at"]),
        "updatedAt": rfc3339(row["updated_at"]),
    }


def _primary_slug(rt: Runtime, handle: str, body: CampaignIn) -> str:
    """Check the primary link (new or bound) and answer its slug."""
    if (body.primaryLink is None) == (body.primarySlug is None):
        raise validation_error("primaryLink", "give exactly one of primaryLink or primarySlug")
    if body.primaryLink is not None:
        slug = body.primaryLink.slug
        links.check_slug(slug, "primaryLink.slug")
        links.check_body(body.primaryLink, "primaryLink.")
        if links.get(rt, handle, slug) is not None:
            raise ApiError(409, "conflict", f"link {slug} exists already: bind it with primarySlug")
        return slug
    slug = body.primarySlug or ""
    link = links.get(rt, handle, slug)
    if link is None:
        raise validation_error("primarySlug", f"no link {slug} on handle {handle}")
    if link["campaign_id"] is not None:
        raise ApiError(409, "conflict", f"link {slug} is bound to campaign {link['campaign_id']}")
    return slug


def create(rt: Runtime, handle: str, body: CampaignIn) -> dict[str, Any]:
    with rt.db.tx():
        if get(rt, handle, body.campaignId) is not None:
            raise ApiError(409, "conflict", f"campaign {body.campaignId} exists already")
        slug = _primary_slug(rt, handle, body)
        now = rt.clock.now()
        rt.db.run(
            "INSERT INTO campaigns (handle, campaign_id, goal_type, status, name, "
            "lead_mode, primary_slug, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                handle,
                body.campaignId,
                body.goalType,
                body.status,
                body.name,
                body.leadVerification.mode,
                slug,
                now,
                now,
            ),
        )
        if body.primaryLink is not None:
            links.save(rt, handle, slug, body.primaryLink, body.campaignId)
        else:
            rt.db.run(
                "UPDATE links SET campaign_id = ?, updated_at = ? WHERE handle = ? AND slug = ?",
                (body.campaignId, now, handle, slug),
            )
        return view(rt, require(rt, handle, body.campaignId))


def patch(rt: Runtime, handle: str, campaign_id: str, body: CampaignPatch) -> dict[str, Any]:
    with rt.db.tx():
        row = require(rt, handle, campaign_id)
        rt.db.run(
            "UPDATE campaigns SET status = ?, name = ?, updated_at = ? WHERE id = ?",
            (
                body.status or row["status"],
                body.name if "name" in body.model_fields_set else row["name"],
                rt.clock.now(),
                row["id"],
            ),
        )
        return view(rt, require(rt, handle, campaign_id))


def listing(
    rt: Runtime, handle: str, status: str | None, after: int, limit: int
) -> tuple[list[sqlite3.Row], list[dict[str, Any]]]:
    sql = "SELECT * FROM campaigns WHERE handle = ? AND id > ?"
    args: list[Any] = [handle, after]
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    rows = rt.db.all(sql + " ORDER BY id LIMIT ?", args + [limit + 1])
    return rows, [view(rt, r) for r in rows[:limit]]
