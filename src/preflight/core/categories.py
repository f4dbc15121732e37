"""The failure categories: every failed check names exactly one, and the gate, the Allure
categories (allurerc.mjs, in this order), the escalation decision and the summary key on it.

A category is a `Category` member, never a string typed out: a misspelt member fails where it
is read, and tests/unit/test_names.py fails on any `Category.<NAME>` the enum does not have.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    INVALID_CTX = "invalid_ctx"
    STALE_CTX_ACCEPTED = "stale_ctx_accepted"
    MISSING_TRAFFIC_TAGS = "missing_traffic_tags"
    IDEMPOTENCY_DEDUPE = "idempotency_dedupe"
    LEAD_CAPTURE = "lead_capture"
    LEAD_MISSING_FROM_REVIEW = "lead_missing_from_review"
    PUBLISH_ACCESS_MODE = "publish_access_mode"
    SCHEMA_FETCH = "schema_fetch"
    HEALTH_MISMATCH = "health_mismatch"
    HEALTH_NOT_READY = "health_not_ready"
    AUTH = "auth"
    QUOTA = "quota"
    METERS_MISMATCH = "meters_mismatch"
    PEAK_WINDOW = "peak_window"
    THROTTLED = "throttled"
    PLATFORM_ERROR = "platform_error"
    ATTRIBUTION = "attribution"
    LANDING_PAGE = "landing_page"
    LIVE_CONFIG = "live_config"
    LINK_LIFETIME = "link_lifetime"
    CTX_LIFETIME = "ctx_lifetime"
    ROUTING = "routing"
    DESTINATION_TRUST = "destination_trust"
    UTM_POLICY = "utm_policy"
    NO_CONVERSION_SIGNAL = "no_conversion_signal"
    TEST_RESIDUE = "test_residue"
    CONTRACT_VIOLATION = "contract_violation"
    CONFIG = "config"
    HARNESS_ERROR = "harness_error"


# What each means, in a line. The names are fixed: allurerc.mjs and the gate match on them.
MEANINGS: dict[Category, str] = {
    Category.INVALID_CTX: "a ctx the harness minted was refused",
    Category.STALE_CTX_ACCEPTED: "a stale or foreign ctx was accepted",
    Category.MISSING_TRAFFIC_TAGS: "health drops because of traffic tags",
    Category.IDEMPOTENCY_DEDUPE: "a replay was counted twice, different keys were merged, or a key was reused",
    Category.LEAD_CAPTURE: "a valid lead was rejected or an invalid one accepted",
    Category.LEAD_MISSING_FROM_REVIEW: "a captured lead is absent from the list or the export",
    Category.PUBLISH_ACCESS_MODE: "the page is not FREE_WITH_LOGIN after publish",
    Category.SCHEMA_FETCH: "the schema fetch fails or disagrees with the publish",
    Category.HEALTH_MISMATCH: "PAT and JWT health disagree",
    Category.HEALTH_NOT_READY: "health is below the configured verdict for another reason",
    Category.AUTH: "a credential was refused (401/403)",
    Category.QUOTA: "the daily write quota ran out",
    Category.METERS_MISMATCH: "the platform refused a write for its daily quota while its own usage-meters showed "
    "writes left",
    Category.PEAK_WINDOW: "the run would have written inside a configured peak window (run.peak_windows)",
    Category.THROTTLED: "429 throttles persisted past the retry budget",
    Category.PLATFORM_ERROR: "5xx or timeouts persisted past the retries",
    Category.ATTRIBUTION: "a click, lead or conversion credited to another variant or campaign, or a redirect to "
    "another variant's destination",
    Category.LANDING_PAGE: "the page the ads lead to does not work for a shopper (it does not load, breaks, lacks its "
    "lead form, or is too slow): the customer's own site, not the platform",
    Category.LIVE_CONFIG: "the live campaign is not as configured: not ACTIVE, another goal, a variant unbound, "
    "disabled or with another destination or tags, or an unplanned variant enabled",
    Category.LINK_LIFETIME: "a live link will not answer through the flight: it starts late, ends or expires early, "
    "runs out of clicks, or asks for a password",
    Category.CTX_LIFETIME: "a click's ctx expires before the configured conversion window ends",
    Category.ROUTING: "routing sends a configured audience away from the variant's destination",
    Category.DESTINATION_TRUST: "a destination domain (or a parent) is listed but not VERIFIED: its clicks are refused",
    Category.UTM_POLICY: "a live link's traffic tags break the configured UTM policy",
    Category.NO_CONVERSION_SIGNAL: "after the flight started, qualified clicks and no conversion for too long",
    Category.TEST_RESIDUE: "test traffic shows in the real numbers: a test conversion in conversions or revenue, "
    "or a declared bot click counted as qualified",
    Category.CONTRACT_VIOLATION: "an answer was outside the contract (wrong shape or status)",
    Category.CONFIG: "the run's own config is wrong",
    Category.HARNESS_ERROR: "a bug in the harness itself",
}

# Who must act. The user's own config, token, plan, schedule or pacing, and the harness's own bugs,
# are never escalated to the platform and make the verdict ERROR (no verdict on the funnel), not
# FAIL (the funnel is broken).
USER_CATEGORIES = frozenset({Category.CONFIG, Category.AUTH, Category.QUOTA, Category.PEAK_WINDOW, Category.THROTTLED})
HARNESS_CATEGORIES = frozenset({Category.HARNESS_ERROR})
# The marketer's own campaign settings, fixed in the dashboard: the funnel is judged and is not ready
# (FAIL), but nothing is the platform's to fix, so nothing is escalated; each finding names its fix.
MARKETER_CATEGORIES = frozenset(
    {
        Category.LIVE_CONFIG,
        Category.LINK_LIFETIME,
        Category.CTX_LIFETIME,
        Category.ROUTING,
        Category.DESTINATION_TRUST,
        Category.UTM_POLICY,
        Category.NO_CONVERSION_SIGNAL,
    }
)
# The customer's own site (the landing pages the ads lead to): a finding there breaks the funnel (the
# verdict is FAIL), but its fix is the customer's, so it is never escalated to the platform. Any other
# category's failure may also be the site's (a site redirect that drops ctx): the failure says so.
CUSTOMER_SITE = "customer site"
SITE_CATEGORIES = frozenset({Category.LANDING_PAGE})
NOT_ESCALATED = USER_CATEGORIES | HARNESS_CATEGORIES | MARKETER_CATEGORIES | SITE_CATEGORIES
# No verdict on the funnel (ERROR): the user's and the harness's problems, and the platform refusing
# writes its own meters say are left (escalated: the platform's defect, but nothing after it was judged).
NO_VERDICT = USER_CATEGORIES | HARNESS_CATEGORIES | {Category.METERS_MISMATCH}
# A failure of these means every later test would fail the same way: the run stops.
STOP_CATEGORIES = frozenset({Category.AUTH, Category.QUOTA, Category.METERS_MISMATCH})
PARTIES = ("platform", "marketer", CUSTOMER_SITE, "user", "harness")


def party(category: str | None) -> str:
    """`platform`, `marketer`, `customer site`, `user` or `harness`: whose problem a failure of this
    category is (a failure may say otherwise: e.g. `attribution` is the marketer's when their own
    link switches the ctx off, the customer site's when its redirect drops the ctx)."""
    if category in USER_CATEGORIES:
        return "user"
    if category in SITE_CATEGORIES:
        return CUSTOMER_SITE
    if category in HARNESS_CATEGORIES or category is None:
        return "harness"
    if category in MARKETER_CATEGORIES:
        return "marketer"
    return "platform"
