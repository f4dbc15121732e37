"""A click's hops, described once (core/hops.py): the bridge page's markup read tolerantly, every
kind of answer a click may give told apart, and one judgement (lifecycle/clicks.landing) for the
HTTP client's click and the browser's, so a split bridge page fails both with one root cause."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from preflight.browser.visit import Hop, Visit
from preflight.core import hops
from preflight.core.categories import Category
from preflight.core.hops import Bridge, ClickAnswer, WayOn, Wrong, WrongHop
from preflight.http.client import Credentials, PlatformClient
from preflight.http.exchange import Exchange
from preflight.lifecycle import clicks
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.shopper import click_exchange
from preflight.sandbox.clicks.state import bridge_page, password_page, refusal_page

CLICK = "https://gharart.10x.in/spring-a"
DESTINATION = "https://gharart.example/spring?v=a&ctx=c1.x&utm_source=meta"


@pytest.mark.parametrize(
    "page, found",
    [
        (
            '<meta http-equiv="refresh" content="0;url=https://a.example/x?ctx=1&amp;utm_source=m">',
            "https://a.example/x?ctx=1&utm_source=m",
        ),
        ("<META HTTP-EQUIV='Refresh' CONTENT='0; URL=https://a.example/y'>", "https://a.example/y"),
        ('<a href="https://a.example/z" id="continue">Continue</a>', "https://a.example/z"),
        ('<meta content="0;url=/relative" http-equiv="refresh">', "https://edge.example/relative"),
        ("<p>no way on</p>", None),
    ],
)
def test_the_bridge_page_is_read_tolerantly(page, found):
    bridge = hops.read_bridge(page, "https://edge.example/h/s")
    assert (bridge.target, bridge.disagreement) == (found, None)


def test_a_bridge_page_going_two_ways_is_a_disagreement():
    page = '<meta http-equiv="refresh" content="0;url=https://a.example/1"><a id="continue" href="https://a.example/2">'
    bridge = hops.read_bridge(page, "https://edge.example/")
    assert bridge == Bridge(refresh="https://a.example/1", anchor="https://a.example/2")
    assert bridge.target is None and bridge.disagreement == (
        "its meta refresh goes to https://a.example/1 and its continue link to https://a.example/2"
    )


@pytest.mark.parametrize(
    "answer, hop",
    [
        (ClickAnswer(CLICK, 302, location=DESTINATION), WayOn("302", DESTINATION)),
        (ClickAnswer(CLICK, 307, location="/elsewhere?ctx=1"), WayOn("307", "https://gharart.10x.in/elsewhere?ctx=1")),
        (ClickAnswer(CLICK, 200, page=bridge_page(DESTINATION, "both")), WayOn("bridge", DESTINATION)),
        (ClickAnswer(CLICK, 200, page=bridge_page(DESTINATION, "meta")), WayOn("bridge", DESTINATION)),
        (ClickAnswer(CLICK, 200, page=bridge_page(DESTINATION, "anchor")), WayOn("bridge", DESTINATION)),
        (
            ClickAnswer(CLICK, 200, page=bridge_page(DESTINATION, "none")),
            WrongHop(Wrong.NOWHERE, "200 with a page that sends the visitor nowhere"),
        ),
        (
            ClickAnswer(CLICK, 200, page=password_page("spring-a")),
            WrongHop(Wrong.PASSWORD_PAGE, "200 with a password page"),
        ),
        (ClickAnswer(CLICK, 302), WrongHop(Wrong.NO_LOCATION, "302")),
        (ClickAnswer(CLICK, 307, location=""), WrongHop(Wrong.NO_LOCATION, "307")),
        (ClickAnswer(CLICK, 301, location=DESTINATION), WrongHop(Wrong.OTHER_REDIRECT, "301")),
        (ClickAnswer(CLICK, 303, location=DESTINATION), WrongHop(Wrong.OTHER_REDIRECT, "303")),
        (ClickAnswer(CLICK, 308, location=DESTINATION), WrongHop(Wrong.OTHER_REDIRECT, "308")),
        (
            ClickAnswer(CLICK, 403, page=refusal_page("gharart.example", "PENDING")),
            WrongHop(Wrong.DESTINATION_UNVERIFIED, "403 destination_unverified"),
        ),
        (ClickAnswer(CLICK, 403, page="forbidden"), WrongHop(Wrong.REFUSED, "403")),
        (ClickAnswer(CLICK, 410, error_code="link_expired"), WrongHop(Wrong.LINK_EXPIRED, "410 link_expired")),
        (ClickAnswer(CLICK, 410, error_code="link_exhausted"), WrongHop(Wrong.LINK_EXHAUSTED, "410 link_exhausted")),
        (ClickAnswer(CLICK, 404, error_code="not_found"), WrongHop(Wrong.REFUSED, "404")),
        (ClickAnswer(CLICK, 200), WrongHop(Wrong.REFUSED, "200")),  # no page at all: the classifier's
        (ClickAnswer(CLICK, None), WrongHop(Wrong.REFUSED, "no answer")),
    ],
)
def test_each_answer_a_click_may_give_is_told_apart(answer, hop):
    assert hops.follow(answer) == hop


def test_a_split_bridge_page_is_two_ways_whichever_way_it_goes():
    split = hops.follow(ClickAnswer(CLICK, 200, page=bridge_page(DESTINATION, "split")))
    assert split.wrong is Wrong.TWO_WAYS
    assert split.seen.startswith(f"its meta refresh goes to {DESTINATION} and its continue link to ")


def test_a_links_own_lock_is_a_lifetime_finding_and_nothing_else_is():
    assert hops.LIFETIME == {Wrong.LINK_EXPIRED, Wrong.LINK_EXHAUSTED, Wrong.PASSWORD_PAGE}


def test_the_same_place_is_scheme_host_and_path_whatever_the_query():
    assert hops.same_place(CLICK + "?x=1", CLICK)
    assert not hops.same_place(CLICK, CLICK.replace("https", "http"))
    assert not hops.same_place(CLICK, CLICK + "/more")


# -- one judgement for the HTTP client's click and the browser's ---------------------------------------


def http_click(status: int, page: str, *, content_type: str = "text/html") -> Exchange:
    body = json.loads(page) if "json" in content_type else page
    return Exchange.build(
        method="GET",
        url=CLICK,
        path="/spring-a",
        surface="public",
        status=status,
        duration_ms=1.0,
        request_id="req_http",
        request_headers=[],
        request_body=None,
        response_headers=[("content-type", content_type)],
        response_body=body,
        step="health",
    )


def browser_click(status: int, page: str, *, content_type: str = "text/html") -> Exchange:
    """The same answer as the browser records it: its first hop and the page it was sent."""
    visit = Visit(viewport="phone", click_url=CLICK, user_agent="Mozilla/5.0 campaign-preflight/0.1.0")
    visit.hops.append(Hop(CLICK, status, {"content-type": content_type, "x-request-id": "req_browser"}))
    visit.click_page = page
    client = PlatformClient("http://127.0.0.1:9", "gharart", Credentials())
    try:
        return click_exchange(SimpleNamespace(client=client, step="landing"), visit)
    finally:
        client.close()


def judged(ex: Exchange, *, own_link: bool = True) -> PreflightFailure:
    with pytest.raises(PreflightFailure) as raised:
        clicks.landing(ex, "spring-a", own_link=own_link)
    return raised.value


@pytest.mark.parametrize(
    "status, page, content_type, category, cause",
    [
        (
            200,
            bridge_page(DESTINATION, "split"),
            "text/html",
            Category.CONTRACT_VIOLATION,
            "a bridge page's refresh and continue link disagree",
        ),
        (
            200,
            bridge_page(DESTINATION, "none"),
            "text/html",
            Category.CONTRACT_VIOLATION,
            "a click answers 200 with no bridge page markup",
        ),
        (
            403,
            refusal_page("gharart.example", "PENDING"),
            "text/html",
            Category.DESTINATION_TRUST,
            "a destination domain is listed but not VERIFIED",
        ),
        (
            410,
            '{"error": "link_expired", "message": "link spring-a expired"}',
            "application/json",
            Category.CONTRACT_VIOLATION,
            "a click on a link the run made answers 410 link_expired",
        ),
    ],
    ids=["split-bridge", "bridge-to-nowhere", "destination-unverified", "expired"],
)
def test_the_browser_and_the_http_client_fail_one_answer_alike(status, page, content_type, category, cause):
    by_http = judged(http_click(status, page, content_type=content_type))
    by_browser = judged(browser_click(status, page, content_type=content_type))
    assert (by_browser.category, by_browser.cause) == (by_http.category, by_http.cause) == (category, cause)
    assert by_browser.summary == by_http.summary
    assert by_browser.exchanges[0].request_id == "req_browser"  # the browser's own click, with its request id


def test_a_live_links_lock_is_the_marketers_in_the_browser_too():
    page = password_page("spring-a")
    for ex in (http_click(200, page), browser_click(200, page)):
        assert judged(ex, own_link=False).category == Category.LINK_LIFETIME
        assert judged(ex, own_link=True).category == Category.CONTRACT_VIOLATION


def test_the_browser_records_what_the_bridge_page_said_both_ways():
    visit = Visit(viewport="phone", click_url=CLICK, user_agent="ua")
    visit.hops.append(Hop(CLICK, 200, {"content-type": "text/html"}))
    visit.click_page = bridge_page(DESTINATION, "split")
    assert visit.bridge == Bridge(refresh=DESTINATION, anchor=DESTINATION.split("?")[0])
    assert visit.facts()["bridge"] == {"refresh": DESTINATION, "continue": DESTINATION.split("?")[0]}
    redirected = Visit(viewport="phone", click_url=CLICK, user_agent="ua")
    redirected.hops.append(Hop(CLICK, 302, {"location": DESTINATION}))
    assert redirected.bridge is None and redirected.facts()["bridge"] is None
