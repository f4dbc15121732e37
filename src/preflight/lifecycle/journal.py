"""The run's journal: every campaign and link a run creates, enables or retires.

It is written ahead: a process appends an `enabling` line (with the link's body) and
flushes it before the request that may enable a link goes out, then `enabled` or
`retired` once the platform answered. Whatever stops a run (Ctrl-C, SIGTERM, a lost
worker, a crash), the journal says which links may be live, so the controller at the end
of the run, or `preflight cleanup` any time later, can retire them.

Each process appends to its own file, `<journal>/<runId>/<writer>.jsonl`, so no two
processes ever write one file; the state of a link is the fold of all files in time order.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIVE = "enabled"  # the platform confirmed the link enabled
MAYBE = "maybe"  # a request that enables it went out; its answer never came back
RETIRED = "retired"  # the platform confirmed `enabled: false`


@dataclass
class LinkRecord:
    run_id: str
    campaign_id: str
    handle: str
    slug: str
    state: str
    body: dict[str, Any] = field(default_factory=dict)  # the link as last enabled (for a retiring PUT)
    request_id: str | None = None
    error: str | None = None

    @property
    def may_be_live(self) -> bool:
        return self.state in (LIVE, MAYBE)


@dataclass
class CampaignRecord:
    run_id: str
    campaign_id: str
    handle: str
    base_url: str = ""
    created: bool | None = None  # True: this run created it; False: adopted; None: unknown
    links: dict[str, LinkRecord] = field(default_factory=dict)
    page_published: bool = False  # its detail page was published by this run

    @property
    def live_links(self) -> list[LinkRecord]:
        return [link for link in self.links.values() if link.may_be_live]


class Journal:
    """One process's appender for one run."""

    def __init__(self, root: str | Path, run_id: str, writer: str, base_url: str = "") -> None:
        self.folder = Path(root) / run_id
        self.run_id = run_id
        self.base_url = base_url  # which platform: a cleanup never touches another one's links
        self.path = self.folder / f"{writer}.jsonl"

    def _append(self, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": time.time(), "runId": self.run_id, "baseUrl": self.base_url, **entry}, sort_keys=True)
        # O_APPEND plus one write per line: a line is never interleaved or half-written, and
        # once write() returns it survives the process being killed (no fsync: a machine
        # crash is not what this guards against).
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def campaign(self, campaign_id: str, handle: str, *, created: bool) -> None:
        self._append({"event": "campaign", "campaignId": campaign_id, "handle": handle, "created": created})

    def page(self, campaign_id: str, handle: str, deployment_id: str) -> None:
        self._append({"event": "page", "campaignId": campaign_id, "handle": handle, "deploymentId": deployment_id})

    def ctx(self, campaign_id: str, handle: str, slug: str, token: str, expires_at: str) -> None:
        """A ctx of a real click (one per campaign and session), so a later run on this target can
        use it as a stale ctx once its lifetime is over (no platform publishes its ctx TTL)."""
        self._append(
            {
                "event": "ctx",
                "campaignId": campaign_id,
                "handle": handle,
                "slug": slug,
                "ctx": token,
                "expiresAt": expires_at,
            }
        )

    def enabling(self, campaign_id: str, handle: str, slug: str, body: dict[str, Any]) -> None:
        self._append({"event": MAYBE, "campaignId": campaign_id, "handle": handle, "slug": slug, "body": body})

    def link(
        self,
        campaign_id: str,
        handle: str,
        slug: str,
        state: str,
        *,
        request_id: str | None = None,
        error: str | None = None,
    ) -> None:
        self._append(
            {
                "event": state,
                "campaignId": campaign_id,
                "handle": handle,
                "slug": slug,
                "requestId": request_id,
                "error": error,
            }
        )


def _entries(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash: the ones before it still count
            if isinstance(entry, dict) and isinstance(entry.get("campaignId"), str):
                yield entry


def read(root: str | Path, run_id: str) -> dict[str, CampaignRecord]:
    """The state of every campaign and link of one run, by campaign id."""
    campaigns: dict[str, CampaignRecord] = {}
    for entry in sorted(_entries(Path(root) / run_id), key=lambda e: e.get("at", 0)):
        record = campaigns.setdefault(
            entry["campaignId"],
            CampaignRecord(
                run_id=run_id,
                campaign_id=entry["campaignId"],
                handle=entry.get("handle", ""),
                base_url=entry.get("baseUrl", ""),
            ),
        )
        event = entry.get("event")
        if event == "campaign":
            # Created once is created: a later session adopting it does not undo that.
            record.created = bool(record.created) or bool(entry.get("created"))
            continue
        if event == "page":
            record.page_published = True
            continue
        if event == "ctx":
            continue
        slug = entry.get("slug")
        if not isinstance(slug, str):
            continue
        link = record.links.setdefault(
            slug,
            LinkRecord(run_id=run_id, campaign_id=record.campaign_id, handle=record.handle, slug=slug, state=MAYBE),
        )
        if event == MAYBE:
            link.state, link.body, link.error = MAYBE, dict(entry.get("body") or {}), None
        elif event in (LIVE, RETIRED):
            link.state, link.request_id, link.error = event, entry.get("requestId"), None
        elif event == "failed":
            link.error = entry.get("error")
    return campaigns


def run_ids(root: str | Path) -> list[str]:
    folder = Path(root)
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def leftovers(campaigns: Iterable[CampaignRecord]) -> list[dict[str, Any]]:
    """What the gate lists: per campaign, the links that may still be live."""
    out = []
    for record in campaigns:
        live = record.live_links
        if not live:
            continue
        out.append(
            {
                "campaignId": record.campaign_id,
                "handle": record.handle,
                "runId": record.run_id,
                "linksLeftEnabled": [{"slug": link.slug, "state": link.state, "error": link.error} for link in live],
            }
        )
    return out


@dataclass(frozen=True)
class KeptCtx:
    token: str
    slug: str
    expires_at: str  # RFC 3339, as the platform resolved it
    run_id: str


def kept_ctxs(root: str | Path, *, base_url: str, handle: str, besides: str = "") -> list[KeptCtx]:
    """The ctx tokens earlier runs (all but run `besides`) kept on this platform and handle, newest first."""
    found: list[tuple[float, KeptCtx]] = []
    for run_id in (r for r in run_ids(root) if r != besides):
        for entry in _entries(Path(root) / run_id):
            if (
                entry.get("event") == "ctx"
                and entry.get("handle") == handle
                and str(entry.get("baseUrl", "")).rstrip("/") == base_url.rstrip("/")
                and isinstance(entry.get("ctx"), str)
                and isinstance(entry.get("expiresAt"), str)
            ):
                kept = KeptCtx(entry["ctx"], str(entry.get("slug")), entry["expiresAt"], run_id)
                found.append((float(entry.get("at", 0)), kept))
    return [kept for _, kept in sorted(found, key=lambda pair: pair[0], reverse=True)]
