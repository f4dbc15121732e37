"""Links: create or replace, read back, the variants of a campaign.

An A/B test's variants are the enabled links bound to one campaign (its primary link and each
link PUT with its campaignId). `enabled: false` retires a link.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from preflight.core.faults import FaultName
from preflight.sandbox.core.clock import parse_rfc3339, rfc3339
from preflight.sandbox.core.errors import ApiError, validation_error
from preflight.sandbox.faults import TRAFFIC_TAGS
from preflight.sandbox.links.models import LinkIn

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

SLUG_RE = re.compile(r"^[A-Za-z0-9_-]{4,24}$")
TAG_COLUMNS = {"utmSource": "utm_source", "utmMedium": "utm_medium", "utmCampaign": "utm_campaign"}


def check_slug(slug: str, field: str = "slug") -> None:
    if not SLUG_RE.match(slug):
        raise ApiError(
            400,
            "invalid_slug",
            f"slug {slug!r} must match ^[A-Za-z0-9_-]{{4,24}}$",
            fields=[{"field": field, "message": "must match ^[A-Za-z0-9_-]{4,24}$"}],
        )


def check_destination(url: str, field: str = "destinationUrl") -> None:
    parts = urlsplit(url) if not any(c.isspace() for c in url) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(
            400,
            "invalid_destination_url",
            f"destinationUrl {url[:200]!r} is not an absolute http(s) URL",
            fields=[{"field": field, "message": "must be an absolute http(s) URL"}],
        )


def get(rt: Runtime, handle: str, slug: str) -> sqlite3.Row | None:
    return rt.db.one("SELECT * FROM links WHERE handle = ? AND slug = ?", (handle, slug))


def swapped(rt: Runtime, handle: str, campaign_id: str, slug: str) -> str:
    """The slug a conversion or lead is credited to: the clicked one, or (fault
    attribution_swapped) the next enabled variant of the campaign."""
    if not rt.faults.active or not rt.faults.hit(FaultName.ATTRIBUTION_SWAPPED, campaign_id, slug):
        return slug
    other = sibling(rt, handle, campaign_id, slug)
    return other["slug"] if other is not None else slug


def sibling(rt: Runtime, handle: str, campaign_id: str, slug: str) -> sqlite3.Row | None:
    """The enabled variant after `slug` in its campaign (in creation order), wrapping around."""
    bound = [row for row in for_campaign(rt, handle, campaign_id) if row["enabled"]]
    slugs = [row["slug"] for row in bound]
    if slug not in slugs or len(slugs) < 2:
        return None
    return bound[(slugs.index(slug) + 1) % len(slugs)]


def for_campaign(rt: Runtime, handle: str, campaign_id: str) -> list[sqlite3.Row]:
    return rt.db.all("SELECT * FROM links WHERE handle = ? AND campaign_id = ? ORDER BY id", (handle, campaign_id))


def tracking(rt: Runtime, row: sqlite3.Row) -> dict[str, str]:
    """A link's traffic tags as read back (fault traffic_tag_dropped hides one)."""
    tags = {name: row[column] for name, column in TAG_COLUMNS.items() if row[column]}
    if rt.faults.active:
        dropped = rt.faults.hit(FaultName.TRAFFIC_TAG_DROPPED, row["campaign_id"], row["slug"])
        if dropped:
            tags.pop(dropped["tag"], None)
        changed = rt.faults.hit(FaultName.TRAFFIC_TAG_CHANGED, row["campaign_id"], row["slug"])
        if changed and changed["tag"] in tags:
            tags[changed["tag"]] = changed["value"]
    return tags


def utm_params(tags: dict[str, str]) -> dict[str, str]:
    return {TRAFFIC_TAGS[name]: value for name, value in tags.items()}


def _time(value: float | None) -> str | None:
    return rfc3339(value) if value is not None else None


def view(rt: Runtime, row: sqlite3.Row) -> dict[str, Any]:
    return {
        "handle": row["handle"],
        "slug": row["slug"],
        "destinationUrl": row["destination_url"],
        "title": row["title"],
        "enabled": bool(row["enabled"]),
        "tags": json.loads(row["tags"]),
        "tracking": tracking(rt, row),
        "campaignId": row["campaign_id"],
        "trackingPolicy": {"mode": row["tracking_mode"], "appendContextParam": bool(row["append_ctx"])},
        "redirectType": row["redirect_type"],
        "scheduledStartAt": _time(row["scheduled_start_at"]),
        "scheduledEndAt": _time(row["scheduled_end_at"]),
        "expiresAt": _time(row["expires_at"]),
        "maxClicks": row["max_clicks"],
        "clickCount": row["click_count"],
        "passwordProtected": bool(row["password_protected"]),
        "routingRules": json.loads(row["routing_rules"]),
        "createdAt": rfc3339(row["created_at"]),
        "updatedAt": rfc3339(row["updated_at"]),
    }


def check_body(body: LinkIn, prefix: str = "") -> None:
    check_destination(body.destinationUrl, prefix + "destinationUrl")
    for i, tag in enumerate(body.tags):
        if not 0 < len(tag) <= 64:
            raise validation_error(f"{prefix}tags.{i}", "a tag is 1 to 64 characters")
    for name in ("scheduledStartAt", "scheduledEndAt", "expiresAt"):
        value = getattr(body, name)
        if value is not None:
            parse_time(value, prefix + name)
    for i, rule in enumerate(body.routingRules):
        check_destination(rule.destinationUrl, f"{prefix}routingRules.{i}.destinationUrl")
    ids = [rule.ruleId for rule in body.routingRules]
    if len(ids) != len(set(ids)):
        raise validation_error(prefix + "routingRules", "each ruleId once")


def parse_time(value: str, field: str) -> float:
    try:
        return parse_rfc3339(value)
    except (ValueError, OverflowError, OSError):
        raise validation_error(field, "an RFC 3339 time with a zone, e.g. 2026-11-27T12:00:00Z") from None


def save(rt: Runtime, handle: str, slug: str, body: LinkIn, campaign_id: str | None) -> bool:
    """Create or replace a link in the current transaction; True when it was created. Its click
    count survives a replace (it counts clicks, not versions)."""
    now = rt.clock.now()
    tags = body.tracking or None
    policy = body.trackingPolicy
    times = {
        name: parse_time(value, name) if value is not None else None
        for name in ("scheduledStartAt", "scheduledEndAt", "expiresAt")
        for value in (getattr(body, name),)
    }
    values = (
        body.destinationUrl,
        body.title,
        int(body.enabled),
        json.dumps(body.tags),
        tags.utmSource if tags else None,
        tags.utmMedium if tags else None,
        tags.utmCampaign if tags else None,
        campaign_id,
        now,
        body.redirectType or 302,
        policy.mode if policy else "DIRECT",
        int(policy.appendContextParam) if policy else 1,
        times["scheduledStartAt"],
        times["scheduledEndAt"],
        times["expiresAt"],
        body.maxClicks,
        int(bool(body.passwordProtected) or body.password is not None),
        json.dumps([rule.model_dump(exclude_none=True) for rule in body.routingRules]),
    )
    columns = (
        "destination_url, title, enabled, tags, utm_source, utm_medium, utm_campaign, campaign_id, updated_at, "
        "redirect_type, tracking_mode, append_ctx, scheduled_start_at, scheduled_end_at, expires_at, max_clicks, "
        "password_protected, routing_rules"
    )
    assignments = ", ".join(f"{name.strip()} = ?" for name in columns.split(","))
    cur = rt.db.run(f"UPDATE links SET {assignments} WHERE handle = ? AND slug = ?", values + (handle, slug))
    if cur.rowcount:
        return False
    marks = ", ".join("?" * (len(values) + 3))
    rt.db.run(
        f"INSERT INTO links ({columns}, handle, slug, created_at) VALUES ({marks})",
        values + (handle, slug, now),
    )
    return True


def put(rt: Runtime, handle: str, slug: str, body: LinkIn) -> tuple[dict[str, Any], bool]:
    check_slug(slug)
    check_body(body)
    with rt.db.tx():
        existing = get(rt, handle, slug)
        campaign_id = body.campaignId
        if campaign_id is None:
            campaign_id = existing["campaign_id"] if existing else None  # keep the binding
        elif rt.db.one("SELECT 1 FROM campaigns WHERE handle = ? AND campaign_id = ?", (handle, campaign_id)) is None:
            raise validation_error("campaignId", f"no campaign {campaign_id} on handle {handle}")
        if existing is not None and existing["campaign_id"] not in (None, campaign_id):
            primary_of = rt.db.scalar(
                "SELECT campaign_id FROM campaigns WHERE handle = ? AND primary_slug = ?", (handle, slug)
            )
            if primary_of is not None:
                raise ApiError(409, "conflict", f"link {slug} is the primary link of campaign {primary_of}")
        created = save(rt, handle, slug, body, campaign_id)
        return view(rt, get(rt, handle, slug)), created


def listing(
    rt: Runtime, handle: str, after: int, limit: int, campaign_id: str | None = None
) -> tuple[list[sqlite3.Row], list]:
    sql, args = "SELECT * FROM links WHERE handle = ? AND id > ?", [handle, after]
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        args.append(campaign_id)
    rows = rt.db.all(sql + " ORDER BY id LIMIT ?", args + [limit + 1])
    return rows, [view(rt, r) for r in rows[:limit]]
