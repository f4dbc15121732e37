"""One shopper's visit: a click followed in a fresh browser context on one viewport, and what the
browser saw on the way (every document it was sent through, the final page, its console and page
errors, its failed requests, what was blocked, its load time and Largest Contentful Paint, a
full-page screenshot, and on request a Playwright trace and the page's HTML).

Facts only: whether they break the funnel, and whose fix it is, is the lifecycle step's judgement
(preflight.lifecycle.steps.landing, with preflight.lifecycle.clicks: the click's own answer judged as
the HTTP client's is). Nothing here assumes how the platform redirects: a 302, a 307 or a bridge page
that sends the visitor on are followed the way a browser follows them (`core/hops.py` says what a
bridge page's two ways are).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from preflight import __version__
from preflight.browser import look as looks
from preflight.browser.launch import Shopper
from preflight.browser.scripts import LCP_SCRIPT, LOAD_SCRIPT, PAGE_SCRIPT
from preflight.config.browser import Viewport
from preflight.core import hops
from preflight.core.redact import redact_headers, redact_text

NETWORK_NOISE = "Failed to load resource"  # the console's copy of a failed request (recorded from the network)
BLOCKED_ERROR = "net::ERR_BLOCKED_BY_CLIENT"
SEND_WAIT_MS = 5000  # a submitted form sends its request at once; its answer may take the page timeout
PAGE_LIMIT = 65536  # characters of the click's own page kept: a bridge, password or refusal page is small


@dataclass
class Hop:
    """One document the browser was sent through (a redirect, a bridge page, the final page)."""

    url: str
    status: int
    headers: dict[str, str]  # redacted
    at: float = 0.0  # when its answer came (time.perf_counter)

    @property
    def location(self) -> str | None:
        return self.headers.get("location")


@dataclass
class FailedRequest:
    url: str
    status: int | None  # an HTTP error status, or None for a request that got no answer
    error: str | None
    resource: str  # document, stylesheet, script, image, fetch, …
    own: bool  # the page's own site (not a third party)

    def line(self) -> str:
        what = f"{self.status}" if self.status is not None else (self.error or "failed")
        return f"{self.resource} {self.url} -> {what}"


@dataclass
class Visit:
    """What the browser saw on one viewport, from the click to the settled page."""

    viewport: str
    click_url: str
    user_agent: str
    hops: list[Hop] = field(default_factory=list)
    final_url: str = ""
    error: str | None = None  # the navigation itself failed (no answer, a timeout)
    title: str = ""
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[FailedRequest] = field(default_factory=list)
    blocked: Counter = field(default_factory=Counter)  # host -> requests blocked
    load_ms: float | None = None  # the final page's load event, from its navigation start
    lcp_ms: float | None = None
    lcp_element: str | None = None
    elapsed_ms: float = 0.0  # the click to the settled page, as the harness waited for it
    screenshot: bytes | None = None
    click_page: str | None = None  # the click's own answer's page (bridge, password, refusal), redacted
    page_url: str = ""  # the page's own location.href once its scripts ran (a script may rewrite it), redacted
    heading: str = ""  # the page's first <h1>, as shown
    look: bytes | None = None  # the first screen, settled and masked (browser/look.py), when asked for
    look_error: str | None = None  # why the first screen could not be taken
    look_ms: float | None = None  # what taking it cost

    @property
    def bridge(self) -> hops.Bridge | None:
        """What the click's own page said about where to go (its meta refresh and its continue link)."""
        first = self.hops[0] if self.hops else None
        if first is None or first.status != 200 or self.click_page is None:
            return None
        return hops.read_bridge(self.click_page, first.url)

    @property
    def bridge_ms(self) -> float | None:
        """How long the click's bridge page held the browser: from its answer to the next page's."""
        if self.bridge is None or len(self.hops) < 2:
            return None
        return max(0.0, (self.hops[1].at - self.hops[0].at) * 1000)

    @property
    def final_status(self) -> int | None:
        final = self.final_hop
        return final.status if final is not None else None

    @property
    def final_hop(self) -> Hop | None:
        return self.hops[-1] if self.hops else None

    @property
    def own_failures(self) -> list[FailedRequest]:
        return [f for f in self.failed if f.own]

    def facts(self) -> dict[str, Any]:
        """A JSON-ready summary (no screenshot), for the report."""
        return {
            "viewport": self.viewport,
            "click": redact_text(self.click_url),
            "finalUrl": redact_text(self.final_url),
            "finalStatus": self.final_status,
            "title": self.title,
            "hops": [{"url": h.url, "status": h.status, "location": h.location} for h in self.hops],
            "bridge": ({"refresh": bridge.refresh, "continue": bridge.anchor} if (bridge := self.bridge) else None),
            "bridgeMs": _round(self.bridge_ms),
            "pageUrl": self.page_url,
            "heading": self.heading,
            "error": self.error,
            "consoleErrors": self.console_errors,
            "pageErrors": self.page_errors,
            "failedRequests": [f.line() for f in self.failed],
            "blocked": dict(sorted(self.blocked.items())),
            "loadMs": _round(self.load_ms),
            "lcpMs": _round(self.lcp_ms),
            "lcpElement": self.lcp_element,
            "elapsedMs": _round(self.elapsed_ms),
            "userAgent": self.user_agent,
            "lookMs": _round(self.look_ms),
            "lookError": self.look_error,
        }


@dataclass
class FormAnswer:
    """What a form's submission sent and got back, as the browser saw it."""

    url: str
    status: int | None
    request_body: Any
    response_body: Any
    headers: dict[str, str]  # response headers, redacted
    error: str | None = None


def user_agent(shopper: Shopper, viewport: Viewport, tag: str) -> str:
    """The viewport's User-Agent (its own, or Chromium's mobile or desktop one), ending with the run's
    product token so every visit says it is a preflight, never a shopper."""
    if viewport.user_agent:
        base = viewport.user_agent
    else:
        major = (shopper.version or "120").split(".")[0]
        base = (
            f"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 "
            "Mobile Safari/537.36"
            if viewport.mobile
            else f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 "
            "Safari/537.36"
        )
    return f"{base} {tag}/{__version__}"


def block_pattern(hosts: list[str]) -> re.Pattern[str] | None:
    """A URL pattern matching each host and its subdomains (any scheme, any port)."""
    if not hosts:
        return None
    names = "|".join(re.escape(host) for host in sorted(set(hosts)))
    return re.compile(rf"^[a-zA-Z][a-zA-Z0-9+.-]*://(?:[^/?#@]*\.)?(?:{names})(?::\d+)?(?:[/?#]|$)")


def same_site(host: str, other: str) -> bool:
    """One site: the same host, or hosts that share their last two labels (www.x.com and cdn.x.com).
    A two-label public suffix (co.uk) is counted generously: a third-party asset seen as the page's
    own only ever adds a finding, it never hides one."""
    if not host or not other:
        return False
    return host == other or (host.count(".") >= 1 and host.split(".")[-2:] == other.split(".")[-2:])


class Tab:
    """One visit in progress: a fresh context (no cookies, no cache) on one viewport, its page and
    what they recorded. `with Tab(shopper, viewport, …) as tab: visit = tab.open(url)`."""

    def __init__(self, shopper: Shopper, viewport: Viewport, *, trace: bool = False) -> None:
        self.shopper = shopper
        self.viewport = viewport
        self.settings = shopper.settings
        self.timeout_ms = self.settings.timeout_seconds * 1000
        self.tracing = trace
        self.visit = Visit(
            viewport=viewport.name, click_url="", user_agent=user_agent(shopper, viewport, self.settings.user_agent_tag)
        )
        self.context: Any = None
        self.page: Any = None
        self.clicked = False  # the click's own request was sent (a later one to its URL is the page's)
        self.click_error: str | None = None  # the click's own request got no answer

    def __enter__(self) -> Tab:
        viewport = self.viewport
        self.context = self.shopper.browser.new_context(
            viewport={"width": viewport.width, "height": viewport.height},
            is_mobile=viewport.mobile,
            has_touch=viewport.mobile,
            user_agent=self.visit.user_agent,
            service_workers="block",  # a service worker would answer past the block list
            locale="en-IN",
        )
        self.context.set_default_timeout(self.timeout_ms)
        if self.tracing:
            # DOM snapshots (what show-trace renders), not a screencast: a frame per paint costs CPU on every visit
            self.context.tracing.start(snapshots=True, screenshots=False, sources=False)
        pattern = block_pattern(self.settings.block_hosts)
        if pattern is not None:
            self.context.route(pattern, self._block)
        self.page = self.context.new_page()
        self.page.on("response", self._on_response)
        self.page.on("requestfailed", self._on_failed)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the browser reports as it goes --------------------------------------------------
    def _block(self, route: Any) -> None:
        self.visit.blocked[urlsplit(route.request.url).hostname or "?"] += 1
        route.abort("blockedbyclient")

    def _on_response(self, response: Any) -> None:
        request = response.request
        if request.is_navigation_request() and response.frame == self.page.main_frame:
            self.visit.hops.append(
                Hop(
                    redact_text(response.url),
                    response.status,
                    redact_headers(response.headers.items()),
                    time.perf_counter(),
                )
            )
        elif response.status >= 400:
            self._failed(request, response.status, None)

    def _on_failed(self, request: Any) -> None:
        error = request.failure or "failed"
        if BLOCKED_ERROR in error:
            return  # one of ours: counted in `blocked`
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            return  # the navigation's own failure is the visit's `error`
        self._failed(request, None, error)

    def _failed(self, request: Any, status: int | None, error: str | None) -> None:
        host = urlsplit(request.url).hostname or ""
        final = urlsplit(self.visit.final_url or (self.page.url if self.page else "")).hostname or ""
        self.visit.failed.append(
            FailedRequest(redact_text(request.url), status, error, request.resource_type, same_site(host, final))
        )

    def _on_console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith(NETWORK_NOISE):
            where = message.location or {}
            at = f" ({where.get('url')}:{where.get('lineNumber')})" if where.get("url") else ""
            self.visit.console_errors.append(redact_text(message.text + at)[:1000])

    def _on_page_error(self, error: Any) -> None:
        self.visit.page_errors.append(redact_text(f"{error.name}: {error.message}")[:1000])

    # -- the visit ------------------------------------------------------------------------------
    def open(self, url: str, *, click: bool = True, look: looks.LookRequest | None = None) -> Visit:
        """Follow the click to the page it settles on (load event), then measure and screenshot it.
        `click`: `url` is a short link, whose own answer is kept (its page, when it has one) and
        whose 200 page (a bridge) sends the browser on. `look`: also take the first screen, settled
        and masked (browser/look.py)."""
        visit = self.visit
        visit.click_url = url
        started = time.perf_counter()
        if click:
            # On the context, beside the block list, and never unrouted mid-visit: a page route that
            # expires turns the page's interception off while requests are in flight (a blocked
            # tracker's request was then routed twice).
            self.context.route(lambda at: hops.same_place(at, url), self._answer_click)
        try:
            self.page.goto(url, wait_until="load")
            if click and self._on_bridge(url):
                self._leave_bridge(url)
        except Exception as exc:  # playwright's Error and TimeoutError: the page did not load
            visit.error = self.click_error or _first_line(exc)
        visit.elapsed_ms = (time.perf_counter() - started) * 1000
        visit.final_url = redact_text(self.page.url)
        self._measure()
        if look is not None and visit.final_hop is not None and not visit.error:
            self._look(look)
        return visit

    def _answer_click(self, route: Any) -> None:
        """The click's own request, sent for the browser (its headers, its User-Agent) and its answer
        handed back unchanged. Why: a bridge page whose refresh fires at once is gone from the
        browser before its body can be read, and what it said is what the step judges."""
        if self.clicked:
            route.fallback()
            return
        self.clicked = True
        try:
            answer = route.fetch(max_redirects=0, timeout=self.timeout_ms)
        except Exception as exc:  # no answer: the navigation fails, saying why
            self.click_error = _first_line(exc)
            route.abort("connectionfailed")
            return
        if not 300 <= answer.status < 400:
            try:
                self.visit.click_page = redact_text(answer.text()[:PAGE_LIMIT])
            except Exception:  # not text: no page to read
                self.visit.click_page = None
        route.fulfill(response=answer)

    def _leave_bridge(self, click_url: str) -> None:
        """A bridge page sends the visitor on: its meta refresh by itself (waited for), else its
        continue link, tapped as a shopper would. One with neither stays: the step says so at once
        rather than after the page timeout."""
        bridge = self.visit.bridge
        if bridge is None or not (bridge.refresh or bridge.anchor):
            return
        if not bridge.refresh:
            self.page.locator("a#continue").first.click()
        self.page.wait_for_url(lambda now: not hops.same_place(now, click_url), wait_until="load")

    def _on_bridge(self, click_url: str) -> bool:
        last = self.visit.hops[-1] if self.visit.hops else None
        return last is not None and last.status == 200 and hops.same_place(self.page.url, click_url)

    def _measure(self) -> None:
        visit, page = self.visit, self.page
        try:
            visit.title = redact_text(page.title())[:300]
            visit.load_ms = page.evaluate(LOAD_SCRIPT)
            lcp = page.evaluate(LCP_SCRIPT)
            if lcp:
                visit.lcp_ms, visit.lcp_element = lcp.get("ms"), lcp.get("element")
            seen = page.evaluate(PAGE_SCRIPT)
            visit.page_url, visit.heading = redact_text(seen["href"]), redact_text(seen["heading"])
            visit.screenshot = page.screenshot(full_page=True, type="png", animations="disabled")
        except Exception as exc:  # a page that crashed or is still navigating: what was measured stays
            visit.error = visit.error or f"the page could not be measured: {_first_line(exc)}"

    def _look(self, request: looks.LookRequest) -> None:
        started = time.perf_counter()
        final = self.visit.final_hop.url if self.visit.final_hop else ""
        shot = looks.take(self.page, request, final)
        self.visit.look, self.visit.look_error = shot.png, shot.error
        self.visit.look_ms = (time.perf_counter() - started) * 1000

    # -- looking at the page ----------------------------------------------------------------------
    def visible(self, selector: str) -> bool:
        try:
            return self.page.locator(selector).first.is_visible()
        except Exception:  # an invalid selector finds nothing
            return False

    def shows_text(self, text: str) -> bool:
        try:
            return self.page.get_by_text(text).first.is_visible()
        except Exception:
            return False

    def form(self, form: str) -> Any:
        """The first form `form` matches (a selector list, e.g. `form#lead, form.signup`, too)."""
        return self.page.locator(form).first

    def email_field(self, form: str) -> Any | None:
        """The form's email input, when the form has a visible one (looked for inside the form)."""
        field = self.form(form).locator("input[type=email], input[name=email]").first
        try:
            return field if field.is_visible() else None
        except Exception:
            return None

    def submit(self, form: str, *, email: str, name: str, posts_to: str) -> FormAnswer:
        """Fill and submit the form as a shopper does; the POST it makes to a URL containing
        `posts_to`, with its answer. Status None: it sent nothing (no url), or got no answer (its url)."""
        page = self.page
        field = self.email_field(form)
        if field is None:
            return FormAnswer(
                url="", status=None, request_body=None, response_body=None, headers={}, error="no email field"
            )
        try:
            # A form sends at once when submitted: waiting the page-load timeout for one that sends
            # nothing only slows the verdict. Its answer then has the whole timeout.
            with page.expect_request(
                lambda request: request.method == "POST" and posts_to in request.url, timeout=SEND_WAIT_MS
            ) as waiting:
                field.fill(email)
                named = self.form(form).locator("input[name=name]").first
                if named.count() and named.is_visible():
                    named.fill(name)
                button = self.form(form).locator("button[type=submit], input[type=submit], button").first
                if button.count():
                    button.click()
                else:
                    self.form(form).evaluate("f => f.requestSubmit()")
        except Exception as exc:
            error = f"no POST to …{posts_to} within {SEND_WAIT_MS / 1000:g} s of submitting ({_first_line(exc)})"
            return FormAnswer(url="", status=None, request_body=None, response_body=None, headers={}, error=error)
        try:
            answer = waiting.value.response()
        except Exception as exc:
            answer, failure = None, _first_line(exc)
        else:
            failure = waiting.value.failure
        if answer is None:  # sent, unanswered: the url says it was sent (the platform's to answer)
            error = f"the POST got no answer: {failure or 'the request failed'}"
            sent_url = redact_text(waiting.value.url)
            return FormAnswer(url=sent_url, status=None, request_body=None, response_body=None, headers={}, error=error)
        try:
            body: Any = answer.json()
        except Exception:
            body = redact_text(answer.text()[:2000])
        try:
            sent = answer.request.post_data_json
        except Exception:
            sent = answer.request.post_data
        return FormAnswer(
            url=redact_text(answer.url),
            status=answer.status,
            request_body=sent,
            response_body=body,
            headers=redact_headers(answer.headers.items()),
        )

    def html(self) -> str:
        try:
            return self.page.content()
        except Exception as exc:
            return f"(the page's HTML could not be read: {_first_line(exc)})"

    def trace(self) -> bytes | None:
        """Stop tracing and return the trace (a zip for `playwright show-trace`), or None."""
        if not self.tracing or self.context is None:
            return None
        import tempfile
        from pathlib import Path

        self.tracing = False
        with tempfile.TemporaryDirectory(prefix="pf-trace-") as folder:
            path = Path(folder) / "trace.zip"
            try:
                self.context.tracing.stop(path=str(path))
                return path.read_bytes()
            except Exception:
                return None

    def close(self) -> None:
        if self.context is None:
            return
        try:
            if self.tracing:
                self.context.tracing.stop()  # discarded: the visit needs no trace
            self.context.close()
        except Exception:
            pass
        self.context = self.page = None


def _round(value: float | None) -> float | None:
    return round(value, 1) if isinstance(value, (int, float)) else None


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return redact_text(lines[0][:300]) if lines else type(exc).__name__
