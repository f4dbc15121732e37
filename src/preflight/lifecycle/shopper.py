"""What the browser checks share (step 7's journey and detail page, and the audit's live journey
through them): where their evidence goes, the evidence of a failed visit, the browser's requests as
the test's exchanges, and how a finding on the customer's site words its fix."""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import urlsplit

from preflight.browser.evidence import holds_token
from preflight.browser.visit import FormAnswer, Tab, Visit
from preflight.http.exchange import Exchange
from preflight.lifecycle.model import StepRun

SITE_FIX = "the customer's own site: fix it there (nothing is escalated to the platform)"


class Evidence(Protocol):
    """Where a step's browser evidence goes (the report, through the harness)."""

    def visit(self, visit: Visit, *, page: str, failed: bool, look: Any = None) -> None:
        """A visit's full-page screenshot and facts ("landing page" or "detail page"), and a landing
        page's first screen with its approved look (`steps/landing_look.Look`: approved | now | diff)."""

    def text(self, name: str, text: str) -> None:
        """Text attached as text (a page's HTML is shown, never rendered)."""

    def trace(self, name: str, data: bytes) -> None:
        """A Playwright trace (a zip for `playwright show-trace`)."""


def failure_evidence(evidence: Evidence, tab: Tab, viewport: str, *, page: str) -> None:
    """On a failure: the page's HTML (as text) and a Playwright trace, unless either holds a token."""
    html = tab.html()
    if holds_token(html):
        evidence.text(f"{page} HTML · {viewport}", "(left out: it holds something shaped like a token)")
    else:
        evidence.text(f"{page} HTML · {viewport} (as text)", html)
    trace = tab.trace()
    if trace and not holds_token(trace):
        evidence.trace(f"Playwright trace · {page} · {viewport} (playwright show-trace <file>)", trace)


def click_exchange(run: StepRun, visit: Visit) -> Exchange:
    """The click as the browser made it (its first hop, with the page it answered), recorded: in
    the report with its request id, and judged as the HTTP client's click is."""
    first = visit.hops[0] if visit.hops else None
    click = Exchange.build(
        method="GET",
        url=visit.click_url,
        path=urlsplit(visit.click_url).path,
        surface="public",
        status=first.status if first else None,
        duration_ms=visit.elapsed_ms,
        request_id=run.client.request_id_in(first.headers) if first else None,
        request_headers=[("user-agent", visit.user_agent)],
        request_body=None,
        response_headers=list(first.headers.items()) if first else [],
        response_body=_page_body(visit.click_page, first.headers if first else {}),
        error=None if first else visit.error,
        step=run.step,
    )
    return run.client.record(click)


def form_exchange(run: StepRun, answer: FormAnswer) -> Exchange:
    """A form's post as the browser made it, recorded like the client's own requests."""
    return run.client.record(
        Exchange.build(
            method="POST",
            url=answer.url,
            path=urlsplit(answer.url).path,
            surface="public",
            status=answer.status,
            duration_ms=0.0,
            request_id=run.client.request_id_in(answer.headers, answer.response_body),
            request_headers=[("content-type", "application/json")],
            request_body=answer.request_body,
            response_headers=list(answer.headers.items()),
            response_body=answer.response_body,
            error=answer.error,  # sent but unanswered: expect_status makes it the platform's error
            step=run.step,
            route="capture_lead",
        )
    )


def _page_body(page: str | None, headers: dict[str, str]) -> Any:
    """The page as the HTTP client reads an answer: JSON when it says so (an error body's code),
    else its text."""
    if page and "json" in headers.get("content-type", ""):
        try:
            return json.loads(page)
        except ValueError:
            pass
    return page or None


def site_step(fix: str) -> str:
    return f"{fix}: {SITE_FIX}"


def short(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.netloc}{parts.path}" if parts.netloc else (url or "?")
