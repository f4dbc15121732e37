"""Leads of LEAD_CAPTURE campaigns: public capture (honeypot, email check, ctx, dedupe by
email), the creator's list and CSV export."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.campaigns import state as campaigns
from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import ApiError
from preflight.sandbox.core.ids import new_id
from preflight.sandbox.leads.models import LeadIn
from preflight.sandbox.links import state as links

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
CSV_COLUMNS = ("leadId", "campaignId", "slug", "email", "name", "status", "createdAt")


def valid_email(email: str) -> bool:
    return len(email) <= 254 and ".." not in email and EMAIL_RE.match(email) is not None


def _check_email(rt: Runtime, email: str, campaign_id: str) -> None:
    if valid_email(email):
        if rt.faults.hit(FaultName.VALID_EMAIL_REJECTED, campaign_id):
            raise ApiError(400, "invalid_email", f"{email!r} is not a valid email address")
    elif not rt.faults.hit(FaultName.INVALID_EMAIL_ACCEPTED, campaign_id):
        raise ApiError(400, "invalid_email", f"{email[:200]!r} is not a valid email address")


def answer(row: sqlite3.Row, deduped: bool) -> dict[str, Any]:
    return {
        "leadId": row["lead_id"],
        "campaignId": row["campaign_id"],
        "slug": row["slug"],
        "status": row["status"],
        "createdAt": rfc3339(row["created_at"]),
        "deduped": deduped,
    }


def capture(rt: Runtime, handle: str, body: LeadIn) -> tuple[int, dict[str, Any]]:
    if body.ten_x_hp:
        return 202, {"status": "ACCEPTED"}  # a bot filled the honeypot: nothing is stored
    campaign = campaigns.require(rt, handle, body.campaignId)
    if campaign["goal_type"] != "LEAD_CAPTURE":
        raise ApiError(409, "conflict", f"campaign {body.campaignId} is {campaign['goal_type']}, not LEAD_CAPTURE")
    _check_email(rt, body.email, body.campaignId)
    click = ctx_tokens.check(rt, body.ctx, handle, body.campaignId)
    if rt.faults.hit(FaultName.LEAD_DROPPED_SILENTLY, body.campaignId, click.slug):
        return 202, {"status": "ACCEPTED"}
    email_norm = body.email.strip().lower()
    status = "CAPTURED" if campaign["lead_mode"] == "NONE" else "PENDING_VERIFICATION"
    with rt.db.tx():
        first = rt.db.one(
            "SELECT * FROM leads WHERE handle = ? AND campaign_id = ? AND email_norm = ?",
            (handle, body.campaignId, email_norm),
        )
        if first is not None:
            return 200, answer(first, deduped=True)
        lead_id = new_id("lead")
        slug = links.swapped(rt, handle, body.campaignId, click.slug)
        rt.db.run(
            "INSERT INTO leads (lead_id, handle, campaign_id, slug, click_id, email, email_norm, "
            "name, company, message, form_id, source, page_url, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                lead_id,
                handle,
                body.campaignId,
                slug,
                click.click_id,
                body.email,
                email_norm,
                body.name,
                body.company,
                body.message,
                body.formId,
                body.source,
                body.pageUrl,
                status,
                rt.clock.now(),
            ),
        )
        row = rt.db.one("SELECT * FROM leads WHERE lead_id = ?", (lead_id,))
    return 201, answer(row, deduped=False)


def row_view(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "leadId": row["lead_id"],
        "campaignId": row["campaign_id"],
        "slug": row["slug"],
        "email": row["email"],
        "name": row["name"],
        "status": row["status"],
        "createdAt": rfc3339(row["created_at"]),
    }


def _visible(rt: Runtime, rows: list[sqlite3.Row], fault: FaultName) -> list[sqlite3.Row]:
    """Captured leads, less those a lead_missing_* fault hides."""
    if fault not in rt.faults.active:
        return rows
    return [row for row in rows if not rt.faults.hit(fault, row["campaign_id"], row["slug"])]


def _select(
    rt: Runtime, handle: str, campaign_id: str | None, after: int = 0, limit: int | None = None
) -> list[sqlite3.Row]:
    # Unverified leads are not listed, unless fault pending_lead_listed lists them anyway.
    listed = "" if rt.faults.active and rt.faults.hit(FaultName.PENDING_LEAD_LISTED) else " AND status = 'CAPTURED'"
    sql = f"SELECT * FROM leads WHERE handle = ?{listed} AND id > ?"
    args: list[Any] = [handle, after]
    if campaign_id is not None:
        sql += " AND campaign_id = ?"
        args.append(campaign_id)
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit + 1)
    return rt.db.all(sql, args)


def listing(
    rt: Runtime, handle: str, campaign_id: str | None, after: int, limit: int
) -> tuple[list[sqlite3.Row], list[dict[str, Any]]]:
    rows = _select(rt, handle, campaign_id, after, limit)
    shown = _visible(rt, rows[:limit], FaultName.LEAD_MISSING_FROM_LIST)
    return rows, [row_view(r) for r in shown]


def export_csv(rt: Runtime, handle: str, campaign_id: str | None) -> str:
    rows = _visible(rt, _select(rt, handle, campaign_id), FaultName.LEAD_MISSING_FROM_EXPORT)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        view = row_view(row)
        writer.writerow([view[c] if view[c] is not None else "" for c in CSV_COLUMNS])
    return out.getvalue()


def verify(rt: Runtime, lead_id: str) -> dict[str, Any] | None:
    """Sandbox control: mark a PENDING_VERIFICATION lead verified (CAPTURED)."""
    rt.db.run("UPDATE leads SET status = 'CAPTURED' WHERE lead_id = ?", (lead_id,))
    row = rt.db.one("SELECT * FROM leads WHERE lead_id = ?", (lead_id,))
    return row_view(row) if row is not None else None
