"""Retire what a run left enabled, from its journal.

The controller calls `retire` once every test has finished or the run was stopped;
`preflight cleanup` calls it for earlier runs. Retiring is idempotent: a link the journal
knows retired is never written again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from preflight.http.client import PlatformClient
from preflight.lifecycle import journal
from preflight.lifecycle.steps.campaign import retire_link


@dataclass
class Outcome:
    retired: list[dict[str, Any]] = field(default_factory=list)  # {campaignId, slug, requestId}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {campaignId, slug, error}
    writes: int = 0  # quota-counted writes spent


def _never_created(
    client: PlatformClient,
    link: journal.LinkRecord,
    writer: journal.Journal,
    outcome: Outcome,
    on_link: Callable[[journal.LinkRecord, str], None] | None,
) -> bool:
    """A link whose enabling request lost its answer may never have been made (e.g. its campaign's
    create was refused): GET it first; a 404 leaves nothing to retire (and a PUT naming a campaign
    that does not exist would be refused)."""
    ex = client.call("get_link", step="teardown", slug=link.slug)
    if ex.status != 404:
        return False
    writer.link(link.campaign_id, link.handle, link.slug, journal.RETIRED, request_id=ex.request_id)
    outcome.retired.append({"campaignId": link.campaign_id, "slug": link.slug, "requestId": ex.request_id})
    if on_link is not None:
        on_link(link, "never created (GET -> 404): nothing to retire")
    return True


def live_links(root: str, run_id: str, base_url: str, handle: str) -> list[journal.LinkRecord]:
    """The links of one run that may still be enabled on this platform and handle."""
    return [
        link
        for record in journal.read(root, run_id).values()
        for link in record.live_links
        if record.handle == handle and record.base_url.rstrip("/") == base_url.rstrip("/")
    ]


def retire(
    client: PlatformClient,
    links: list[journal.LinkRecord],
    *,
    writer: journal.Journal,
    session: str,
    on_link: Callable[[journal.LinkRecord, str], None] | None = None,
    outcome: Outcome | None = None,
) -> Outcome:
    """PUT `enabled: false` on each link; the journal (and `outcome`, when given, so a caller
    stopped half-way still has the count) records each answer as it comes."""
    outcome = outcome if outcome is not None else Outcome()
    for link in links:
        entry = {"campaignId": link.campaign_id, "slug": link.slug}
        if not link.body:
            outcome.failed.append({**entry, "error": "the journal has no body for this link"})
            continue
        if link.state == journal.MAYBE and _never_created(client, link, writer, outcome, on_link):
            continue
        ex = retire_link(
            client, run_id=link.run_id, campaign_id=link.campaign_id, slug=link.slug, body=link.body, session=session
        )
        outcome.writes += 1
        if ex.status in (200, 201):
            writer.link(link.campaign_id, link.handle, link.slug, journal.RETIRED, request_id=ex.request_id)
            outcome.retired.append({**entry, "requestId": ex.request_id})
            status = "retired"
        else:
            error = f"{ex.label}: {ex.error_code or ex.error or ex.body_excerpt(120)}"
            writer.link(link.campaign_id, link.handle, link.slug, "failed", error=error)
            outcome.failed.append({**entry, "error": error, "requestId": ex.request_id})
            status = f"not retired ({error})"
        if on_link is not None:
            on_link(link, status)
    return outcome
