"""Every GET the audit makes, made once per process and shared by its checks.

Several checks read the same campaign, link, rules or domains: each is read once, and a check
that uses an earlier read carries its exchange as evidence (`on_reuse` hands it to the running
test, so its request id is in that test's artifacts). The one real click per variant
(`--click`) is made here too, once, whichever check needs it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status
from preflight.lifecycle.failures import PreflightFailure

MAX_PAGES = 100  # a list longer than this many pages of 200 is not a campaign's


@dataclass
class Read:
    body: Any  # the answer (a list's items joined over its pages), or None when not found (404)
    exchanges: list[Exchange] = field(default_factory=list)


class LiveReads:
    def __init__(self, client: PlatformClient) -> None:
        self.client = client
        self.on_reuse: Callable[[Exchange], None] | None = None
        self._done: dict[tuple[str, ...], Read] = {}
        self._failed: dict[tuple[str, ...], PreflightFailure] = {}
        self._clock: tuple[datetime, float] | None = None  # the platform's Date, and when we read it

    # -- the reads ---------------------------------------------------------------------------------
    def campaign(self, campaign_id: str, *, step: str) -> Read:
        return self._once(("campaign", campaign_id), lambda: self._one("get_campaign", step, campaignId=campaign_id))

    def link(self, slug: str, *, step: str) -> Read:
        return self._once(("link", slug), lambda: self._one("get_link", step, slug=slug))

    def links_of(self, campaign_id: str, *, step: str) -> Read:
        return self._once(("links", campaign_id), lambda: self._pages("list_links", step, {"campaignId": campaign_id}))

    def personalization_rules(self, *, step: str) -> Read:
        """The handle's rules; a deployment without the route (404/405) has none (gap)."""
        return self._once(("rules",), lambda: self._pages("list_personalization_rules", step, {}, absent_ok=True))

    def destination_domains(self, *, step: str) -> Read:
        """The handle's listed domains; a deployment without the route (404/405) lists none (gap)."""
        return self._once(("domains",), lambda: self._pages("list_destination_domains", step, {}, absent_ok=True))

    def click(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` once per key (a real click is made once per variant); its failure, if any, is
        raised again for every later check that needs the same click, as a repeat of the first."""
        if key in self._failed:
            first = self._failed[key]
            raise replace(first, duplicate_of=f"the click on {key}")
        if key not in self._done:
            try:
                self._done[key] = Read(make())
            except PreflightFailure as failure:
                self._failed[key] = failure
                raise
        return self._done[key].body

    # -- the platform's clock ------------------------------------------------------------------------
    def now(self) -> datetime:
        """The platform's time: the Date of its latest answer, carried forward by local elapsed time
        (the sandbox's clock may be moved), else this computer's."""
        if self._clock is None:
            return datetime.now(UTC)
        seen, at = self._clock
        return datetime.fromtimestamp(seen.timestamp() + (time.monotonic() - at), UTC)

    def saw(self, ex: Exchange) -> None:
        try:
            when = parsedate_to_datetime(ex.response_headers["date"])
        except (KeyError, TypeError, ValueError):
            return
        self._clock = (when if when.tzinfo else when.replace(tzinfo=UTC), time.monotonic())

    # -- plumbing ------------------------------------------------------------------------------------
    def _once(self, key: tuple[str, ...], make: Callable[[], Read]) -> Read:
        found = self._done.get(key)
        if found is not None:
            for ex in found.exchanges:
                if self.on_reuse is not None:
                    self.on_reuse(ex)
            return found
        read = make()
        self._done[key] = read
        return read

    def _one(self, route: str, step: str, **path: str) -> Read:
        ex = self.client.call(route, step=step, **path)
        self.saw(ex)
        if ex.status == 404:
            return Read(None, [ex])
        body = expect_status(ex, 200, doing=f"reading {route.replace('_', ' ')} {' '.join(path.values())}")
        return Read(expect_json_object(ex, body, doing=f"reading {route}", fields=()), [ex])

    def _pages(self, route: str, step: str, params: dict[str, Any], *, absent_ok: bool = False) -> Read:
        items: list[Any] = []
        exchanges: list[Exchange] = []
        query: dict[str, Any] = {**params, "limit": 200}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            ex = self.client.call(route, step=step, params=query)
            self.saw(ex)
            exchanges.append(ex)
            if absent_ok and ex.status in (404, 405) and not items:
                return Read([], exchanges)
            page = expect_json_object(
                ex,
                expect_status(ex, 200, doing=f"reading {route.replace('_', ' ')}"),
                doing=route,
                fields={"items": list},
            )
            items += [item for item in page["items"] if isinstance(item, dict)]
            cursor = page.get("nextCursor")
            if not cursor or cursor in seen:  # a cursor handed out twice would loop forever
                break
            seen.add(cursor)
            query = {**query, "cursor": cursor}
        return Read(items, exchanges)
