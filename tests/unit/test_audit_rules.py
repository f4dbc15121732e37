"""The audit's pure rules: routing in the documented order, the UTM policy, a link's lifetime against
the flight, destination trust; a read-only client refuses before sending; a marketer's finding fails
the verdict and is not escalated. (The bridge page's markup: tests/unit/test_hops.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from preflight.audit import lifetime, live, live_config, routing, trust, utm
from preflight.config.live import Audience, UtmPolicy
from preflight.core.categories import Category, party
from preflight.http.client import Credentials, PlatformClient, WriteRefused
from preflight.lifecycle.failures import PreflightFailure, Unjudged
from preflight.report.facts import RunFacts
from preflight.report.judgement import verdict as judge
from preflight.report.summary import funnel_tables

LINK = {
    "slug": "spring-a",
    "destinationUrl": "https://gharart.example/spring?v=a",
    "routingRules": [
        {"ruleId": "late", "priority": 20, "when": {"country": ["IN"]}, "destinationUrl": "https://x.example/late"},
        {
            "ruleId": "us-m",
            "priority": 5,
            "when": {"country": "us", "device": ["MOBILE"]},
            "destinationUrl": "https://x.example/us",
        },
        {"ruleId": "early", "priority": 10, "when": {"country": ["in"]}, "destinationUrl": "https://x.example/in"},
    ],
}
RULES = [
    {
        "ruleId": "off",
        "priority": 0,
        "enabled": False,
        "slugs": None,
        "when": {},
        "destinationUrl": "https://x.example/off",
    },
    {"ruleId": "other", "priority": 1, "slugs": ["other-a"], "when": {}, "destinationUrl": "https://x.example/other"},
    {
        "ruleId": "meta",
        "priority": 3,
        "slugs": None,
        "when": {"source": ["META"]},
        "destinationUrl": "https://x.example/meta",
    },
    {
        "ruleId": "de",
        "priority": 2,
        "slugs": ["spring-a"],
        "when": {"country": ["DE"]},
        "destinationUrl": "https://x.example/de",
    },
]


@pytest.mark.parametrize(
    "visitor, where, kind, rule",
    [
        (routing.Visitor(country="IN", device="MOBILE"), "https://x.example/in", "link_rule", "early"),
        (routing.Visitor(country="US", device="MOBILE"), "https://x.example/us", "link_rule", "us-m"),
        (routing.Visitor(country="US", device="DESKTOP"), "https://gharart.example/spring?v=a", "default", None),
        (routing.Visitor(country="DE"), "https://x.example/de", "personalization_rule", "de"),
        (routing.Visitor(country="FR", source="meta"), "https://x.example/meta", "personalization_rule", "meta"),
    ],
)
def test_routing_follows_the_documented_order(visitor, where, kind, rule):
    taken = routing.route(LINK, RULES, visitor)
    assert (taken.destination_url, taken.kind, taken.rule_id) == (where, kind, rule)


def test_an_audience_without_a_source_visits_with_the_links_own_tags():
    audience = Audience(name="phones", country="FR", device="MOBILE")
    visitor = routing.Visitor.of(audience, {"utmSource": "meta", "utmCampaign": "spring"})
    assert (visitor.source, visitor.campaign) == ("meta", "spring")
    assert routing.route(LINK, RULES, visitor).rule_id == "meta"
    assert audience.describe() == "phones (FR MOBILE)"


def test_every_reachable_destination_is_listed_and_disabled_or_foreign_rules_are_not():
    reachable = [url for url, _ in routing.reachable(LINK, RULES)]
    assert "https://x.example/off" not in reachable and "https://x.example/other" not in reachable
    assert {"https://gharart.example/spring?v=a", "https://x.example/late", "https://x.example/de"} <= set(reachable)


def test_the_utm_policy_names_each_violation():
    policy = UtmPolicy.model_validate(
        {
            "lowercase": True,
            "allowed": {"utmSource": ["meta", "google"]},
            "utm_campaign_pattern": "^[a-z0-9_]+$",
            "one_utm_campaign": True,
        }
    )
    found = utm.violations(policy, {"utmSource": "Facebook", "utmCampaign": "Spring-Sale"})
    assert found == [
        "utmMedium is missing (policy.utm.required)",
        "utmSource 'Facebook' is not lowercase (policy.utm.lowercase)",
        "utmSource 'Facebook' is none of meta, google (policy.utm.allowed.utmSource)",
        "utmCampaign 'Spring-Sale' is not lowercase (policy.utm.lowercase)",
        "utmCampaign 'Spring-Sale' does not match ^[a-z0-9_]+$ (policy.utm.utm_campaign_pattern)",
    ]
    assert utm.violations(policy, {"utmSource": "meta", "utmMedium": "cpc", "utmCampaign": "spring"}) == []
    assert utm.split_campaign({"a": {"utmCampaign": "spring"}, "b": {"utmCampaign": "spring"}}) is None
    assert utm.split_campaign({"a": {"utmCampaign": "spring"}, "b": {}}) == {"spring": ["a"], "(none)": ["b"]}


START = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
END = START + timedelta(days=7)


def at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "fields, found",
    [
        ({}, []),
        ({"scheduledStartAt": at(START - timedelta(days=1)), "expiresAt": at(END + timedelta(days=1))}, []),
        ({"scheduledStartAt": at(START + timedelta(hours=1))}, ["scheduledStartAt", "404"]),
        ({"scheduledEndAt": at(END - timedelta(hours=1))}, ["scheduledEndAt", "410 link_expired"]),
        ({"expiresAt": at(END - timedelta(minutes=1))}, ["expiresAt", "410 link_expired"]),
        ({"maxClicks": 1000, "clickCount": 200}, ["maxClicks 1000 leaves 800", "5000 expected"]),
        ({"maxClicks": 9000, "clickCount": 9000}, ["is reached", "link_exhausted"]),
        ({"passwordProtected": True}, ["password page"]),
    ],
)
def test_a_links_lifetime_against_the_flight(fields, found):
    problems = lifetime.problems(fields, start=START, end=END, expected_clicks=5000, flight=True)
    assert all(any(text in p for p in problems) for text in found) and bool(problems) == bool(found), problems


def test_without_a_flight_the_link_must_answer_now():
    later = {"scheduledStartAt": at(START + timedelta(days=1)), "expiresAt": at(START + timedelta(days=30))}
    problems = lifetime.problems(later, start=START, end=None, expected_clicks=None, flight=False)
    assert len(problems) == 1 and "now" in problems[0] and "404" in problems[0]


def test_trust_is_the_host_or_a_parent_listed_and_not_verified():
    domains = [
        {"domain": "gharart.example", "status": "VERIFIED"},
        {"domain": "promo.gharart.example", "status": "PENDING"},
        {"domain": "shop.example", "status": "REJECTED"},
    ]
    assert trust.untrusted(domains, "https://gharart.example/a") is None
    assert trust.untrusted(domains, "https://promo.gharart.example/a")["status"] == "PENDING"
    assert trust.untrusted(domains, "https://deals.shop.example/x")["domain"] == "shop.example"
    assert trust.untrusted(domains, "https://elsewhere.example/") is None  # not listed: not refused


def test_a_read_only_client_refuses_a_write_before_sending():
    client = PlatformClient("http://127.0.0.1:9", "gharart", Credentials(), writes_allowed=frozenset({"route_preview"}))
    with pytest.raises(WriteRefused, match="PUT /v2/handles/{handle}/links/{slug}"):
        client.call("put_link", step="audit", key="k", json_body={}, slug="spring-a")
    client.close()


def test_a_marketers_finding_fails_the_verdict_and_is_not_escalated():
    finding = PreflightFailure(Category.LINK_LIFETIME, "the link expires mid-flight")
    assert (finding.party, finding.escalate) == ("marketer", False)
    switched_off = PreflightFailure(Category.ATTRIBUTION, "no ctx appended", party="marketer")
    assert switched_off.escalate is False and party(Category.ATTRIBUTION) == "platform"
    with pytest.raises(ValueError):
        PreflightFailure(Category.ROUTING, "x", party="someone")
    results = [
        {"nodeid": "a", "outcome": "failed", "category": "link_lifetime", "cause": "expires", "slug": "s-a"},
        {"nodeid": "b", "outcome": "failed", "category": "attribution", "party": "marketer", "cause": "no ctx"},
        {"nodeid": "c", "outcome": "passed"},
    ]
    verdict, reason = judge(results, RunFacts())
    assert verdict == "FAIL" and reason.startswith(
        "2 test(s) failed: 2 finding(s) (one per cause and variant) to fix in the campaign (marketer side, not "
        "escalated)"
    ), reason
    # Findings are counted by cause and variant: a second test of one cause on one variant adds none.
    again = {"nodeid": "a2", "outcome": "failed", "category": "link_lifetime", "cause": "expires", "slug": "s-a"}
    same = [*results, again]
    assert judge(same, RunFacts())[1].startswith("3 test(s) failed: 2 finding(s) (one per cause and variant)")
    platform = [*results, {"nodeid": "d", "outcome": "failed", "category": "test_residue", "cause": "leak"}]
    verdict, reason = judge(platform, RunFacts(escalations=[{"id": "x"}]))
    assert verdict == "FAIL" and reason.startswith("3 test(s) failed from 1 root cause(s) and 2 finding(s)")
    user = [*results, {"nodeid": "e", "outcome": "failed", "category": "auth"}]
    assert judge(user, RunFacts())[0] == "ERROR"  # the user's own token: no verdict


def test_an_audit_pass_says_what_it_left_out():
    verdict, reason = judge([{"nodeid": "a", "outcome": "passed"}], RunFacts(notes=["no click"]))
    assert (verdict, reason) == ("PASS", "all 1 selected tests ran; no click")


def test_the_funnel_table_puts_variants_side_by_side():
    funnel = {
        "campaignId": "spring-ab",
        "freshness": {"status": "STALE", "lastUpdatedAt": "2026-11-27T12:00:00Z"},
        "variants": {
            "spring-a": {
                "clicks": 120,
                "qualifiedClicks": 112,
                "botClicks": 8,
                "conversions": 9,
                "revenue": 4500.0,
                "testConversions": 3,
            },
            "spring-b": {
                "clicks": 1300,
                "qualifiedClicks": 1290,
                "botClicks": 10,
                "conversions": 0,
                "revenue": 0,
                "testConversions": 0,
            },
        },
    }
    lines = funnel_tables([{"funnel": funnel}, {"funnel": funnel}])
    assert "**`spring-ab`** · freshness STALE (as of 2026-11-27T12:00:00Z)" in lines
    assert "| | `spring-a` | `spring-b` |" in lines and "| clicks | 120 | 1,300 |" in lines
    assert "| revenue | 4,500 | 0 |" in lines and sum(line.startswith("**`") for line in lines) == 1


# -- what cannot be read is never "not set" ----------------------------------------------------------


def test_a_disabled_link_rule_is_skipped_as_the_platform_skips_it():
    link = {
        "slug": "spring-a",
        "destinationUrl": "https://gharart.example/spring?v=a",
        "routingRules": [
            {"ruleId": "off", "priority": 1, "enabled": False, "when": {}, "destinationUrl": "https://x.example/off"},
            {"ruleId": "off-too", "priority": 2, "enabled": "false", "destinationUrl": "https://x.example/off2"},
            {
                "ruleId": "on",
                "priority": 3,
                "enabled": "true",
                "when": {"device": "MOBILE"},
                "destinationUrl": "https://x.example/m",
            },
        ],
    }
    assert routing.route(link, [], routing.Visitor(device="DESKTOP")).kind == "default"
    assert routing.route(link, [], routing.Visitor(device="MOBILE")).rule_id == "on"
    reachable = {url for url, _ in routing.reachable(link, [])}
    assert reachable == {"https://gharart.example/spring?v=a", "https://x.example/m"}
    rules = [
        {"ruleId": "p", "priority": "1", "enabled": "FALSE", "slugs": None, "destinationUrl": "https://x.example/p"}
    ]
    assert routing.route(link, rules, routing.Visitor(device="DESKTOP")).kind == "default"


def test_an_unknown_condition_leaves_the_route_unjudged_unless_another_condition_already_fails():
    link = {
        "slug": "spring-a",
        "destinationUrl": "https://gharart.example/spring?v=a",
        "routingRules": [
            {
                "ruleId": "hi",
                "priority": 1,
                "when": {"country": ["IN"], "language": ["hi"]},
                "destinationUrl": "https://x.example/hi",
            }
        ],
    }
    # country US fails the AND whatever the language: the rule cannot match
    assert routing.route(link, [], routing.Visitor(country="US")).kind == "default"
    with pytest.raises(Unjudged, match="rule hi has the condition.s. language, which the contract does not name"):
        routing.route(link, [], routing.Visitor(country="IN", device="MOBILE"))
    # a condition set to null is no condition
    link["routingRules"][0]["when"] = {"country": ["IN"], "language": None}
    assert routing.route(link, [], routing.Visitor(country="IN")).rule_id == "hi"


@pytest.mark.parametrize(
    "rule, words",
    [
        ({"when": ["IN"]}, "conditions are \\['IN'\\], not an object"),
        ({"priority": "first"}, 'priority is "first", not a number'),
        ({"enabled": "sometimes"}, 'enabled is "sometimes", not true or false'),
        ({"slugs": 7}, "slugs are 7, not a list"),
    ],
)
def test_a_rule_that_cannot_be_read_leaves_the_route_unjudged(rule, words):
    personalization = [{"ruleId": "r", "priority": 1, "destinationUrl": "https://x.example/r", **rule}]
    link = {"slug": "spring-a", "destinationUrl": "https://gharart.example/a"}
    with pytest.raises(Unjudged, match=words):
        routing.route(link, [*personalization, {**personalization[0], "ruleId": "r2"}], routing.Visitor(country="IN"))


def test_a_personalization_rule_naming_one_slug_as_a_string_applies_to_that_link():
    rule = {"ruleId": "one", "priority": 1, "slugs": "spring-a", "destinationUrl": "https://x.example/one"}
    assert routing.route({"slug": "spring-a"}, [rule], routing.Visitor()).rule_id == "one"
    assert routing.route({"slug": "spring-b", "destinationUrl": "d"}, [rule], routing.Visitor()).kind == "default"


def test_a_wildcard_domain_covers_its_subdomains():
    domains = [
        {"domain": "*.gharart.example", "status": "PENDING"},
        {"domain": "gharart.example", "status": "VERIFIED"},
    ]
    assert trust.untrusted(domains, "https://promo.gharart.example/x")["domain"] == "*.gharart.example"
    assert trust.untrusted(domains, "https://a.b.gharart.example/x")["domain"] == "*.gharart.example"
    assert trust.untrusted(domains, "https://gharart.example/x") is None  # the wildcard covers subdomains only
    assert trust.untrusted(domains, "https://notgharart.example/x") is None
    verified = [{"domain": "*.gharart.example", "status": "verified"}]
    assert trust.untrusted(verified, "https://promo.gharart.example/x") is None
    assert trust.covers("shop.example", "deals.shop.example") and not trust.covers("shop.example", "myshop.example")


def test_a_listed_domain_without_its_name_leaves_trust_unjudged():
    with pytest.raises(Unjudged, match="names no domain"):
        trust.untrusted([{"status": "PENDING"}], "https://promo.gharart.example/x")
    assert trust.untrusted([{"status": "VERIFIED"}], "https://promo.gharart.example/x") is None


@pytest.mark.parametrize(
    "fields, found",
    [
        ({"expiresAt": 1700000000}, ["expiresAt 1700000000 (2023-11-14T22:13:20Z) is before", "410"]),
        ({"expiresAt": "1700000000000"}, ["expiresAt 1700000000000 (2023-11-14T22:13:20Z)"]),
        ({"maxClicks": "100", "clickCount": 100}, ["maxClicks 100 is reached (clickCount 100)"]),
        ({"maxClicks": "1000", "clickCount": "200"}, ["maxClicks 1000 leaves 800"]),
        ({"passwordProtected": "true"}, ["password page"]),
        ({"passwordProtected": "false", "maxClicks": "lots"}, []),  # the unreadable count is named apart
    ],
)
def test_a_lifetime_in_another_representation_is_read_as_it_means(fields, found):
    problems = lifetime.problems(fields, start=START, end=END, expected_clicks=5000, flight=True)
    assert all(any(text in p for p in problems) for text in found) and bool(problems) == bool(found), problems


def test_a_lifetime_field_that_cannot_be_read_is_named_never_not_set():
    unread = lifetime.unreadable({"maxClicks": "lots", "expiresAt": "soon", "passwordProtected": 1, "clickCount": 3})
    assert sorted(unread) == ["expiresAt", "maxClicks", "passwordProtected"]
    assert unread["maxClicks"].describe("maxClicks") == 'maxClicks is "lots", not a number'


@pytest.mark.parametrize(
    "link, appends",
    [
        ({}, True),
        ({"trackingPolicy": {"mode": "BRIDGE"}}, True),
        ({"trackingPolicy": {"appendContextParam": True}}, True),
        ({"trackingPolicy": {"appendContextParam": "false"}}, False),
        ({"trackingPolicy": {"appendContextParam": False}}, False),
    ],
)
def test_whether_a_link_appends_its_ctx(link, appends):
    assert live.appends_ctx(link) is appends


@pytest.mark.parametrize("link", [{"trackingPolicy": "DIRECT"}, {"trackingPolicy": {"appendContextParam": "no"}}])
def test_a_tracking_policy_that_cannot_be_read_is_unjudged(link):
    with pytest.raises(Unjudged, match="trackingPolicy"):
        live.known(live.appends_ctx(link), what="the live link a's trackingPolicy", exchanges=[], fix="f")


def test_an_unplanned_link_that_does_not_say_whether_it_is_enabled_is_unknown():
    items = [
        {"slug": "spring-a", "campaignId": "c", "enabled": True},  # planned
        {"slug": "spring-z", "campaignId": "c", "enabled": "true"},
        {"slug": "spring-y", "campaignId": "c"},
        {"slug": "spring-x", "enabled": "maybe"},  # the list was asked for c's links
        {"slug": "spring-w", "campaignId": "c", "enabled": "false"},
        {"slug": "other-a", "campaignId": "other", "enabled": True},
    ]
    enabled, unknown = live_config._unplanned(items, "c", {"spring-a"})
    assert enabled == ["spring-z"]
    assert unknown == ['spring-x: enabled is "maybe", not true or false', "spring-y: enabled is missing"]
