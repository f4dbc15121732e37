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

from preflight.core.categories import Category
from preflight.http.client import PlatformClient
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import expect_json_object, expect_status, fail
from preflight.lifecycle.failures import PreflightFailure, Unjudged

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
        """The handle's rules. A deployment whose route answers 404/405 tells nothing about them:
        unjudged, never "no rules"."""
        return self._once(("rules",), lambda: self._pages("list_personalization_rules", step, {}))

    def destination_domains(self, *, step: str) -> Read:
        """The handle's listed domains. A deployment whose route answers 404/405 tells nothing about
        them: unjudged, never "no domains" (which would pass trust having checked nothing)."""
        return self._once(("domains",), lambda: self._pages("list_destination_domains", step, {}))

    def click(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` once per key (a real click is made once per variant); its failure, if any, is
        raised again for every later check that needs the same click, as a repeat of the first."""
        if key in self._failed:
            raise _again(self._failed[key], f"the click on {key}")
        if key not in self._done:
            try:
                self._done[key] = Read(make())
            except (PreflightFailure, Unjudged) as failure:
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
        """One read per key; its failure (or why it cannot judge) is raised again for every later
        check that needs it, as a repeat of the first."""
        if key in self._failed:
            raise _again(self._failed[key], f"the read of {' '.join(key)}")
        found = self._done.get(key)
        if found is not None:
            for ex in found.exchanges:
                if self.on_reuse is not None:
                    self.on_reuse(ex)
            return found
        try:
            read = make()
        except (PreflightFailure, Unjudged) as failure:
            self._failed[key] = failure
            raise
        self._done[key] = read
        return read

    def _one(self, route: str, step: str, **path: str) -> Read:
        ex = self.client.call(route, step=step, **path)
        self.saw(ex)
        if ex.status == 404:
            return Read(None, [ex])
        body = expect_status(ex, 200, doing=f"reading {route.replace('_', ' ')} {' '.join(path.values())}")
        body = expect_json_object(ex, body, doing=f"reading {route}", fields=())
        _about(ex, body, path)
        return Read(body, [ex])

    def _pages(self, route: str, step: str, params: dict[str, Any]) -> Read:
        items: list[Any] = []
        exchanges: list[Exchange] = []
        query: dict[str, Any] = {**params, "limit": 200}
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            ex = self.client.call(route, step=step, params=query)
            self.saw(ex)
            exchanges.append(ex)
            if ex.status in (404, 405) and len(exchanges) == 1:
                raise _route_absent(route, ex)
            page = expect_json_object(
                ex,
                expect_status(ex, 200, doing=f"reading {route.replace('_', ' ')}"),
                doing=route,
                fields={"items": list},
            )
            items += [item for item in page["items"] if isinstance(item, dict)]
            cursor = page.get("nextCursor")
            if not cursor:
                return Read(items, exchanges)
            if cursor in seen:  # the list would loop forever: what it holds past here is unknown
                raise _unfinished(route, exchanges, f"the platform handed out the cursor {cursor!r} twice")
            seen.add(cursor)
            query = {**query, "cursor": cursor}
        raise _unfinished(route, exchanges, f"it still had a nextCursor after {MAX_PAGES} pages of 200")


def _again(first: PreflightFailure | Unjudged, what: str) -> PreflightFailure | Unjudged:
    if isinstance(first, Unjudged):
        return Unjudged(first.reason, fix=first.fix)
    return replace(first, duplicate_of=what)


def _about(ex: Exchange, body: dict[str, Any], path: dict[str, str]) -> None:
    """An answer about another object than the one asked for (a link of another slug, another
    campaign) is the platform's contract violation, never read as the one asked for. The answer
    names its object in the field named as the path parameter (slug, campaignId)."""
    for param, asked in path.items():
        said = body.get(param)
        if said is not None and said != asked:
            raise fail(
                Category.CONTRACT_VIOLATION,
                f"{ex.method} {ex.path} answers about {param} {said!r}, not the {asked!r} asked for",
                expected={param: asked},
                actual={param: said},
                exchanges=[ex],
                cause="a read answers about another object than the one asked for",
                next_step="the platform answered for another object: nothing in that answer can be judged; report "
                "it to 10xDotIn with the request id",
            )


def _route_absent(route: str, ex: Exchange) -> Unjudged:
    return Unjudged(
        f"{ex.method} {ex.path} answers {ex.status} (request id {ex.request_id or 'none'}): this deployment "
        f"does not serve {route}, so what it would list is unknown, not empty",
        fix=f"set the route's path in the target's contract.routes.{route} if this deployment serves it elsewhere "
        "(ask 10xDotIn where), then re-run the audit",
    )


def _unfinished(route: str, exchanges: list[Exchange], why: str) -> Unjudged:
    ids = ", ".join(ex.request_id for ex in exchanges[-3:] if ex.request_id) or "none"
    return Unjudged(
        f"the list GET {exchanges[0].path} ({route}) could not be read whole: {why} (last request ids {ids}); "
        "what it holds past there is unknown",
        fix="report the list's paging to 10xDotIn with the request ids (a cursor must lead on, and end with "
        "nextCursor null), then re-run the audit",
    )
