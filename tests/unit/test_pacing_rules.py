"""Pure parts of preflight.http.pacing: the route class of a request and reading the RateLimit fields;
and the lock file every process of a run queues on before it spends from the pace."""

from __future__ import annotations

import threading

import httpx
import pytest

from preflight.http import pacing
from preflight.http.pacing import DEFAULT_WINDOW_SECONDS, Quota, ceilings, read_quota, route_class


@pytest.mark.parametrize(
    "method,path,click,expected",
    [
        ("GET", "/v2/handles/h/campaigns", False, "read"),
        ("POST", "/v2/handles/h/campaigns", False, "write"),
        ("put", "/v2/handles/h/links/a", False, "write"),
        ("DELETE", "/v2/handles/h/links/a", False, "write"),
        ("GET", "/v2/public/context", False, "public"),
        ("POST", "/v2/public/conversions", False, "public"),  # public beats write, as on the platform
        ("PUT", "/v2/public/handles/h/site-structure/campaigns/c", False, "public"),
        ("GET", "/_edge/redirect/h/slug", False, "public"),
        ("GET", "/spring-a", True, "public"),  # a click on a real short-link host
        ("GET", "/v2/system/health", False, "read"),
    ],
)
def test_route_class(method, path, click, expected):
    assert route_class(method, path, click=click) == expected


@pytest.mark.parametrize(
    "headers,expected",
    [
        # the sandbox (and the contract's fields) with a policy
        (
            {"RateLimit-Limit": "10", "RateLimit-Remaining": "3", "RateLimit-Reset": "1", "RateLimit-Policy": "10;w=1"},
            Quota(limit=10, remaining=3, reset=1, window=1),
        ),
        # the contract's three fields alone: no window
        (
            {"ratelimit-limit": "600", "ratelimit-remaining": "0", "ratelimit-reset": "60"},
            Quota(limit=600, remaining=0, reset=60, window=None),
        ),
        # nothing at all
        ({}, Quota()),
        # unreadable values are left out, not guessed
        (
            {
                "ratelimit-limit": "lots",
                "ratelimit-remaining": "-1",
                "ratelimit-reset": "soon",
                "ratelimit-policy": "x;w=y",
            },
            Quota(),
        ),
        ({"ratelimit-limit": "0", "ratelimit-remaining": "0"}, Quota(limit=None, remaining=0)),
        # several policies: the tightest sustained rate is the one to pace by (the limit is its quota)
        ({"ratelimit-limit": "100", "ratelimit-policy": "100;w=60, 10;w=1"}, Quota(limit=100, window=60)),
        (
            {"ratelimit-limit": "10", "ratelimit-policy": "1000;w=3600, 10;w=1, 100;w=60"},
            Quota(limit=1000, window=3600),
        ),
        # draft-03: the policies ride in RateLimit-Limit after the limit itself
        (
            {"ratelimit-limit": "10, 10;w=1, 50;w=60", "ratelimit-remaining": "9"},
            Quota(limit=50, remaining=9, window=60),
        ),
        ({"ratelimit-limit": "10, 10;w=1", "ratelimit-remaining": "9"}, Quota(limit=10, remaining=9, window=1)),
        # draft-08+ structured fields: a named policy with q and w, and RateLimit with r and t
        (
            {"ratelimit-policy": '"default";q=100;w=60', "ratelimit": '"default";r=50;t=30'},
            Quota(limit=100, remaining=50, reset=30, window=60),
        ),
        # draft-07 combined field
        (
            {"ratelimit": "limit=20, remaining=5, reset=2", "ratelimit-policy": "20;w=1"},
            Quota(limit=20, remaining=5, reset=2, window=1),
        ),
        # fractional and padded numbers
        (
            {"ratelimit-limit": " 12 ", "ratelimit-reset": "0.5", "ratelimit-policy": '12 ; w=2 ; comment="burst"'},
            Quota(limit=12, reset=0.5, window=2),
        ),
        # a policy whose rate is tighter than the limit field's: the limit follows the policy
        ({"ratelimit-limit": "100", "ratelimit-policy": "5;w=1"}, Quota(limit=5, window=1)),
    ],
)
def test_read_quota(headers, expected):
    assert read_quota(httpx.Headers(headers)) == expected


def test_per_second_needs_a_limit_and_takes_the_configured_window_without_a_policy():
    assert Quota(limit=10, window=1).per_second(60) == 10
    assert Quota(limit=600).per_second(60) == 10
    assert Quota(limit=600).per_second(DEFAULT_WINDOW_SECONDS) == 600 / DEFAULT_WINDOW_SECONDS
    assert Quota(remaining=5).per_second(60) is None


def test_ceilings_default_to_the_run_rate():
    from preflight.config.run import PacingSettings, RunSettings

    assert ceilings(RunSettings(rate_limit_per_second=7)) == {"read": 7, "write": 7, "public": 7}
    settings = RunSettings(rate_limit_per_second=7, pacing=PacingSettings(write=2))
    assert ceilings(settings) == {"read": 7, "write": 2, "public": 7}


def test_the_pace_queue_holds_another_process_back_until_released(tmp_path):
    """Two processes' queues (each its own open lock file, as two workers hold them): while one is
    inside, the other waits, and gets in as soon as the first leaves."""
    first, second = (pacing._Queue(str(tmp_path / "pace.sqlite.lock")) for _ in range(2))
    inside = threading.Event()

    def enter_second() -> None:
        with second:
            inside.set()

    with first:
        waiting = threading.Thread(target=enter_second)
        waiting.start()
        assert not inside.wait(0.3)
    assert inside.wait(5)
    waiting.join()
    first.close()
    second.close()
