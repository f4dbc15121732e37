"""Retries stay safe on every write route (part of the fault matrix, see test_fault_matrix.py).

A write that commits and then loses its answer (the sandbox's `commit_then_503`, and
`commit_then_timeout`: no answer until the client's timeout) must be retried by the harness's
client under the same Idempotency-Key, and the retry must be the platform's replay of the first
answer (`Idempotent-Replayed: true`), never a second business object. For each write route of
`preflight.core.routes.ROUTES` (so a new one cannot be forgotten: it has no case here and its test
fails), both faults at rate 1.0: every first attempt commits and loses its answer, and the replay
(which the faults never touch) answers. `/__sandbox/stats` must count each object exactly once.

Then a whole run of the suites under each fault, every first attempt of every write hit, must end
PASS with exactly the business objects of a healthy run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from harness_helpers import explain, make_project

from preflight.core.faults import CATALOGUE
from preflight.core.routes import ROUTES
from preflight.http.client import WRITE_METHODS, Credentials, PlatformClient, RetryPolicy
from preflight.http.exchange import Exchange

HANDLE = "gharart"
TAGS = {"utmSource": "meta", "utmMedium": "paid_social", "utmCampaign": "spring"}
LEAD_FORM = {
    "sections": [{"type": "form", "formId": "lead", "fields": [{"name": "email", "type": "email", "required": True}]}]
}
# Every first attempt of a write commits and loses its answer; the replay is never faulted.
FAULTS = {"commit_then_503": {"rate": 1.0, "retryAfter": 0}, "commit_then_timeout": {"rate": 1.0}}
# What the sandbox logs for the first attempt: the 503, or 0 for an answer that never came.
FIRST_LOGGED = {"commit_then_503": 503, "commit_then_timeout": 0}
# commit_then_timeout holds its answer (30 s by default) until the client gives up after this.
CLIENT_TIMEOUT = 1.0
WRITE_ROUTES = [name for name, route in ROUTES.items() if route.method in WRITE_METHODS]


# -- a world to write in ---------------------------------------------------------------------------


@dataclass
class World:
    """The session sandbox, reset, and the harness's own client on it (every attempt recorded)."""

    sb: Any
    client: PlatformClient
    seen: list[Exchange] = field(default_factory=list)

    def campaign(self, campaign_id: str = "spring-ab", slug: str = "spring-a", goal: str = "LEAD_CAPTURE") -> None:
        ex = self.client.call(
            "create_campaign",
            step="setup",
            key=f"setup-{campaign_id}",
            json_body=campaign_body(campaign_id, slug, goal),
        )
        assert ex.status == 201, f"setting up campaign {campaign_id}: {ex.status} {ex.body_excerpt(300)}"

    def ctx(self, slug: str = "spring-a") -> str:
        ex = self.client.get_url(f"{self.sb.url}/_edge/redirect/{HANDLE}/{slug}", step="setup")
        assert ex.status == 302, f"clicking {slug}: {ex.status} {ex.body_excerpt(300)}"
        return parse_qs(urlsplit(ex.response_headers["location"]).query)["ctx"][0]

    def draft(self, route: str = "put_site_structure") -> None:
        ex = self.client.call(route, step="setup", key=f"setup-{route}", json_body=page(0), campaignId="spring-ab")
        assert ex.status == 200, f"saving a draft: {ex.status} {ex.body_excerpt(300)}"

    def read(self, route: str, **params: str) -> dict[str, Any]:
        ex = self.client.call(route, step="check", **params)
        assert ex.status == 200 and isinstance(ex.response_body, dict), f"{route}: {ex.status} {ex.body_excerpt(300)}"
        return ex.response_body


def campaign_body(campaign_id: str, slug: str, goal: str) -> dict[str, Any]:
    return {
        "campaignId": campaign_id,
        "goalType": goal,
        "status": "ACTIVE",
        "name": "Safe retries",
        "leadVerification": {"mode": "NONE"},
        "primaryLink": {
            "slug": slug,
            "destinationUrl": f"https://gharart.example/{slug}",
            "enabled": True,
            "tracking": dict(TAGS),
        },
    }


def page(version: int) -> dict[str, Any]:
    return {
        "detailsPageSlug": "spring-offer",
        "accessMode": "FREE_WITH_LOGIN",
        "structureType": "LANDING",
        "schema": LEAD_FORM,
        "schemaVersion": version,
    }


# -- one case per write (a route may have several: a link is created, and retired) -----------------


@dataclass
class Write:
    body: dict[str, Any]
    status: int  # the answer the write gets (and its replay repeats)
    created: dict[str, int]  # what /__sandbox/stats must count more afterwards, exactly
    params: dict[str, str] = field(default_factory=dict)
    check: Callable[[World], str | None] | None = None  # the object's state: None when right, else why


def _create_campaign(w: World) -> Write:
    return Write(campaign_body("retry-camp", "retry-a", "PRODUCT_SALE"), 201, {"campaigns": 1, "links": 1})


def _create_link(w: World) -> Write:
    w.campaign()
    body = {
        "destinationUrl": "https://gharart.example/spring-b",
        "enabled": True,
        "tracking": dict(TAGS),
        "campaignId": "spring-ab",
    }
    return Write(body, 201, {"links": 1}, {"slug": "spring-b"})


def _retire_link(w: World) -> Write:
    w.campaign()
    body = {
        "destinationUrl": "https://gharart.example/spring-a",
        "enabled": False,
        "tracking": dict(TAGS),
        "campaignId": "spring-ab",
    }

    def retired(w: World) -> str | None:
        link = w.read("get_link", slug="spring-a")
        return None if link.get("enabled") is False else f"the link reads back {link}"

    return Write(body, 200, {}, {"slug": "spring-a"}, retired)


def _test_conversion(w: World) -> Write:
    w.campaign()
    return Write(
        {"value": 0, "currency": "INR", "ctx": w.ctx()}, 201, {"testConversions": 1}, {"campaignId": "spring-ab"}
    )


def _public_conversion(w: World) -> Write:
    w.campaign(goal="PRODUCT_SALE")
    return Write({"ctx": w.ctx(), "value": 4999, "currency": "INR"}, 201, {"conversions": 1})


def _lead(w: World) -> Write:
    w.campaign()
    body = {"campaignId": "spring-ab", "email": "asha@example.com", "name": "Asha", "ctx": w.ctx()}
    return Write(body, 201, {"leads": 1})


def _draft(route: str) -> Callable[[World], Write]:
    def make(w: World) -> Write:
        w.campaign()

        def saved_once(w: World) -> str | None:
            version = w.read("get_site_structure", campaignId="spring-ab").get("schemaVersion")
            return None if version == 1 else f"schemaVersion {version}, expected 1 (one save from 0)"

        return Write(page(0), 200, {}, {"campaignId": "spring-ab"}, saved_once)

    return make


def _publish(route: str, draft_route: str) -> Callable[[World], Write]:
    def make(w: World) -> Write:
        w.campaign()
        w.draft(draft_route)
        return Write({}, 201, {"deployments": 1}, {"campaignId": "spring-ab"})

    return make


def _support_report(w: World) -> Write:
    body = {
        "summary": "safe retries: one report",
        "details": "sent once, retried after the commit",
        "handle": HANDLE,
        "environment": "sandbox",
    }
    return Write(body, 202, {"supportReports": 1})


def _personalization_rule(w: World) -> Write:
    body = {"priority": 1, "slugs": None, "when": {"country": ["IN"]}, "destinationUrl": "https://gharart.example/in"}
    return Write(body, 201, {"personalizationRules": 1}, {"ruleId": "in-all"})


def _route_preview(w: World) -> Write:
    w.campaign()

    def routed(w: World) -> str | None:  # a preview changes nothing: the link reads back as it was
        link = w.read("get_link", slug="spring-a")
        return None if link.get("routingRules") == [] and link.get("clickCount") == 0 else f"the link is {link}"

    return Write({"country": "IN", "device": "MOBILE"}, 200, {}, {"slug": "spring-a"}, routed)


def _register_domain(w: World) -> Write:
    return Write({"domain": "gharart.example"}, 201, {"destinationDomains": 1})


def _verify_domain(w: World) -> Write:
    ex = w.client.call(
        "register_destination_domain", step="setup", key="setup-domain", json_body={"domain": "gharart.example"}
    )
    assert ex.status == 201, f"registering a domain: {ex.status} {ex.body_excerpt(300)}"

    def verified(w: World) -> str | None:
        listed = w.read("list_destination_domains")["items"]
        return None if [d["status"] for d in listed] == ["VERIFIED"] else f"the domains read back {listed}"

    return Write({}, 200, {}, {"domain": "gharart.example"}, verified)


CASES: dict[str, dict[str, Callable[[World], Write]]] = {
    "create_campaign": {"create": _create_campaign},
    "put_link": {"create": _create_link, "retire": _retire_link},
    "test_conversion": {"record": _test_conversion},
    "public_conversion": {"record": _public_conversion},
    "capture_lead": {"capture": _lead},
    "put_site_structure": {"save": _draft("put_site_structure")},
    "publish_site_structure": {"publish": _publish("publish_site_structure", "put_site_structure")},
    "public_put_site_structure": {"save": _draft("public_put_site_structure")},
    "public_publish_site_structure": {
        "publish": _publish("public_publish_site_structure", "public_put_site_structure")
    },
    "support_report": {"send": _support_report},
    "put_personalization_rule": {"create": _personalization_rule},
    "route_preview": {"preview": _route_preview},
    "register_destination_domain": {"register": _register_domain},
    "verify_destination_domain": {"verify": _verify_domain},
}
MISSING = "no case"
PARAMS = [(route, name) for route in WRITE_ROUTES for name in (CASES.get(route) or {MISSING: None})]


@pytest.fixture
def world(sandbox):
    sandbox.reset()
    seen: list[Exchange] = []
    client = PlatformClient(
        base_url=sandbox.url,
        handle=HANDLE,
        credentials=Credentials(
            jwt=sandbox.mint_jwt(HANDLE), pat=sandbox.mint_pat(HANDLE, ["analytics.read", "pages.read", "pages.write"])
        ),
        retry=RetryPolicy(attempts=3, backoff_seconds=0.01, max_wait_seconds=1, timeout_seconds=CLIENT_TIMEOUT),
    )
    client.observers.append(seen.append)
    yield World(sandbox, client, seen)
    client.close()
    sandbox.set_faults({})


def test_every_lost_answer_fault_is_covered():
    """A new "commits, then loses the answer" fault of the catalogue joins FAULTS, or this fails."""
    assert {name for name in CATALOGUE if name.startswith("commit_then_")} == set(FAULTS)


def test_the_cases_are_the_write_routes():
    """Every write route has a case, and every case is a write route (a renamed route is caught)."""
    assert set(CASES) == set(WRITE_ROUTES), (
        f"write routes without a case: {sorted(set(WRITE_ROUTES) - set(CASES))}; "
        f"cases for no write route: {sorted(set(CASES) - set(WRITE_ROUTES))}"
    )


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("route, case", PARAMS, ids=[f"{r}:{c}" for r, c in PARAMS])
def test_a_retry_after_the_commit_replays_and_nothing_is_made_twice(route: str, case: str, fault: str, world):
    method, template, surface = ROUTES[route]
    assert case != MISSING, (
        f"write route {route} ({method} {template}) has no safe-retry case: add one to CASES "
        "in tests/harness/test_safe_retries.py"
    )
    write = CASES[route][case](world)
    before = world.sb.stats()
    world.sb.set_faults({fault: FAULTS[fault]})
    world.seen.clear()
    ex = world.client.call(
        route, step="safe-retry", key=f"pf-retry-{route}-{case}", json_body=write.body, **write.params
    )
    world.sb.set_faults({})

    attempts = [(e.status, e.error and e.error.split(":")[0]) for e in world.seen]
    lost = (503, None) if fault == "commit_then_503" else (None, "ReadTimeout")
    # The first attempt lost its answer and the last got it. On a busy machine a replay may also be
    # late for the client's short timeout and be retried once more: each retry is a replay all the same.
    assert attempts[0] == lost and attempts[-1] == (write.status, None), (
        f"{route} under {fault}: expected the first attempt to lose its answer {lost} and the retry to get "
        f"{write.status}; the client saw {attempts} (request ids {[e.request_id for e in world.seen]})"
    )
    assert all(a in (lost, (None, "ReadTimeout")) for a in attempts[:-1]), attempts
    assert ex.response_headers.get("idempotent-replayed") == "true", (
        f"{route} under {fault}: expected the retry to be the replay of the committed write (Idempotent-Replayed: "
        f"true), got headers {dict(ex.response_headers)} (request {ex.request_id})"
    )

    after = world.sb.stats()
    made = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert made == write.created, (
        f"{route} under {fault}: expected /__sandbox/stats to count {write.created} more, it counts {made} "
        f"(request ids {[e.request_id for e in world.seen]})"
    )
    problem = write.check(world) if write.check else None
    assert problem is None, f"{route} under {fault}: {problem}"

    # The sandbox's side: the write committed once (its answer lost) and was answered once from the record.
    logged = Counter(
        r["status"] for r in world.sb.requests(limit=100) if r["method"] == method and r["path"] == ex.path
    )
    assert (
        logged[FIRST_LOGGED[fault]] == 1
        and logged[write.status] >= 1
        and set(logged)
        <= {
            FIRST_LOGGED[fault],
            write.status,
        }
    ), (
        f"{route} under {fault}: expected the sandbox to log {FIRST_LOGGED[fault]} then {write.status} for "
        f"{method} {ex.path}, it logged {dict(logged)}"
    )


# -- a whole run, every first attempt of every write faulted ---------------------------------------

RUN_ARGS = ("-n", "2")
REPLAY_TEST = "test_replay_returns_same_conversion"  # one deliberate same-key replay each


def _writes(sandbox) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests(limit=10000) if r["method"] in WRITE_METHODS and r["path"].startswith("/v2/")]


@dataclass
class Healthy:
    stats: dict[str, int]
    answered: int  # writes answered 2xx


@pytest.fixture(scope="module")
def healthy(sandbox, tmp_path_factory) -> Healthy:
    """What a healthy run of the shipped config creates, as the sandbox counts it."""
    sandbox.reset()
    project = make_project(tmp_path_factory.mktemp("healthy") / "project", sandbox=sandbox)
    run = project.run(*RUN_ARGS)
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), "expected the healthy run to PASS" + explain(run)
    return Healthy(sandbox.stats(), sum(200 <= r["status"] < 300 for r in _writes(sandbox)))


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_whole_run_rides_through_every_first_write_losing_its_answer(fault: str, project, sandbox, healthy):
    if fault == "commit_then_timeout":  # the client gives up on each held answer after this
        project.edit_config(lambda data: data["run"].update(timeout_seconds=CLIENT_TIMEOUT))
    run = project.run(*RUN_ARGS, faults={fault: FAULTS[fault]})
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), (
        f"{fault} on every first attempt: expected PASS, got {run.gate['verdict']}: "
        + "; ".join(f"{r['nodeid']} {r['category']}" for r in run.failures())
        + explain(run)
    )
    assert sandbox.stats() == healthy.stats, (
        f"{fault}: expected exactly the healthy run's business objects {healthy.stats}, the sandbox counts "
        f"{sandbox.stats()}" + explain(run)
    )
    # Every write that committed (the healthy run's 2xx writes but its deliberate replays) lost its
    # first answer, and each was answered from its record on the retry.
    writes = _writes(sandbox)
    replays = len(run.results(REPLAY_TEST))
    lost = sum(r["status"] == FIRST_LOGGED[fault] for r in writes)
    answered = sum(200 <= r["status"] < 300 for r in writes)
    assert lost == healthy.answered - replays > 0 and answered >= healthy.answered, (
        f"{fault}: expected {healthy.answered} - {replays} committed writes to lose their first answer and "
        f"{healthy.answered} or more answered 2xx; the sandbox logged {lost} lost, {answered} answered" + explain(run)
    )
