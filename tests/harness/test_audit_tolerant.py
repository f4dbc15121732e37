"""`preflight audit` never says PASS having read an answer as absent.

A real sandbox, started as its own process, answers behind a proxy that rewrites its answers into
representations the contract does not forbid (a time as epoch seconds, a count as a string,
"false" as a string), into answers about another object, into lists that never end, and into
routes that answer 404. The audit runs as a user runs it, on a remote target at the proxy with
tokens minted beforehand. Each shape is read as what it means (a finding: FAIL), or the check
that meets it cannot judge (HOLD, naming the field and the value): never PASS. Answers the
contract allows (extra fields, a 307, a bridge page, values in another representation that mean
a healthy campaign) still PASS. Every audit sends GET alone, as the sandbox's request log shows.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from harness_helpers import PreflightProject, remote_target, token_env
from rewriting_proxy import Rewrite, RewritingProxy, unchanged

from preflight.audit.live import seed_body
from preflight.config import load_run_config

HANDLE = "gharart"
API = f"/v2/handles/{HANDLE}"
READS = {"GET", "HEAD"}


@dataclass
class Audited:
    code: int
    gate: dict[str, Any]
    stdout: str
    log: list[dict[str, Any]]  # every request the sandbox answered during the audit

    def why(self) -> str:
        return f"\n--- exit {self.code} ---\n{self.stdout[-3000:]}"

    def failures(self) -> set[tuple[str, str, str | None]]:
        """(test function, category, live slug) of each failed test."""
        return {
            (_name(r), r["category"], r["slug"]) for r in self.gate["results"] if r["outcome"] in ("failed", "error")
        }

    def unjudged(self) -> set[tuple[str, str | None]]:
        """(test function, live slug) of each check that could not judge."""
        return {(_name(r), r["slug"]) for r in self._unjudged()}

    def unjudged_messages(self) -> str:
        return "\n".join(f"{r['message']} | fix: {r.get('fix')}" for r in self._unjudged())

    def _unjudged(self) -> list[dict[str, Any]]:
        return [r for r in self.gate["results"] if r["outcome"] == "skipped" and r.get("skip") != "by choice"]


def _name(result: dict[str, Any]) -> str:
    return result["nodeid"].split("::")[1].split("[")[0]


class Proxied:
    """The project's remote target at a proxy in front of the shared sandbox."""

    def __init__(self, project: PreflightProject, sandbox, proxy: RewritingProxy) -> None:
        self.project, self.sandbox, self.proxy = project, sandbox, proxy
        remote_target(project, proxy.url)
        self.jwt = sandbox.mint_jwt(HANDLE, ttl_seconds=7200)
        self.pat = sandbox.mint_pat(HANDLE, ["analytics.read"])
        config = load_run_config(project.config_file, environ={})
        sandbox.seed_live(HANDLE, [{**seed_body(c), "traffic": True} for c in config.campaigns])

    def put(self, path: str, body: dict[str, Any]) -> None:
        """A marketer's setting, made on the sandbox itself (never through the audit's proxy)."""
        answer = self.sandbox.admin.put(path, json=body, headers={"authorization": f"Bearer {self.jwt}"})
        assert answer.status_code in (200, 201), answer.text

    def audit(self, *args: str, rewrite: Rewrite = unchanged) -> Audited:
        self.proxy.rewrite = rewrite
        before = len(self.sandbox.requests(10000))
        done = subprocess.run(
            [sys.executable, "-m", "preflight", "audit", "--target", "remote", "--no-html", "-n", "0", *args],
            cwd=self.project.path,
            capture_output=True,
            text=True,
            timeout=300,
            env=token_env(self.jwt, self.pat),
        )
        log = self.sandbox.requests(10000)[before + 1 :]  # after the log read that counted `before`
        gate_file = self.project.path / "reports" / "audit" / "gate.json"
        gate = json.loads(gate_file.read_text()) if gate_file.is_file() else {}
        return Audited(done.returncode, gate, done.stdout + done.stderr, log)


@pytest.fixture
def proxied(project, sandbox):
    with RewritingProxy(sandbox.url) as proxy:
        yield Proxied(project, sandbox, proxy)
    sandbox.set_faults({})


def reads_only(audited: Audited) -> None:
    """Nothing but GET (or HEAD) reached the API, and nothing under /__sandbox/."""
    assert audited.log, "the audit made no request at all" + audited.why()
    writes = [(e["method"], e["path"]) for e in audited.log if e["method"] not in READS]
    assert writes == [], f"the audit sent {writes}" + audited.why()
    control = [e["path"] for e in audited.log if e["path"].startswith("/__sandbox")]
    assert control == [], f"a remote audit used the sandbox's control routes: {control}" + audited.why()


# -- rewrites --------------------------------------------------------------------------------------------


def on(path: str, change: Callable[[Any], Any], *, status: int | None = None) -> Rewrite:
    """GET answers whose path matches `path` (a glob) changed by `change(body)` (a copy)."""

    def rewrite(method: str, at: str, code: int, body: Any) -> tuple[int, Any]:
        if method == "GET" and fnmatch.fnmatchcase(at, path):
            return status or code, change(copy.deepcopy(body))
        return code, body

    return rewrite


def setting(**values: Any) -> Callable[[Any], Any]:
    return lambda body: {**body, **values}


def without(name: str) -> Callable[[Any], Any]:
    return lambda body: {k: v for k, v in body.items() if k != name}


def each_item(change: Callable[[dict], dict]) -> Callable[[Any], Any]:
    return lambda body: {**body, "items": [change(item) for item in body["items"]]}


def adding(item: dict[str, Any]) -> Callable[[Any], Any]:
    return lambda body: {**body, "items": [*body["items"], item]}


def cursor_repeated() -> Rewrite:
    """The campaign's link list hands out the same cursor again and again (the sandbox refuses a
    cursor it never made: that page is answered as an empty one)."""
    return cursor_pages(lambda page: "again")


def cursor_endless() -> Rewrite:
    """Every page of the campaign's link list has a next one."""
    return cursor_pages(lambda page: f"page-{page}")


def cursor_pages(cursor: Callable[[int], str]) -> Rewrite:
    pages = iter(range(10_000))

    def rewrite(method: str, at: str, code: int, body: Any) -> tuple[int, Any]:
        if method == "GET" and at == f"{API}/links":
            items = body.get("items", []) if code == 200 else []
            return 200, {"items": items, "nextCursor": cursor(next(pages))}
        return code, body

    return rewrite


def rule_with_language(body: Any) -> Any:
    for rule in body["items"]:
        rule["when"]["language"] = ["hi"]
    return body


def check_failing(check_id: str, detail: str) -> Callable[[Any], Any]:
    """A health answer whose check `check_id` says FAIL, its status and score as the platform derives them
    (100 - 40 per FAIL - 10 per WARN or PENDING), on the JWT and the PAT route alike (they agree)."""

    def change(body: Any) -> Any:
        body["checks"] = [
            {**c, "status": "FAIL", "detail": detail} if c.get("id") == check_id else c for c in body["checks"]
        ]
        penalty = {"PASS": 0, "PENDING": 10, "WARN": 10, "FAIL": 40}
        body["score"] = max(0, 100 - sum(penalty[c["status"]] for c in body["checks"]))
        body["status"] = "FAIL"
        return body

    return change


NOT_FOUND = {"error": "not_found", "message": "not found"}


def each_rule(**values: Any) -> Callable[[Any], Any]:
    """Every personalization rule listed with `values` instead of what it holds."""
    return each_item(lambda rule: {**rule, **values})


# -- each shape: HOLD or FAIL, never PASS -----------------------------------------------------------------


@dataclass
class Shape:
    rewrite: Rewrite
    verdict: str  # FAIL or HOLD (or PASS, for a config that leaves a check out: see not_checked)
    failing: set[tuple[str, str, str | None]] = field(default_factory=set)  # exactly these failed tests
    unjudged: set[tuple[str, str | None]] = field(default_factory=set)  # exactly these unjudged checks
    words: tuple[str, ...] = ()  # in the failures', unjudged or not-checked checks' messages
    plant: Callable[[Proxied], None] | None = None
    escalated: int | None = None
    args: tuple[str, ...] = ()  # the audit's own options (--click)
    not_checked: set[tuple[str, str | None]] = field(default_factory=set)  # among the gate's notChecked entries
    cites: bool = True  # the messages name the request ids (not where the run's YAML alone leaves a check unjudged)


def _unverified_rule(proxied: Proxied) -> None:
    """A routing rule of diwali-c sending US visitors to promo.gharart.example."""
    link = proxied.sandbox.admin.get(f"{API}/links/diwali-c", headers={"authorization": f"Bearer {proxied.jwt}"})
    body = {k: link.json()[k] for k in ("destinationUrl", "title", "enabled", "tracking", "campaignId")}
    rule = {
        "ruleId": "us",
        "priority": 1,
        "when": {"country": ["US"]},
        "destinationUrl": "https://promo.gharart.example/us",
    }
    proxied.put(f"{API}/links/diwali-c", {**body, "routingRules": [rule]})


def _in_phones_rule(proxied: Proxied) -> None:
    """A personalization rule for diwali-b's Indian phones that keeps them on its page."""
    rule = {
        "priority": 1,
        "slugs": ["diwali-b"],
        "when": {"country": ["IN"], "device": ["MOBILE"]},
        "destinationUrl": "https://gharart.example/diwali?v=b",
    }
    proxied.put(f"{API}/personalization-rules/in-phones", rule)


def _no_ctx(proxied: Proxied) -> None:
    """diwali-a set, in the dashboard, to append no ctx to its clicks."""
    link = proxied.sandbox.admin.get(f"{API}/links/diwali-a", headers={"authorization": f"Bearer {proxied.jwt}"})
    body = {k: link.json()[k] for k in ("destinationUrl", "title", "enabled", "tracking", "campaignId")}
    proxied.put(f"{API}/links/diwali-a", {**body, "trackingPolicy": {"mode": "DIRECT", "appendContextParam": False}})


def configured(change: Callable[[dict[str, Any]], Any]) -> Callable[[Proxied], None]:
    """The run's YAML changed by `change(data)` before the audit."""
    return lambda proxied: proxied.project.edit_config(change)


def spring(data: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in data["campaigns"] if c["campaignId"] == "spring-ab")


def stale_after_the_first(campaign_id: str) -> Rewrite:
    """The campaign's JWT analytics FRESH on its first read (the funnel), STALE on every later one (the
    conversion signal's read of the flight's last signal_after_minutes). The count lives in the
    closure: one audit per test."""
    reads = []

    def rewrite(method: str, at: str, code: int, body: Any) -> tuple[int, Any]:
        if method == "GET" and at == f"{API}/analytics" and code == 200 and body.get("campaignId") == campaign_id:
            reads.append(at)
            if len(reads) > 1:
                return code, {**body, "freshness": {**body["freshness"], "status": "STALE"}}
        return code, body

    return rewrite


SPRING_A_LINK = {
    (name, "contract_violation", "spring-a")
    for name in (
        "test_variant_is_bound_as_configured",
        "test_link_lives_through_the_flight",
        "test_link_appends_ctx",
        "test_audiences_reach_the_variant",
        "test_destinations_are_trusted",
        "test_tags_follow_the_policy",
    )
} | {("test_one_utm_campaign", "contract_violation", None)}

DIWALI = ("diwali-a", "diwali-b", "diwali-c")

SHAPES = {
    # What the live campaign says, as the marketer may have left it (or the platform answers it).
    "a live campaign that does not exist": Shape(
        on(f"{API}/campaigns/spring-ab", lambda body: NOT_FOUND, status=404),
        "FAIL",
        {("test_campaign_is_active_as_configured", "live_config", None)},
        # the checks of the campaign as a whole, left to the one that reports it
        unjudged={
            (name, None)
            for name in (
                "test_jwt_health_has_no_fail",
                "test_no_unplanned_variant",
                "test_pat_health_agrees",
                "test_variant_funnels",
            )
        },
        words=("the live campaign spring-ab does not exist", "(test_campaign_is_active_as_configured reports it)"),
        escalated=0,
    ),
    "a live campaign of another goal": Shape(
        on(f"{API}/campaigns/spring-ab", setting(goalType="PRODUCT_SALE")),
        "FAIL",
        {("test_campaign_is_active_as_configured", "live_config", None)},
        words=("goalType PRODUCT_SALE, the config says LEAD_CAPTURE",),
        escalated=0,
    ),
    "a live link that answers 404": Shape(
        on(f"{API}/links/spring-b", lambda body: NOT_FOUND, status=404),
        "FAIL",
        {("test_variant_is_bound_as_configured", "live_config", "spring-b")},
        # the checks of that link, left to the one that reports it
        unjudged={
            (name, "spring-b")
            for name in (
                "test_audiences_reach_the_variant",
                "test_destinations_are_trusted",
                "test_link_appends_ctx",
                "test_link_lives_through_the_flight",
                "test_tags_follow_the_policy",
            )
        },
        words=("the variant link spring-b does not exist", "the live link spring-b does not exist"),
        escalated=0,
    ),
    "a live link bound to another campaign": Shape(
        on(f"{API}/links/spring-b", setting(campaignId="autumn-sale")),
        "FAIL",
        {("test_variant_is_bound_as_configured", "live_config", "spring-b")},
        words=("it is bound to autumn-sale, not to spring-ab",),
    ),
    "health's primary_link FAIL": Shape(
        on(f"/v2/*{HANDLE}/campaigns/spring-ab/health", check_failing("primary_link", "spring-a disabled")),
        "FAIL",
        {("test_jwt_health_has_no_fail", "live_config", None)},
        escalated=0,
        words=("health's primary_link is FAIL on the live campaign: spring-a disabled",),
    ),
    "health's traffic_tags FAIL while every link is tagged": Shape(
        on(f"/v2/*{HANDLE}/campaigns/diwali-sale/health", check_failing("traffic_tags", "diwali-b lacks utmMedium")),
        "FAIL",
        {("test_jwt_health_has_no_fail", "missing_traffic_tags", None)},
        escalated=1,  # the links read back tagged: the platform lost it
        words=("every live link reads back with its three tags, yet health says one is missing: escalate",),
    ),
    "analytics lagging past the wait": Shape(
        on(f"{API}/analytics", lambda body: {**body, "freshness": {**body["freshness"], "status": "STALE"}}),
        "HOLD",
        unjudged={("test_variant_funnels", None)},
        words=("analytics lag: freshness STALE", "the table shows the numbers as they are"),
        plant=lambda proxied: proxied.project.edit_config(
            lambda data: data["expectations"].update(analytics_wait_seconds=1)
        ),
    ),
    "a rule's conditions that are no object": Shape(
        on(f"{API}/personalization-rules", each_rule(when="IN")),
        "HOLD",
        unjudged={("test_audiences_reach_the_variant", "diwali-b")},
        words=("rule in-phones's conditions are 'IN', not an object",),
        plant=_in_phones_rule,
    ),
    "a rule's slugs that are no list": Shape(
        on(f"{API}/personalization-rules", each_rule(slugs=42)),
        "HOLD",
        unjudged={
            (name, slug)
            for name in ("test_audiences_reach_the_variant", "test_destinations_are_trusted")
            for slug in ("spring-a", "spring-b", *DIWALI)
        },  # every link's rules, for its audiences and its destinations
        words=("rule in-phones's slugs are 42, not a list of slugs or null",),
        plant=_in_phones_rule,
    ),
    "a rule's priority that is no number": Shape(
        on(f"{API}/personalization-rules", each_rule(priority="first")),
        "HOLD",
        unjudged={("test_audiences_reach_the_variant", "diwali-b")},  # ordered among the rules of diwali-b only
        words=('priority is "first", not a number: the rules',),
        plant=_in_phones_rule,
    ),
    "a rule's enabled that is no boolean": Shape(
        on(f"{API}/personalization-rules", each_rule(enabled="maybe")),
        "HOLD",
        unjudged={
            (name, slug)
            for name in ("test_audiences_reach_the_variant", "test_destinations_are_trusted")
            for slug in ("spring-a", "spring-b", *DIWALI)
        },  # every link's rules, for its audiences and its destinations
        words=('enabled is "maybe", not true or false: whether it applies is unknown',),
        plant=_in_phones_rule,
    ),
    "health's click_seen FAIL": Shape(
        on(f"/v2/*{HANDLE}/campaigns/diwali-sale/health", check_failing("click_seen", "no click counted")),
        "FAIL",
        {("test_jwt_health_has_no_fail", "health_not_ready", None)},
        escalated=1,
        words=("health FAILs on the live campaign: click_seen no click counted",),
    ),
    "expiresAt as epoch seconds in the past": Shape(
        on(f"{API}/links/spring-a", setting(expiresAt=1700000000)),
        "FAIL",
        {("test_link_lives_through_the_flight", "link_lifetime", "spring-a")},
        words=("expiresAt 1700000000 (2023-11-14T22:13:20Z) is before the flight's end",),
    ),
    "maxClicks as a string, reached": Shape(
        on(f"{API}/links/spring-b", setting(maxClicks="100", clickCount=100)),
        "FAIL",
        {("test_link_lives_through_the_flight", "link_lifetime", "spring-b")},
        words=("maxClicks 100 is reached (clickCount 100)", "link_exhausted"),
    ),
    "appendContextParam as the string false": Shape(
        on(f"{API}/links/diwali-a", setting(trackingPolicy={"mode": "DIRECT", "appendContextParam": "false"})),
        "FAIL",
        {("test_link_appends_ctx", "attribution", "diwali-a")},
    ),
    "JWT health of another campaign": Shape(
        on(f"{API}/campaigns/spring-ab/health", setting(campaignId="diwali-sale")),
        "FAIL",
        {
            ("test_jwt_health_has_no_fail", "contract_violation", None),
            ("test_pat_health_agrees", "contract_violation", None),
        },
        words=("JWT campaign health of spring-ab answers for campaign 'diwali-sale'",),
        escalated=1,
    ),
    "PAT health of another campaign": Shape(
        on(f"/v2/public/handles/{HANDLE}/campaigns/diwali-sale/health", setting(campaignId="spring-ab")),
        "FAIL",
        {("test_pat_health_agrees", "contract_violation", None)},
        words=("PAT campaign health of diwali-sale answers for campaign 'spring-ab'",),
    ),
    "a link answered for another slug": Shape(
        on(f"{API}/links/spring-a", setting(slug="spring-b")),
        "FAIL",
        SPRING_A_LINK,
        words=("answers about slug 'spring-b', not the 'spring-a' asked for",),
        escalated=1,  # one root cause, however many checks read the link
    ),
    "destination-domains answering 404": Shape(
        on(f"{API}/destination-domains", lambda body: {"error": "not_found", "message": "no such route"}, status=404),
        "HOLD",
        unjudged={
            ("test_destinations_are_trusted", slug)
            for slug in ("spring-a", "spring-b", "diwali-a", "diwali-b", "diwali-c")
        },
        words=("answers 404", "list_destination_domains", "unknown, not empty"),
    ),
    "analytics keyed by link id": Shape(
        on(f"{API}/analytics", each_item(lambda item: {**item, "key": "lnk_" + item["key"]})),
        "HOLD",
        unjudged={("test_variant_funnels", None)},
        words=("name none of its variants", "lnk_diwali-a"),
    ),
    "a cursor handed out twice": Shape(
        cursor_repeated(),
        "HOLD",
        unjudged={("test_no_unplanned_variant", None)},
        words=("handed out the cursor 'again' twice",),
    ),
    "a list past the page cap": Shape(
        cursor_endless(),
        "HOLD",
        unjudged={("test_no_unplanned_variant", None)},
        words=("still had a nextCursor after 100 pages",),
    ),
    "an unplanned link without enabled": Shape(
        on(
            f"{API}/links",
            adding({"slug": "spring-z", "campaignId": "spring-ab", "destinationUrl": "https://x.example/"}),
        ),
        "HOLD",
        unjudged={("test_no_unplanned_variant", None)},
        words=("spring-z: enabled is missing",),
    ),
    "a variant without enabled": Shape(
        on(f"{API}/links/diwali-b", without("enabled")),
        "HOLD",
        unjudged={("test_variant_is_bound_as_configured", "diwali-b")},
        words=("enabled is missing",),
    ),
    "maxClicks that is no number": Shape(
        on(f"{API}/links/diwali-c", setting(maxClicks="lots")),
        "HOLD",
        unjudged={("test_link_lives_through_the_flight", "diwali-c")},
        words=('maxClicks is "lots", not a number',),
    ),
    "expiresAt that is no time": Shape(
        on(f"{API}/links/diwali-c", setting(expiresAt="next tuesday")),
        "FAIL",
        {("test_link_lives_through_the_flight", "contract_violation", "diwali-c")},
        words=('expiresAt is "next tuesday", not an RFC 3339 time',),
    ),
    "a routing condition the contract does not name": Shape(
        on(f"{API}/personalization-rules", rule_with_language),
        "HOLD",
        unjudged={("test_audiences_reach_the_variant", "diwali-b")},
        words=("rule in-phones has the condition(s) language",),
        plant=_in_phones_rule,
    ),
    "a wildcard domain not verified": Shape(
        on(f"{API}/destination-domains", adding({"domain": "*.gharart.example", "status": "PENDING"})),
        "FAIL",
        {("test_destinations_are_trusted", "destination_trust", "diwali-c")},
        words=("https://promo.gharart.example/us", "*.gharart.example, PENDING"),
        plant=_unverified_rule,
    ),
    "a link that appends no ctx, clicked": Shape(
        unchanged,
        "FAIL",
        {("test_link_appends_ctx", "attribution", "diwali-a")},
        unjudged={("test_ctx_outlives_the_conversion_window", "diwali-a")},
        words=("the live link diwali-a appends no ctx (test_link_appends_ctx reports it)",),
        plant=_no_ctx,
        args=("--click",),
    ),
    "a tracking policy that is no object": Shape(
        on(f"{API}/links/diwali-a", setting(trackingPolicy="DIRECT")),
        "HOLD",
        unjudged={("test_link_appends_ctx", "diwali-a")},
        words=('trackingPolicy is "DIRECT", not an object: it cannot be judged',),
    ),
    "a campaign without a flight": Shape(
        unchanged,
        "HOLD",
        unjudged={
            ("test_link_lives_through_the_flight", "spring-a"),
            ("test_link_lives_through_the_flight", "spring-b"),
            ("test_variant_funnels", None),
        },
        words=(
            "no flight for campaign spring-ab: link spring-b answers now",
            "no flight for campaign spring-ab: whether conversions follow",
        ),
        plant=configured(lambda data: spring(data).pop("flight")),
        cites=False,  # what is missing is the run's YAML, not an answer
    ),
    "analytics lagging once the flight has run": Shape(
        stale_after_the_first("spring-ab"),
        "HOLD",
        unjudged={("test_variant_funnels", None)},
        words=("analytics lag: freshness STALE", "the conversion signal is not judged on lagging numbers"),
    ),
    "a destination domain without its domain": Shape(
        on(f"{API}/destination-domains", adding({"status": "PENDING"})),
        "HOLD",
        unjudged={("test_destinations_are_trusted", slug) for slug in ("spring-a", "spring-b", *DIWALI)},
        words=("a destination domain listed PENDING names no domain (None)",),
    ),
    # A config that leaves a check out: PASS, the check listed as not checked, saying what it would catch.
    "a campaign without audiences": Shape(
        unchanged,
        "PASS",
        not_checked={
            ("test_audiences_reach_the_variant", "spring-a"),
            ("test_audiences_reach_the_variant", "spring-b"),
        },
        words=("no audience configured for spring-ab", "sends an audience the ads reach to another page"),
        plant=configured(lambda data: spring(data).pop("audiences")),
    ),
    "one_utm_campaign off": Shape(
        unchanged,
        "PASS",
        not_checked={("test_one_utm_campaign", None)},
        words=("policy.utm.one_utm_campaign is off", "analytics reads as different campaigns"),
        plant=configured(lambda data: data["policy"]["utm"].update(one_utm_campaign=False)),
    ),
    "no UTM policy": Shape(
        unchanged,
        "PASS",
        not_checked={("test_tags_follow_the_policy", slug) for slug in ("spring-a", "spring-b", *DIWALI)}
        | {("test_one_utm_campaign", None)},
        words=("no UTM policy configured (policy.utm in the run's YAML)", "tags off the house rules"),
        plant=configured(lambda data: data["policy"].pop("utm")),
    ),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_each_answer_shape_is_hold_or_fail_never_pass(proxied, name):
    shape = SHAPES[name]
    if shape.plant is not None:
        shape.plant(proxied)
    audited = proxied.audit(*shape.args, rewrite=shape.rewrite)
    code = {"PASS": 0, "FAIL": 1, "HOLD": 3}[shape.verdict]
    assert (audited.code, audited.gate.get("verdict")) == (code, shape.verdict), audited.why()
    assert audited.failures() == shape.failing, audited.why()
    assert audited.unjudged() == shape.unjudged, audited.unjudged_messages() + audited.why()
    reads_only(audited)
    left_out = [e for e in audited.gate.get("notChecked") or [] if _left_out(e) in shape.not_checked]
    assert {_left_out(e) for e in left_out} == shape.not_checked, audited.gate.get("notChecked")
    messages = audited.unjudged_messages() + "\n".join(
        [r["message"] for r in audited.gate["results"] if r["outcome"] == "failed"]
        + [f"{e['why']} | would catch: {e['wouldCatch']}" for e in left_out]
    )
    for words in shape.words:
        assert words in messages, f"{words!r} not in:\n{messages}"
    if (shape.failing or shape.unjudged) and shape.cites:
        assert "req_" in messages, messages  # each names the request ids
    if shape.verdict == "HOLD":
        assert all(r.get("fix") for r in audited._unjudged()), audited.unjudged_messages()
    if shape.escalated is not None:
        assert len(audited.gate["escalations"]) == shape.escalated, audited.gate["escalations"]


def _left_out(entry: dict[str, Any]) -> tuple[str, str | None]:
    """(test function, variant) of a notChecked entry of the gate."""
    return entry["test"].split("::")[1].split("[")[0], entry.get("variant")


# -- answers the contract allows still PASS ---------------------------------------------------------------


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def healthy_in_other_representations(method: str, path: str, status: int, body: Any) -> tuple[int, Any]:
    """Every live link, and each click's ctx, says what it says in another representation that means
    the same: numeric strings, "true"/"false", times in epoch seconds or milliseconds."""
    if method == "GET" and path == "/v2/public/context" and status == 200:
        return status, {
            **body,
            "clickedAt": str(int(epoch(body["clickedAt"]) * 1000)),
            "expiresAt": round(epoch(body["expiresAt"]), 3),  # seconds, to the millisecond the answer gave
        }
    if method != "GET" or not fnmatch.fnmatchcase(path, f"{API}/links*") or status != 200:
        return status, body

    def retyped(link: dict[str, Any]) -> dict[str, Any]:
        return {
            **link,
            "enabled": str(link["enabled"]).lower(),
            "maxClicks": "100000",
            "clickCount": str(link.get("clickCount") or 0),
            "expiresAt": 4102444800000,  # 2100-01-01 in epoch milliseconds
            "passwordProtected": "false",
            "trackingPolicy": {**link["trackingPolicy"], "appendContextParam": "true"},
        }

    return status, ({**body, "items": [retyped(i) for i in body["items"]]} if "items" in body else retyped(body))


@pytest.mark.parametrize(
    "faults, rewrite",
    [
        ({}, healthy_in_other_representations),
        ({"extra_fields": {}}, unchanged),
        ({"redirect_307": {}}, unchanged),
        ({"bridge_clicks": {"markup": "meta"}}, unchanged),
    ],
    ids=["other-representations", "extra-fields", "307", "bridge"],
)
def test_answers_the_contract_allows_still_pass_with_reads_only(proxied, sandbox, faults, rewrite):
    """With --click: one bot click per variant, its ctx resolved and its lifetime judged."""
    sandbox.set_faults(faults)
    audited = proxied.audit("--click", rewrite=rewrite)
    assert (audited.code, audited.gate["verdict"]) == (0, "PASS"), audited.why() + audited.unjudged_messages()
    reads_only(audited)
    clicks = [e for e in audited.log if e["path"].startswith("/_edge/redirect/")]
    assert len(clicks) == 5, clicks  # one per variant
    outcomes = {
        r["outcome"] for r in audited.gate["results"] if "::test_ctx_outlives_the_conversion_window[" in r["nodeid"]
    }
    assert outcomes == {"passed"}, audited.why()


def test_route_preview_answering_other_than_200_is_reported_not_read_as_agreement(proxied):
    """With --allow-writes, route-preview confirms each audience's route: an answer other than 200 is
    reported on the variant it previews (never taken as agreement), the other variants still pass."""

    def refused(method: str, at: str, code: int, body: Any) -> tuple[int, Any]:
        if method == "POST" and at == f"{API}/links/spring-b/route-preview":
            return 400, {"error": "validation_error", "message": "country: not a known country"}
        return code, body

    audited = proxied.audit("--allow-writes", rewrite=refused)
    assert (audited.code, audited.gate.get("verdict")) == (1, "FAIL"), audited.why()
    assert audited.failures() == {("test_audiences_reach_the_variant", "contract_violation", "spring-b")}, audited.why()
    bad = next(r for r in audited.gate["results"] if r["outcome"] == "failed")
    assert "previewing the route of" in bad["message"] and "400" in bad["message"], bad["message"]
    previews = [e for e in audited.log if e["path"].endswith("/route-preview")]
    assert previews and all(e["method"] == "POST" for e in previews), previews
