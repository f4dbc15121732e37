"""Personalization rules, and routing: where a visitor of a link goes.

The documented order: the link's own `routingRules` first, lowest `priority` number first; then
the handle's enabled personalization rules (those whose `slugs` is null or names the link), lowest
priority first; then the link's `destinationUrl`. A rule's conditions (`country`, `device`,
`source`, `campaign`) are AND-ed and a missing one matches anything (gap: the rule shapes);
values compare case-insensitively.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.links.state import check_destination, check_slug
from preflight.sandbox.personalization.models import RuleIn

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

CONDITIONS = ("country", "device", "source", "campaign")


@dataclass(frozen=True)
class Traits:
    country: str | None = None
    device: str | None = None
    source: str | None = None
    campaign: str | None = None


@dataclass(frozen=True)
class Routed:
    destination_url: str
    kind: str  # link_rule, personalization_rule or default
    rule_id: str | None = None


def view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "ruleId": row["rule_id"],
        "priority": row["priority"],
        "enabled": bool(row["enabled"]),
        "slugs": json.loads(row["slugs"]) if row["slugs"] is not None else None,
        "when": json.loads(row["conditions"]),
        "destinationUrl": row["destination_url"],
        "updatedAt": rfc3339(row["updated_at"]),
    }


def put(rt: Runtime, handle: str, rule_id: str, body: RuleIn) -> tuple[dict[str, Any], bool]:
    """Create (True) or replace a rule."""
    from preflight.sandbox.core.errors import validation_error

    if not 0 < len(rule_id) <= 64:
        raise validation_error("ruleId", "1 to 64 characters")
    check_destination(body.destinationUrl)
    for i, slug in enumerate(body.slugs or []):
        check_slug(slug, f"slugs.{i}")
    values = (
        body.priority,
        int(body.enabled),
        json.dumps(body.slugs) if body.slugs is not None else None,
        json.dumps(body.when.model_dump(exclude_none=True)),
        body.destinationUrl,
        rt.clock.now(),
    )
    with rt.db.tx():
        cur = rt.db.run(
            "UPDATE personalization_rules SET priority = ?, enabled = ?, slugs = ?, conditions = ?, "
            "destination_url = ?, updated_at = ? WHERE handle = ? AND rule_id = ?",
            values + (handle, rule_id),
        )
        created = not cur.rowcount
        if created:
            rt.db.run(
                "INSERT INTO personalization_rules (priority, enabled, slugs, conditions, destination_url, "
                "updated_at, handle, rule_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values + (handle, rule_id),
            )
        row = rt.db.one("SELECT * FROM personalization_rules WHERE handle = ? AND rule_id = ?", (handle, rule_id))
    return view(row), created


def listing(rt: Runtime, handle: str, after: int, limit: int) -> tuple[list[sqlite3.Row], list[dict[str, Any]]]:
    rows = rt.db.all(
        "SELECT * FROM personalization_rules WHERE handle = ? AND id > ? ORDER BY id LIMIT ?",
        (handle, after, limit + 1),
    )
    return rows, [view(row) for row in rows[:limit]]


def matches(when: dict[str, Any], visitor: Traits) -> bool:
    for name in CONDITIONS:
        wanted = when.get(name)
        if wanted is None:
            continue
        wanted = [wanted] if isinstance(wanted, str) else wanted
        value = getattr(visitor, name)
        if value is None or value.lower() not in {str(w).lower() for w in wanted}:
            return False
    return True


def route(rt: Runtime, link: sqlite3.Row, visitor: Traits) -> Routed:
    """Where this visitor of `link` goes, and which rule sent them there."""
    link_rules = sorted(json.loads(link["routing_rules"]), key=lambda r: r["priority"])
    for rule in link_rules:
        if matches(rule.get("when") or {}, visitor):
            return Routed(rule["destinationUrl"], "link_rule", rule["ruleId"])
    rows = rt.db.all(
        "SELECT * FROM personalization_rules WHERE handle = ? AND enabled = 1 ORDER BY priority, id",
        (link["handle"],),
    )
    for row in rows:
        slugs = json.loads(row["slugs"]) if row["slugs"] is not None else None
        if slugs is not None and link["slug"] not in slugs:
            continue
        if matches(json.loads(row["conditions"]), visitor):
            return Routed(row["destination_url"], "personalization_rule", row["rule_id"])
    return Routed(link["destination_url"], "default")
