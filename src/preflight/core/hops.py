"""A click's hops, described once: what a short link's own answer may be and what makes one wrong.

A working click is a 302, a 307 (where the link's redirectType says so) with a Location, or a 200
bridge page (trackingPolicy.mode BRIDGE) that sends the visitor on through a meta refresh and/or an
`a#continue` link (gap: the markup; either one suffices, both must agree). Anything else is wrong:
a page that sends the visitor nowhere, a bridge page whose two ways disagree, a redirect without a
Location, a redirect the contract does not name (301, 303, 308), a password page, 403
destination_unverified, 410 link_expired or link_exhausted, or any other answer.

Pure (no I/O, no judgement of whose fix it is): the HTTP follower reads the answer it got
(`lifecycle/clicks.py`), the browser what it was sent (`browser/visit.py`), and the lifecycle turns
a `WrongHop` into a failure with one function for both, so a bridge page fails them alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

REDIRECTS = (302, 307)  # the contract's: 302, or 307 where the link's redirectType says so
OTHER_REDIRECTS = (301, 303, 308)  # a redirect all the same, but not one the contract names


class Wrong(StrEnum):
    """What makes a click's own answer no way on to the destination."""

    NOWHERE = "nowhere"  # 200 with a page that has neither a meta refresh nor a continue link
    TWO_WAYS = "two_ways"  # a bridge page whose meta refresh and continue link go to two places
    NO_LOCATION = "no_location"  # 302 or 307 without a Location
    OTHER_REDIRECT = "other_redirect"  # 301, 303 or 308
    PASSWORD_PAGE = "password_page"  # 200 with a password page: the link's own lock
    DESTINATION_UNVERIFIED = "destination_unverified"  # 403: the destination's domain is not VERIFIED
    LINK_EXPIRED = "link_expired"  # 410: past the link's expiry or end
    LINK_EXHAUSTED = "link_exhausted"  # 410: the link's click limit reached
    REFUSED = "refused"  # any other answer (or none): an error, whose category its status says


# What the link's own settings (its schedule, its click limit, its password) stop: the marketer's on
# a live link, the platform's on a link the harness made without any.
LIFETIME = frozenset({Wrong.LINK_EXPIRED, Wrong.LINK_EXHAUSTED, Wrong.PASSWORD_PAGE})


@dataclass(frozen=True)
class Bridge:
    """What a 200 page says about where to go: its meta refresh and its `a#continue` link (absolute
    URLs, None where it has none)."""

    refresh: str | None = None
    anchor: str | None = None
    wait_seconds: float | None = field(default=None, compare=False)  # its meta refresh's wait before it goes

    @property
    def disagreement(self) -> str | None:
        """The two ways in words, when they go to two places."""
        if self.refresh and self.anchor and self.refresh != self.anchor:
            return f"its meta refresh goes to {self.refresh} and its continue link to {self.anchor}"
        return None

    @property
    def target(self) -> str | None:
        """Where the page sends the visitor: either way, when only one is there or both agree."""
        return None if self.disagreement else self.refresh or self.anchor


@dataclass(frozen=True)
class ClickAnswer:
    """A click's own answer, as the HTTP client or the browser got it (the first hop)."""

    url: str  # the click's URL (what a relative Location or link is read against)
    status: int | None  # None: no answer at all
    location: str | None = None
    page: str = ""  # the body as text ("" for none)
    error_code: str | None = None  # a JSON error body's code, when it has one


@dataclass(frozen=True)
class WayOn:
    """A working hop: how the click answered and where it sends the visitor."""

    how: str  # "302", "307" or "bridge"
    url: str


@dataclass(frozen=True)
class WrongHop:
    """A click's answer that is no way on: what is wrong and what was seen, in words."""

    wrong: Wrong
    seen: str  # "410 link_expired", "200 with a password page", "301", the bridge page's two ways, …


class _BridgeMarkup(HTMLParser):
    """The bridge page's two ways on: `<meta http-equiv="refresh" content="0;url=…">` and
    `<a id="continue" href="…">`, read whatever the attribute order or quoting."""

    REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"\s>]+)", re.IGNORECASE)
    REFRESH_WAIT = re.compile(r"^\s*(\d+(?:\.\d+)?)")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refresh: str | None = None
        self.anchor: str | None = None
        self.wait: float | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta" and found.get("http-equiv", "").lower() == "refresh" and self.refresh is None:
            match = self.REFRESH_URL.search(found.get("content", ""))
            self.refresh = match.group(1) if match else None
            wait = self.REFRESH_WAIT.match(found.get("content", ""))
            self.wait = float(wait.group(1)) if wait and self.refresh else None
        elif tag == "a" and found.get("id") == "continue" and found.get("href") and self.anchor is None:
            self.anchor = found["href"]


def read_bridge(page: str, base: str) -> Bridge:
    """What a page says about where to go, its links read against `base` (the page's URL)."""
    parser = _BridgeMarkup()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # markup we cannot read is a page with no way on
        return Bridge()
    refresh, anchor = (urljoin(base, url) if url else None for url in (parser.refresh, parser.anchor))
    return Bridge(refresh, anchor, parser.wait)


def password_page(page: str) -> bool:
    return bool(re.search(r"<input[^>]+type=['\"]?password", page, re.IGNORECASE))


def follow(answer: ClickAnswer) -> WayOn | WrongHop:
    """Where a click's own answer sends the visitor, or what is wrong with it."""
    status, page = answer.status, answer.page
    if status in REDIRECTS and answer.location:
        return WayOn(str(status), urljoin(answer.url, answer.location))
    if status == 200 and page:
        bridge = read_bridge(page, answer.url)
        if bridge.target:
            return WayOn("bridge", bridge.target)
        if bridge.disagreement:
            return WrongHop(Wrong.TWO_WAYS, bridge.disagreement)
        if not password_page(page):
            return WrongHop(Wrong.NOWHERE, "200 with a page that sends the visitor nowhere")
    return _refused(answer)


def _refused(answer: ClickAnswer) -> WrongHop:
    """An answer that sends the visitor nowhere at all: which of the known refusals, if any."""
    status, page = answer.status, answer.page
    code = answer.error_code or ("destination_unverified" if "destination_unverified" in page else None)
    if status == 403 and code == Wrong.DESTINATION_UNVERIFIED:
        return WrongHop(Wrong.DESTINATION_UNVERIFIED, "403 destination_unverified")
    if status == 410 and code in (Wrong.LINK_EXPIRED, Wrong.LINK_EXHAUSTED):
        return WrongHop(Wrong(code), f"410 {code}")
    if status == 200 and password_page(page):
        return WrongHop(Wrong.PASSWORD_PAGE, "200 with a password page")
    if status in REDIRECTS:
        return WrongHop(Wrong.NO_LOCATION, f"{status}")
    if status in OTHER_REDIRECTS:
        return WrongHop(Wrong.OTHER_REDIRECT, f"{status}")
    return WrongHop(Wrong.REFUSED, "no answer" if status is None else f"{status}")


def same_place(url: str, other: str) -> bool:
    """The same scheme, host and path (the query aside): still on the click's own page."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)
