"""Step 3 (LEAD_CAPTURE funnels): submit one real lead with a fresh ctx, then find it in
the creator's review list and CSV export; invalid input must be refused."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from typing import Any

from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.http.listing import pages
from preflight.lifecycle.checks import expect_equal, expect_json_object, expect_reason, expect_status, fail
from preflight.lifecycle.clicks import CREDITED_ELSEWHERE, Ctx, tamper
from preflight.lifecycle.model import StepRun

EXPORT_HEADER = ["leadId", "campaignId", "slug", "email", "name", "status", "createdAt"]
VALID_EMAIL_REFUSED = "a valid email is refused as invalid_email"
NEXT_LEAD = (
    "lead capture rejects invalid email or stale ctx payloads (UC-07): check the email and that the ctx is "
    "fresh, then escalate with the request id"
)
INVALID_EMAIL_CODES = ("invalid_email", "validation_error")  # (gap) the docs name neither for sure
LIST_PAGE_LIMIT = 200


@dataclass
class Lead:
    lead_id: str
    email: str
    name: str
    slug: str
    status: str
    exchange: Exchange


def expected_status(verification_mode: str) -> str:
    return "CAPTURED" if verification_mode == "NONE" else "PENDING_VERIFICATION"


def submit(run: StepRun, ctx: Ctx, *, email: str, name: str, purpose: str = "lead") -> Exchange:
    variant = run.campaign.variant(ctx.slug)
    body = {
        "campaignId": run.campaign.campaign_id,
        "email": email,
        "name": name,
        "ctx": ctx.token,
        "source": "campaign-preflight",
        "pageUrl": variant.destination_url,
    }
    return run.client.call("capture_lead", step=run.step, key=run.key(f"{purpose}:{ctx.click_id}"), json_body=body)


def capture_one(run: StepRun, ctx: Ctx, *, email: str, name: str) -> Lead:
    ex = submit(run, ctx, email=email, name=name)
    body = check_stored(ex, lead=f"a valid lead for {email}", doing=f"submitting one lead for {email} via {ctx.slug}")
    check_credited(run, ex, body, lead=f"a lead from a click on {ctx.slug}", slug=ctx.slug, click=ctx.click)
    wanted = expected_status(run.campaign.config.leadVerification)
    expect_equal(
        body["status"],
        wanted,
        category=Category.LEAD_CAPTURE,
        what="the lead's status",
        exchanges=[ex],
        cause=f"a lead of a {run.campaign.config.leadVerification} campaign is not {wanted}",
    )
    run.artifacts.add("leadIds", body["leadId"])
    return Lead(lead_id=body["leadId"], email=email, name=name, slug=ctx.slug, status=body["status"], exchange=ex)


def check_stored(ex: Exchange, *, lead: str, doing: str) -> dict[str, Any]:
    """A lead's answer (the API's, or the post of a landing page's form): stored with a leadId, not
    merely acknowledged, and accepted. Answers its body. `lead` names it in a finding."""
    body = ex.response_body if isinstance(ex.response_body, dict) else {}
    if ex.status == 202 or (ex.status in (200, 201) and not body.get("leadId")):
        raise fail(
            Category.LEAD_CAPTURE,
            f"{lead} was acknowledged but not stored ({ex.status})",
            expected="201 with a leadId (CAPTURED), or 200 deduped with the first leadId",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause="a valid lead is acknowledged without being stored",
            next_step=NEXT_LEAD,
        )
    body = expect_status(
        ex,
        (200, 201),
        doing=doing,
        categories={
            "invalid_email": (Category.LEAD_CAPTURE, VALID_EMAIL_REFUSED),
            "invalid_ctx": (Category.INVALID_CTX, "a fresh ctx is refused by lead capture"),
            "conflict": (Category.LEAD_CAPTURE, "lead capture answers conflict for a LEAD_CAPTURE campaign"),
        },
        next_step=NEXT_LEAD,
    )
    return expect_json_object(ex, body, doing="capturing a lead", fields=("leadId", "campaignId", "slug", "status"))


def check_credited(run: StepRun, ex: Exchange, body: dict[str, Any], *, lead: str, slug: str, click: Exchange) -> None:
    """The lead counts for the campaign and the variant (`slug`) whose click brought it."""
    actual = {"campaignId": body.get("campaignId"), "slug": body.get("slug")}
    expected = {"campaignId": run.campaign.campaign_id, "slug": slug}
    if actual != expected:
        raise fail(
            Category.ATTRIBUTION,
            f"{lead} is credited to {actual['slug']} of {actual['campaignId']}",
            expected=expected,
            actual=actual,
            exchanges=[click, ex],
            cause=CREDITED_ELSEWHERE,
        )


def find_in_review(run: StepRun, lead: Lead) -> dict[str, Any]:
    """The creator's list and the CSV export both show the captured lead, as it was captured: its
    email, its campaign, the variant whose click brought it, and CAPTURED. Answers its listed item."""
    items, pages = _list_all(run)
    listed = [item for item in items if isinstance(item, dict) and item.get("leadId") == lead.lead_id]
    if not listed:
        raise fail(
            Category.LEAD_MISSING_FROM_REVIEW,
            f"captured lead {lead.lead_id} is absent from the review list ({len(items)} leads listed)",
            expected=f"leadId {lead.lead_id} ({lead.email}) in GET /leads?campaignId=…",
            actual=f"{len(items)} items without it",
            exchanges=[lead.exchange, *pages],
            cause="a captured lead is missing from the creator's review list",
        )
    _same_lead(run, lead, listed[0], where="the review list", exchanges=pages)
    rows, export = _export(run)
    exported = [row for row in rows if row.get("leadId") == lead.lead_id]
    if not exported:
        raise fail(
            Category.LEAD_MISSING_FROM_REVIEW,
            f"captured lead {lead.lead_id} is absent from the CSV export ({len(rows)} rows)",
            expected=f"a row with leadId {lead.lead_id}",
            actual=f"{len(rows)} rows without it",
            exchanges=[lead.exchange, export],
            cause="a captured lead is missing from the CSV export",
        )
    _same_lead(run, lead, exported[0], where="the CSV export", exchanges=[export])
    return listed[0]


def _same_lead(run: StepRun, lead: Lead, shown: dict[str, Any], *, where: str, exchanges: list[Exchange]) -> None:
    expected = {"email": lead.email, "campaignId": run.campaign.campaign_id, "slug": lead.slug, "status": "CAPTURED"}
    differing = {name: shown.get(name) for name, value in expected.items() if shown.get(name) != value}
    if differing:
        raise fail(
            Category.LEAD_MISSING_FROM_REVIEW,
            f"{where} shows captured lead {lead.lead_id} with other {', '.join(differing)}",
            expected={name: expected[name] for name in differing},
            actual=differing,
            exchanges=[lead.exchange, *exchanges],
            cause=f"{where} shows a captured lead with other fields than it was captured with",
        )


def pending_not_listed(run: StepRun, lead: Lead) -> None:
    """A lead waiting for its email to be verified (EMAIL_OTP, EMAIL_REPLY_YES) is not listed for
    review until it is (the contract says so)."""
    items, pages = _list_all(run)
    if any(isinstance(item, dict) and item.get("leadId") == lead.lead_id for item in items):
        raise fail(
            Category.LEAD_CAPTURE,
            f"lead {lead.lead_id} is listed for review before its email was verified",
            expected=f"{lead.lead_id} ({lead.status}) absent from GET /leads until verified",
            actual="listed",
            exchanges=[lead.exchange, *pages],
            cause="an unverified lead is listed for review",
        )
    run.artifacts.put("pendingLead", {"leadId": lead.lead_id, "status": lead.status, "listed": False})


def invalid_email_refused(run: StepRun, ctx: Ctx, *, email: str) -> Exchange:
    ex = submit(run, ctx, email=email, name="Invalid Email", purpose="invalid-email")
    if ex.status in (200, 201):
        raise fail(
            Category.LEAD_CAPTURE,
            f"an invalid email {email!r} was accepted",
            expected=f"400 {' or '.join(INVALID_EMAIL_CODES)}",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause="an invalid email is accepted as a lead",
        )
    expect_status(ex, 400, doing=f"submitting the invalid email {email!r}")
    if ex.error_code not in INVALID_EMAIL_CODES:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"an invalid email was refused with {ex.error_code}",
            expected=f"400 {' or '.join(INVALID_EMAIL_CODES)}",
            actual=f"400 {ex.error_code}",
            exchanges=[ex],
            cause="an invalid email is refused with an unexpected error code",
        )
    return ex


def tampered_ctx_refused(run: StepRun, ctx: Ctx, *, email: str, name: str) -> Exchange:
    forged = replace(ctx, token=tamper(ctx.token))
    ex = submit(run, forged, email=email, name=name, purpose="tampered-ctx")
    if ex.status in (200, 201, 202):
        raise fail(
            Category.STALE_CTX_ACCEPTED,
            "a lead with a tampered ctx was accepted",
            expected="400 invalid_ctx (reason bad_signature or malformed)",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause="a lead with a tampered ctx is accepted",
        )
    expect_status(ex, 400, doing="submitting a lead with a tampered ctx")
    if ex.error_code == "invalid_email":  # the email is a valid one: that refusal is the finding
        raise fail(
            Category.LEAD_CAPTURE,
            f"a valid email {email!r} was refused as invalid_email",
            expected="400 invalid_ctx (the ctx is tampered; the email is valid)",
            actual=f"{ex.status} {ex.body_excerpt(200)}",
            exchanges=[ex],
            cause=VALID_EMAIL_REFUSED,
        )
    expect_equal(
        ex.error_code,
        "invalid_ctx",
        category=Category.CONTRACT_VIOLATION,
        what="the error code for a tampered ctx",
        exchanges=[ex],
        cause="a tampered ctx is refused with another error than invalid_ctx",
    )
    expect_reason(
        ex,
        ("bad_signature", "malformed"),
        what="a lead with a tampered ctx",
        cause="a tampered ctx is refused for another reason than its signature",
    )
    return ex


def _list_all(run: StepRun) -> tuple[list[dict[str, Any]], list[Exchange]]:
    items: list[dict[str, Any]] = []
    seen: list[Exchange] = []
    query = {"campaignId": run.campaign.campaign_id}
    for ex, found in pages(run.client, "list_leads", step=run.step, limit=LIST_PAGE_LIMIT, params=query):
        seen.append(ex)
        if found is None:  # not a list page: expect_* say what it is instead
            body = expect_status(ex, 200, doing="listing leads for review")
            body = expect_json_object(ex, body, doing="listing leads", fields={"items": list})
        items.extend(found or [])
    return items, seen


def _export(run: StepRun) -> tuple[list[dict[str, str]], Exchange]:
    ex = run.client.call("export_leads", step=run.step, params={"campaignId": run.campaign.campaign_id})
    text = expect_status(ex, 200, doing="exporting leads as CSV")
    if not isinstance(text, str) or "text/csv" not in ex.response_headers.get("content-type", ""):
        raise fail(
            Category.CONTRACT_VIOLATION,
            "the lead export is not text/csv",
            expected="text/csv",
            actual=ex.response_headers.get("content-type"),
            exchanges=[ex],
        )
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    expect_equal(
        header, EXPORT_HEADER, category=Category.CONTRACT_VIOLATION, what="the export's header row", exchanges=[ex]
    )
    return [dict(zip(header, row, strict=False)) for row in reader], ex  # a short row leaves fields out
