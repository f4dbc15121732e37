"""The fault matrix: every sandbox fault of docs/DESIGN.md's catalogue, switched on for one
real `preflight run` against a real sandbox process.

- A fault that breaks the contract must end the run FAIL, with the expected category on the
  expected step of the test that checks that promise, and exactly one support-report payload
  (one root cause, however many tests, variants and campaigns show it) that lists every failing
  test and holds each one's failing request id; each failing test's Allure result carries that
  request id (in an exchange attachment) and its escalation draft. Every other test still
  reports: the gate has one result per test, and only the listed tests fail. Several faults at
  once give as many payloads as faults.
- A transport fault the harness must ride through (429 storms, 5xx blips, commits answered
  503, slow answers) must end PASS with exactly the data of a healthy run: no conversion,
  lead or campaign created twice, as the sandbox's own database counts them.
- After every run, no token the sandbox minted for it appears under reports/ or in the output.
- Writes that commit and then lose their answer (`commit_then_503`, `commit_then_timeout`) on
  every first attempt, per write route and for a whole run: test_safe_retries.py, the matrix's
  part for retries (each business object exactly once, as /__sandbox/stats counts).

Runs use `-n 0`: on this 2-core machine a serial run takes ~6 s, a 2-worker one ~12 s, and
the request order (hence which request a rate-limited fault hits) is deterministic. The runs
that mostly wait (each 5xx blip answers Retry-After: 1) go on a private sandbox in a background
thread while the matrix runs on the session sandbox in the foreground.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
import yaml
from harness_helpers import PreflightProject, RunResult, make_project

from preflight.core.categories import NOT_ESCALATED
from preflight.sandbox.process import SandboxProcess

MATRIX_ARGS = ("-n", "0")
SUMMARY_LIMIT = 200
ENV_TOKENS = ("$PREFLIGHT_JWT", "$PREFLIGHT_PAT")


# -- what each fault must produce --------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """Failures of one test function: its gate step and category, and how many of its
    parametrizations fail ("all" = as many as the healthy run has)."""

    step: str
    category: str
    count: int | str = "all"


@dataclass(frozen=True)
class Case:
    fault: str
    options: dict[str, Any]
    test: str  # the test that checks the broken promise
    expect: Expect  # what that test must report
    message: tuple[str, ...] = ()  # substrings its failure message must hold
    also: dict[str, Expect] = field(default_factory=dict)  # knock-on failures, exactly these
    names_links: str | None = None  # the message names each variant link of the campaign with this tag
    label: str = ""  # tells two cases of one fault apart (answer_rewritten says many things wrong)
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)  # config changes, by campaignId
    roots: int = 1  # root causes (support payloads) the fault makes
    everything: str | None = None  # every test fails, on its own step, with this category (a setup broken)

    @property
    def id(self) -> str:
        return self.label or f"{self.fault}->{self.expect.category}@{self.expect.step}"

    @property
    def failing(self) -> dict[str, Expect]:
        return {self.test: self.expect, **self.also}

    def failing_in(self, baseline_gate: dict[str, Any]) -> dict[str, Expect]:
        if self.everything is None:
            return self.failing
        steps = {function_of(r["nodeid"]): r["step"] for r in baseline_gate["results"]}
        return {name: Expect(step, self.everything) for name, step in steps.items()}


# With no test conversion recorded, conversion_signal stays WARN: that test says so.
NO_SIGNAL = {"test_conversion_signal_passes": Expect("test_conversion", "health_not_ready")}
# A ctx no test can use: every test that clicks fails (the stale ctx is minted apart), and the
# health checks that wait for the conversions lag behind them.
EVERY_CLICK_FAILS = {
    **{
        name: Expect("lead_capture", "attribution")
        for name in ("test_one_lead_captured_and_reviewed", "test_invalid_email_refused", "test_tampered_ctx_refused")
    },
    "test_variant_test_conversion": Expect("test_conversion", "attribution"),
    "test_foreign_ctx_refused": Expect("test_conversion", "attribution"),
    "test_conversion_signal_passes": Expect("test_conversion", "health_not_ready"),
    "test_ready_after_lifecycle": Expect("readiness", "health_not_ready"),
    **{
        name: Expect("conversion", "attribution")
        for name in (
            "test_fresh_ctx_conversion_recorded",
            "test_replay_returns_same_conversion",
            "test_reused_key_with_other_body_refused",
            "test_reused_ctx_deduped_per_click",
        )
    },
}
# keys_merged answers every conversion after a campaign's first with that first one.
DEDUPE = Expect("conversion", "idempotency_dedupe")

CASES = [
    Case(
        "test_conversion_rejects_ctx",
        {},
        "test_variant_test_conversion",
        Expect("test_conversion", "invalid_ctx"),
        ("400 invalid_ctx", "bad_signature"),
        also=NO_SIGNAL,
    ),
    Case(
        "traffic_tag_dropped",
        {},
        "test_checks_present_and_traffic_tagged",
        Expect("health", "missing_traffic_tags"),
        ("traffic_tags is FAIL",),
        names_links="utmMedium",
        # only the health step asserts tags: the steps that merely need a ctx still pass
        also={
            "test_click_redirect_carries_traffic_tags": Expect("health", "missing_traffic_tags"),
            "test_ready_after_lifecycle": Expect("readiness", "missing_traffic_tags"),
        },
    ),
    Case(
        "replay_counted_twice",
        {},
        "test_replay_returns_same_conversion",
        DEDUPE,
        ("replay under the same Idempotency-Key was counted as a new conversion",),
    ),
    Case(
        "keys_merged",
        {},
        "test_fresh_ctx_conversion_recorded",
        Expect("conversion", "idempotency_dedupe", 3),
        ("merged into an earlier one",),
        also={
            "test_replay_returns_same_conversion": DEDUPE,
            "test_reused_key_with_other_body_refused": DEDUPE,
            "test_reused_ctx_deduped_per_click": DEDUPE,
        },
    ),
    Case(
        "valid_email_rejected",
        {},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_capture"),
        ("400 invalid_email",),
        # its valid email, sent with a tampered ctx, is refused as invalid_email too
        also={"test_tampered_ctx_refused": Expect("lead_capture", "lead_capture")},
    ),
    Case(
        "invalid_email_accepted",
        {},
        "test_invalid_email_refused",
        Expect("lead_capture", "lead_capture"),
        ("invalid email", "was accepted"),
    ),
    Case(
        "stale_ctx_accepted",
        {},
        "test_stale_ctx_refused",
        Expect("conversion", "stale_ctx_accepted"),
        ("expired ctx was accepted",),
    ),
    Case(
        "lead_missing_from_export",
        {},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_missing_from_review"),
        ("absent from the CSV export",),
    ),
    Case(
        "lead_missing_from_list",
        {},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_missing_from_review"),
        ("absent from the review list",),
    ),
    Case(
        "publish_left_public",
        {},
        "test_schema_fetch_matches_publish",
        Expect("publish", "publish_access_mode"),
        ("accessMode", "PUBLIC"),
    ),
    Case(
        "schema_fetch_fails",
        {},
        "test_schema_fetch_matches_publish",
        Expect("publish", "schema_fetch"),
        ("404 not_found",),
    ),
    Case(
        "health_disagree",
        {},
        "test_pat_health_agrees_with_jwt",
        Expect("pat_health", "health_mismatch"),
        ("PAT and JWT campaign health disagree", "score"),
        also={"test_pat_health_agrees_when_ready": Expect("pat_readiness", "health_mismatch")},
    ),
    Case(
        "wrong_campaign_accepted",
        {},
        "test_foreign_ctx_refused",
        Expect("test_conversion", "stale_ctx_accepted"),
        ("was accepted by",),
    ),
    # Named by meaning, whatever the status code: a 200 "deduped" answer to a fresh conversion.
    Case(
        "conversion_deduped_fresh",
        {},
        "test_fresh_ctx_conversion_recorded",
        Expect("conversion", "idempotency_dedupe", 3),
        ("merged into an earlier one", "'deduped': True"),
        also={
            "test_replay_returns_same_conversion": DEDUPE,
            "test_reused_key_with_other_body_refused": DEDUPE,
            "test_reused_ctx_deduped_per_click": DEDUPE,
        },
    ),
    Case(
        "attribution_swapped",
        {},
        "test_variant_test_conversion",
        Expect("test_conversion", "attribution"),
        ("is credited to",),
        also={
            "test_one_lead_captured_and_reviewed": Expect("lead_capture", "attribution"),
            **{
                name: Expect("conversion", "attribution")
                for name in (
                    "test_fresh_ctx_conversion_recorded",
                    "test_replay_returns_same_conversion",
                    "test_reused_key_with_other_body_refused",
                    "test_reused_ctx_deduped_per_click",
                )
            },
        },
    ),
    Case(
        "redirect_swapped",
        {},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "attribution"),
        ("sends the visitor to",),
    ),
    # A click that lands on another host and path (its ctx and tags kept): the variant's traffic goes
    # where the A/B test does not measure it.
    Case(
        "redirect_offsite",
        {},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "attribution"),
        ("lands on another page than its destination", "elsewhere.example"),
    ),
    # Every ctx resolves to another variant, or no click carries one: each test that clicks says so;
    # the health checks that wait for the conversions follow from it (one root cause).
    *[
        Case(
            fault,
            {},
            "test_click_redirect_carries_traffic_tags",
            Expect("health", "attribution"),
            (said,),
            also=EVERY_CLICK_FAILS,
        )
        for fault, said in (("ctx_misattributed", "is credited to"), ("ctx_dropped", "minted no ctx"))
    ],
    # -- the smaller promises, one at a time (every failure branch of the steps fires: issue 16) --------
    Case(
        "redirect_offsite",
        {"dropQuery": True, "slug": "spring-*"},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "attribution", 2),
        ("drops or changes ?v=",),
        label="redirect_offsite(the destination without its own query)->attribution@health",
    ),
    Case(
        "traffic_tag_changed",
        {"tag": "utmSource", "value": "tiktok"},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "missing_traffic_tags"),
        ("redirects with other utm values", "tiktok"),
    ),
    Case(
        "key_reuse_accepted",
        {},
        "test_reused_key_with_other_body_refused",
        DEDUPE,
        ("reused Idempotency-Key with another body was accepted",),
    ),
    Case(
        "click_event_not_deduped",
        {},
        "test_reused_ctx_deduped_per_click",
        DEDUPE,
        ("was not deduped",),
    ),
    Case(
        "primary_link_pending",
        {},
        "test_checks_present_and_traffic_tagged",
        Expect("health", "health_not_ready"),
        ("primary_link is PENDING",),
        also={"test_ready_after_lifecycle": Expect("readiness", "health_not_ready")},
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/campaigns/*/health", "field": "checks[].status", "value": "OK"},
        "test_checks_present_and_traffic_tagged",
        Expect("health", "contract_violation"),
        ("does not carry the five readiness checks",),
        also={
            "test_conversion_signal_passes": Expect("test_conversion", "contract_violation"),
            "test_pat_health_agrees_with_jwt": Expect("pat_health", "contract_violation"),
            "test_pat_health_agrees_when_ready": Expect("pat_readiness", "contract_violation"),
            "test_ready_after_lifecycle": Expect("readiness", "contract_violation"),
        },
        label="answer_rewritten(health check statuses)->contract_violation@health",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/campaigns/*/health", "field": "campaignId", "value": "someone-else"},
        "test_checks_present_and_traffic_tagged",
        Expect("health", "contract_violation"),
        ("campaign health of", "answers for campaign 'someone-else'"),
        also={
            "test_conversion_signal_passes": Expect("test_conversion", "contract_violation"),
            "test_pat_health_agrees_with_jwt": Expect("pat_health", "contract_violation"),
            "test_pat_health_agrees_when_ready": Expect("pat_readiness", "contract_violation"),
            "test_ready_after_lifecycle": Expect("readiness", "contract_violation"),
        },
        label="answer_rewritten(health of another campaign)->contract_violation@health",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/campaigns/*/health", "field": "score", "value": 42},
        "test_checks_present_and_traffic_tagged",
        Expect("health", "contract_violation"),
        ("status or score does not follow from its checks",),
        also={
            "test_conversion_signal_passes": Expect("test_conversion", "contract_violation"),
            "test_ready_after_lifecycle": Expect("readiness", "contract_violation"),
            "test_pat_health_agrees_with_jwt": Expect("pat_health", "health_mismatch"),
            "test_pat_health_agrees_when_ready": Expect("pat_readiness", "health_mismatch"),
        },
        roots=2,  # JWT health contradicts itself, and PAT health (right) disagrees with it
        label="answer_rewritten(health score)->contract_violation@health",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/leads", "field": "items[].email", "value": "someone@else.example"},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_missing_from_review"),
        ("the review list shows captured lead", "with other email"),
        label="answer_rewritten(review list email)->lead_missing_from_review@lead_capture",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/leads/export", "field": "email", "value": "someone@else.example"},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_missing_from_review"),
        ("the CSV export shows captured lead",),
        label="answer_rewritten(export email)->lead_missing_from_review@lead_capture",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/leads/export", "field": "header", "value": "id,email"},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "contract_violation"),
        ("the export's header row",),
        label="answer_rewritten(export header)->contract_violation@lead_capture",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/leads/export", "field": "x", "contentType": "text/plain"},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "contract_violation"),
        ("not text/csv",),
        label="answer_rewritten(export content type)->contract_violation@lead_capture",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/public/handles/*/leads", "method": "POST", "field": "status", "value": "PENDING_VERIFICATION"},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_capture"),
        ("the lead's status",),
        label="answer_rewritten(lead status)->lead_capture@lead_capture",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/public/handles/*/leads", "method": "POST", "field": "reason", "value": "expired"},
        "test_tampered_ctx_refused",
        Expect("lead_capture", "contract_violation"),
        ("refused for another reason: 'expired'",),
        label="answer_rewritten(tampered ctx reason)->contract_violation@lead_capture",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/public/handles/*/leads", "method": "POST", "field": "error", "value": "bad_request"},
        "test_tampered_ctx_refused",
        Expect("lead_capture", "contract_violation"),
        ("the error code for a tampered ctx",),
        also={"test_invalid_email_refused": Expect("lead_capture", "contract_violation")},
        roots=2,  # the invalid email is refused with the unexpected code too
        label="answer_rewritten(lead error codes)->contract_violation@lead_capture",
    ),
    Case(
        "tampered_ctx_accepted",
        {},
        "test_tampered_ctx_refused",
        Expect("lead_capture", "stale_ctx_accepted"),
        ("a lead with a tampered ctx was accepted",),
    ),
    Case(
        "pending_lead_listed",
        {},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_capture"),
        ("listed for review before its email was verified",),
        campaigns={"spring-ab": {"leadVerification": "EMAIL_OTP"}},
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/campaigns/*/test-conversion", "method": "POST", "field": "test", "value": False},
        "test_variant_test_conversion",
        Expect("test_conversion", "contract_violation"),
        ("`test` flag",),
        label="answer_rewritten(test conversion's test flag)->contract_violation@test_conversion",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/campaigns/*/test-conversion", "method": "POST", "field": "reason", "value": "expired"},
        "test_foreign_ctx_refused",
        Expect("test_conversion", "contract_violation"),
        ("refused for another reason: 'expired'",),
        label="answer_rewritten(foreign ctx reason)->contract_violation@test_conversion",
    ),
    Case(
        "answer_rewritten",
        {
            "path": "/v2/handles/*/campaigns/*/test-conversion",
            "method": "POST",
            "field": "error",
            "value": "bad_request",
        },
        "test_foreign_ctx_refused",
        Expect("test_conversion", "contract_violation"),
        ("the error for another campaign's ctx",),
        label="answer_rewritten(foreign ctx error code)->contract_violation@test_conversion",
    ),
    *[
        Case(
            "answer_rewritten",
            {"path": "/v2/public/conversions", "method": "POST", "field": field, "value": value},
            "test_fresh_ctx_conversion_recorded",
            Expect("conversion", "contract_violation"),
            (said,),
            also={
                name: Expect("conversion", "contract_violation")
                for name in (
                    "test_replay_returns_same_conversion",
                    "test_reused_key_with_other_body_refused",
                    "test_reused_ctx_deduped_per_click",
                )
            },
            label=f"answer_rewritten(public conversion {field})->contract_violation@conversion",
        )
        for field, value, said in (("test", False, "`test` flag"), ("eventType", "other", "eventType"))
    ],
    Case(
        "answer_rewritten",
        {"path": "/v2/public/conversions", "method": "POST", "field": "reason", "value": "malformed"},
        "test_stale_ctx_refused",
        Expect("conversion", "contract_violation"),
        ("refused for another reason: 'malformed'",),
        label="answer_rewritten(stale ctx reason)->contract_violation@conversion",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/public/conversions", "method": "POST", "field": "error", "value": "bad_request"},
        "test_stale_ctx_refused",
        Expect("conversion", "contract_violation"),
        ("the error code for an expired ctx",),
        also={"test_reused_key_with_other_body_refused": Expect("conversion", "contract_violation")},
        roots=2,  # the reused key is refused with the unexpected code too
        label="answer_rewritten(conversion error codes)->contract_violation@conversion",
    ),
    Case(
        "answer_rewritten",
        {
            "path": "/v2/public/handles/*/site-structure/campaigns/*/publish",
            "method": "POST",
            "field": "schemaS3Key",
            "value": "x",
        },
        "test_draft_saved_and_published",
        Expect("publish", "contract_violation"),
        ("schemaS3Key",),
        label="answer_rewritten(schemaS3Key)->contract_violation@publish",
    ),
    Case(
        "answer_rewritten",
        {
            "path": "/v2/public/handles/*/site-structure/campaigns/*",
            "method": "PUT",
            "field": "schemaVersion",
            "value": 7,
        },
        "test_draft_saved_and_published",
        Expect("publish", "contract_violation"),
        ("the saved draft's schemaVersion",),
        also={
            "test_schema_fetch_matches_publish": Expect("publish", "schema_fetch"),
            "test_ready_after_lifecycle": Expect("readiness", "health_not_ready"),
        },
        label="answer_rewritten(draft schemaVersion)->contract_violation@publish",
    ),
    Case(
        "answer_rewritten",
        {
            "path": "/v2/public/handles/*/site-structure/campaigns/*",
            "method": "GET",
            "field": "deploymentId",
            "value": "dep_other",
        },
        "test_schema_fetch_matches_publish",
        Expect("publish", "schema_fetch"),
        ("deploymentId",),
        label="answer_rewritten(fetched deployment)->schema_fetch@publish",
    ),
    *[
        Case(
            "answer_rewritten",
            {
                "path": f"/v2/public/handles/*/site-structure/campaigns/*{stem}",
                "method": "GET",
                "field": "schema",
                "value": "x",
            },
            "test_schema_fetch_matches_publish",
            Expect("publish", "schema_fetch", 1),
            (said,),
            label=f"answer_rewritten(fetched schema of {stem})->schema_fetch@publish",
        )
        for stem, said in (("spring-ab", "no form requiring `email`"), ("diwali-sale", "another schema"))
    ],
    Case(
        "publish_fails",
        {},
        "test_draft_saved_and_published",
        Expect("publish", "platform_error"),
        ("500 internal_error",),
        also={
            "test_schema_fetch_matches_publish": Expect("publish", "schema_fetch"),
            "test_ready_after_lifecycle": Expect("readiness", "health_not_ready"),
        },
    ),
    *[
        Case(
            "answer_rewritten",
            {"path": "/v2/handles/*/campaigns", "method": "POST", "field": field, "value": value},
            "test_checks_present_and_traffic_tagged",
            Expect("health", "contract_violation"),
            (said,),
            everything="contract_violation",
            label=f"answer_rewritten(created campaign's {field})->contract_violation@setup",
        )
        for field, value, said in (
            ("status", "DRAFT", "the created campaign's status"),
            ("campaignId", "pf-other", "the created campaign's campaignId"),
        )
    ],
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/links/spring-b*", "method": "PUT", "field": "campaignId", "value": "someone-else"},
        "test_checks_present_and_traffic_tagged",
        Expect("health", "attribution", 1),
        ("bound to someone-else",),
        also={
            name: Expect(step, "attribution", count)
            for name, step, count in (
                ("test_click_redirect_carries_traffic_tags", "health", 2),
                ("test_pat_health_agrees_with_jwt", "pat_health", 1),
                ("test_one_lead_captured_and_reviewed", "lead_capture", 1),
                ("test_invalid_email_refused", "lead_capture", 1),
                ("test_tampered_ctx_refused", "lead_capture", 1),
                ("test_variant_test_conversion", "test_conversion", 2),
                ("test_conversion_signal_passes", "test_conversion", 1),
                ("test_foreign_ctx_refused", "test_conversion", 2),  # diwali-sale borrows spring-ab's click
                ("test_draft_saved_and_published", "publish", 1),
                ("test_schema_fetch_matches_publish", "publish", 1),
                ("test_fresh_ctx_conversion_recorded", "conversion", 2),
                ("test_replay_returns_same_conversion", "conversion", 2),
                ("test_reused_key_with_other_body_refused", "conversion", 2),
                ("test_reused_ctx_deduped_per_click", "conversion", 2),
                ("test_stale_ctx_refused", "conversion", 1),
                ("test_ready_after_lifecycle", "readiness", 1),
                ("test_pat_health_agrees_when_ready", "pat_readiness", 1),
                ("test_funnel_counts_the_run_and_keeps_tests_apart", "analytics", 1),
            )
        },
        label="answer_rewritten(a link bound elsewhere)->attribution@setup",
    ),
    # CC-06/07: the run's test conversions must count only in testConversions, never as real.
    Case(
        "test_conversions_counted",
        {},
        "test_funnel_counts_the_run_and_keeps_tests_apart",
        Expect("analytics", "test_residue"),
        ("counts as real", "conversions"),
    ),
    Case(
        "bots_counted_qualified",
        {},
        "test_funnel_counts_the_run_and_keeps_tests_apart",
        Expect("analytics", "test_residue"),
        ("counts as real", "qualifiedClicks"),
    ),
    # CC-06/07: the funnel numbers as the contract shapes them, and holding the run's own traffic.
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/analytics", "method": "GET", "field": "items[].key", "remove": True},
        "test_funnel_counts_the_run_and_keeps_tests_apart",
        Expect("analytics", "contract_violation"),
        ("carry an item without its key or counts",),
        label="answer_rewritten(analytics items without their key)->contract_violation@analytics",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/handles/*/analytics", "method": "GET", "field": "items[].clicks", "value": 0},
        "test_funnel_counts_the_run_and_keeps_tests_apart",
        Expect("analytics", "contract_violation"),
        ("miss the run's own traffic", "clicks 0 <"),
        label="answer_rewritten(FRESH analytics without the run's clicks)->contract_violation@analytics",
    ),
    # The ctx of a real click lives through the conversion window (expectations.conversion_window_minutes).
    Case(
        "answer_rewritten",
        {"path": "/v2/public/context", "method": "GET", "field": "expiresAt", "value": "soon"},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "contract_violation"),
        ("has no readable clickedAt/expiresAt", "soon"),
        label="answer_rewritten(a ctx's expiresAt unreadable)->contract_violation@health",
    ),
    Case(
        "answer_rewritten",
        {"path": "/v2/public/context", "method": "GET", "field": "expiresAt", "value": "2026-01-01T00:00:00Z"},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "ctx_lifetime"),
        ("less than the 30 min conversion window", "expectations.conversion_window_minutes"),
        label="answer_rewritten(a ctx that expires before the window ends)->ctx_lifetime@health",
        roots=0,  # the marketer's window against the platform's ctx lifetime: named, not escalated
    ),
    # A bridge page whose meta refresh and continue link go two ways: where does the shopper land?
    Case(
        "bridge_clicks",
        {"markup": "split", "slug": "spring-b*"},
        "test_click_redirect_carries_traffic_tags",
        Expect("health", "contract_violation", 1),
        ("sends the visitor two ways",),
        also={
            # every click on spring-b fails, so spring-b records no test conversion
            "test_variant_test_conversion": Expect("test_conversion", "contract_violation", 1),
            "test_conversion_signal_passes": Expect("test_conversion", "health_not_ready", 1),
            "test_ready_after_lifecycle": Expect("readiness", "health_not_ready", 1),
            **{
                name: Expect("conversion", "contract_violation", 1)
                for name in (
                    "test_fresh_ctx_conversion_recorded",
                    "test_replay_returns_same_conversion",
                    "test_reused_key_with_other_body_refused",
                    "test_reused_ctx_deduped_per_click",
                )
            },
        },
    ),
    Case(
        "lead_dropped_silently",
        {},
        "test_one_lead_captured_and_reviewed",
        Expect("lead_capture", "lead_capture"),
        ("acknowledged but not stored (202)",),
    ),
]

# Faults the harness rides through. slow_answers delays one answer in four by 300 ms (every
# answer would add ~40 s to a run): far within the 10 s request timeout, so nothing retries.
RIDE_THROUGH = {
    "throttle_storm": {"rate": 0.3, "retryAfter": 0},
    "server_error_blips": {"rate": 0.2},
    "commit_then_503": {"rate": 0.2},
    "slow_answers": {"delayMs": 300, "rate": 0.25},
}
# Differences a real deployment may have (extra fields, the request id under another header, the
# nested or RFC 9457 error shapes the contract lists): a healthy platform with them still PASSes.
TOLERATED = {
    "extra_fields": {"extra_fields": {}},
    "request-id-header": {"request_id_header": {"header": "x-amzn-requestid"}},
    "nested-errors": {"error_shape": {"shape": "nested"}},
    "rfc9457-errors": {"error_shape": {"shape": "rfc9457"}, "extra_fields": {}},
    # Lists paged as the contract allows: one item a page, each after an empty page with a nextCursor.
    "sparse-pages": {"sparse_pages": {}},
    # The documented click variants (a link's redirectType 307, trackingPolicy.mode BRIDGE): each a
    # working click (a bridge page with only one of its two ways on: tests/harness/test_audit.py).
    "redirect-307": {"redirect_307": {}},
    "bridge-page": {"bridge_clicks": {"markup": "both"}},
}
# Faults whose matrix is elsewhere: the retries of writes whose answer was lost (test_safe_retries.py),
# and the platform refusing writes its own meters say are left (test_meters_and_platform_disagree below).
ELSEWHERE = {
    "commit_then_timeout": "test_safe_retries.py",
    "quota_refused_early": "test_meters_and_platform_disagree",
    # the customer's landing pages: their findings are never escalated (test_landing.py's own matrix)
    **dict.fromkeys(
        (
            "landing_not_found",
            "site_redirect_drops_query",
            "lead_form_missing",
            "landing_script_error",
            "landing_asset_missing",
            "landing_slow",
            "detail_page_ungated",
            "lead_form_inert",
            "detail_page_down",
            "click_fails",  # in the browser (the API's clicks: test_audit.py, test_health.py, test_step_findings.py)
            "landing_paint_unmeasured",  # with a budget, no LCP entry: could not judge (HOLD)
        ),
        "test_landing.py",
    ),
    # what only the page's look or its URL after its scripts tells (test_visual.py, through a proxy)
    **dict.fromkeys(
        ("landing_changed", "landing_strips_ctx", "detail_page_content_under_gate", "bridge_slow"), "test_visual.py"
    ),
}
# Several faults at once, on different steps: one payload per fault.
COMBINED = {
    "tags+list+schema": ["traffic_tag_dropped", "lead_missing_from_list", "schema_fetch_fails"],
    "ctx+replay+health+email": [
        "test_conversion_rejects_ctx",
        "replay_counted_twice",
        "health_disagree",
        "invalid_email_accepted",
    ],
}


# -- helpers -------------------------------------------------------------------------------------


def why(run: RunResult, lines: int = 40) -> str:
    """Assertion-message suffix: the tail of the run's output."""
    out = "\n".join(run.stdout.rstrip().splitlines()[-lines:])
    err = "\n".join(run.stderr.rstrip().splitlines()[-15:])
    return f"\n--- preflight run stdout (tail) ---\n{out}\n--- stderr (tail) ---\n{err}"


def function_of(nodeid: str) -> str:
    """`suites/test_x.py::test_y[spring-ab:spring-a]` -> `test_y`."""
    return nodeid.split("::", 1)[1].split("[", 1)[0]


def count_by_test(gate: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in gate["results"]:
        counts[function_of(result["nodeid"])] = counts.get(function_of(result["nodeid"]), 0) + 1
    return counts


def live_slugs(gate: dict[str, Any]) -> dict[str, set[str]]:
    """campaignId -> the run's variant slugs, from the per-variant results."""
    slugs: dict[str, set[str]] = {}
    for result in gate["results"]:
        if result["slug"]:
            slugs.setdefault(result["campaignId"], set()).add(result["slug"])
    return slugs


def walk_attachments(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("attachments", []))
    for step in node.get("steps", []):
        found += walk_attachments(step)
    return found


def setup_attachments(run: RunResult, result: dict[str, Any]) -> list[dict[str, Any]]:
    """What the test's fixtures attached while setting it up (the report shows them under "Set up"):
    the exchanges of a fixture that failed, e.g. a foreign ctx's click."""
    found = []
    for path in (run.reports / "allure-results").glob("*-container.json"):
        container = json.loads(path.read_text())
        if result["uuid"] in container.get("children", []):
            for before in container.get("befores", []):
                found += walk_attachments(before)
    return found


def allure_result_for(run: RunResult, nodeid: str) -> dict[str, Any]:
    """The Allure result of exactly this test (its hidden `_nodeid` label)."""
    matches = [r for r in run.allure_results() if {"name": "_nodeid", "value": nodeid} in r.get("labels", [])]
    assert len(matches) == 1, f"expected one Allure result of {nodeid!r}, found {len(matches)}" + why(run)
    return matches[0]


# -- secrets: by shape (RunResult.leaked_secrets) and by value (read from the sandbox) ----------


@dataclass
class MintedSecrets:
    """The tokens a sandbox minted during a time window, rebuilt from its own database: the
    sandbox keeps its JWT signing key (meta.jwt_secret) and each PAT's sha256(secret). A JWT
    is deterministic (HS256 over sub, roles, iat, exp), so the run's JWT is one of the tokens
    signed at each second of the window; a PAT's secret is recognised by its hash."""

    jwts: list[str]
    pat_hashes: set[str]

    @property
    def strings(self) -> tuple[str, ...]:
        # The whole token, and its signature alone (a token cut at a dot is still a leak).
        return tuple(s for token in self.jwts for s in (token, token.rsplit(".", 1)[1]))

    def places(self, texts: dict[str, str]) -> list[str]:
        found = []
        for where, text in texts.items():
            jwt_found = any(s in text for s in self.strings)
            pat_found = any(hashlib.sha256(h.encode()).hexdigest() in self.pat_hashes for h in HEX48.findall(text))
            if jwt_found or pat_found:
                found.append(where)
        return found


HEX48 = re.compile(r"(?<![0-9a-f])[0-9a-f]{48}(?![0-9a-f])")


def minted_secrets(db_path: str | Path, *, handle: str, role: str, since: float, until: float) -> MintedSecrets:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as db:
        key = db.execute("SELECT value FROM meta WHERE key = 'jwt_secret'").fetchone()
        hashes = {row[0] for row in db.execute("SELECT secret_hash FROM pats")}
    assert key, f"the sandbox database {db_path} holds no jwt_secret: the secret scan cannot work"
    claims = {"sub": f"user-{handle}", "roles": {handle: role}}
    jwts = [
        pyjwt.encode({**claims, "iat": now, "exp": now + 3600}, key[0], algorithm="HS256")
        for now in range(int(since) - 1, math.ceil(until) + 2)
    ]
    return MintedSecrets(jwts, hashes)


def report_texts(run: RunResult) -> dict[str, str]:
    """Everything a person or CI gets from a run: its output and every file under reports/
    (the HTML report's app bundle aside: code, not data)."""
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for path in run.reports.rglob("*"):
        if path.is_file() and not path.name.startswith("app-"):
            texts[str(path)] = path.read_text(errors="replace")
    return texts


def target_of(project: PreflightProject) -> dict[str, Any]:
    config = yaml.safe_load(project.config_file.read_text())
    return yaml.safe_load((project.path / "config" / "targets" / f"{config['target']}.yaml").read_text())


def run_checked(project: PreflightProject, db_path: str | Path, *args: str, **kwargs: Any) -> RunResult:
    """project.run(...), then: no token minted for it appears anywhere it left output."""
    target = target_of(project)
    since = time.time()
    run = project.run(*args, **kwargs)
    secrets = minted_secrets(db_path, handle=target["handle"], role=target["role"], since=since, until=time.time())
    assert secrets.pat_hashes, "the sandbox holds no PAT after the run (did it start?): the scan cannot work" + why(run)
    shapes = run.leaked_secrets(extra=secrets.strings)
    values = secrets.places(report_texts(run))
    assert not shapes and not values, f"tokens leaked: by shape or JWT value in {shapes}, by value in {values}" + why(
        run
    )
    return run


def check_not_escalated(run: RunResult, result: dict[str, Any]) -> None:
    """A finding someone other than the platform fixes: no payload, yet its request ids are named."""
    assert not result.get("escalation"), f"{result['nodeid']}: escalated {result['escalation']}" + why(run)
    failing = result.get("failingRequestIds") or []
    assert any(rid in result["message"] for rid in failing), (
        f"{result['nodeid']}: the message names no request id" + why(run)
    )


def check_escalation(run: RunResult, result: dict[str, Any], expect: Expect) -> None:
    """The test's root cause has one payload in reports/escalations/ that lists it with its failing
    request id; its Allure result carries that request id and its escalation draft."""
    nodeid = result["nodeid"]
    owners = [e for e in run.gate["escalations"] if nodeid in e["tests"]]
    assert len(owners) == 1, f"{nodeid}: expected in exactly one escalation, found {len(owners)}" + why(run)
    escalation = owners[0]
    assert result["escalation"] == escalation["file"], (result["escalation"], escalation["file"])
    path = Path(escalation["file"])
    assert path.is_file() and path.parent == run.reports / "escalations", (
        f"{nodeid}: expected the escalation payload at reports/escalations/, got {path}" + why(run)
    )
    payload = json.loads(path.read_text())
    failing = result.get("failingRequestIds") or []
    assert failing and set(failing) <= set(payload["reproArtifact"]["requestIds"]), (
        f"{nodeid}: expected its failing request ids {failing} in the payload's "
        f"{payload['reproArtifact']['requestIds']}" + why(run)
    )
    assert any(rid in result["message"] for rid in failing), f"{nodeid}: the message names no request id" + why(run)
    assert nodeid in [a["test"] for a in payload["reproArtifact"]["affected"]]
    summary = payload.get("summary", "")
    assert 0 < len(summary) <= SUMMARY_LIMIT, f"{nodeid}: summary must be 1..200 chars, is {len(summary)}"
    assert summary.startswith(f"[{escalation['category']}] "), summary
    curl = payload["reproArtifact"]["curl"]
    credentials = re.findall(r"(?:authorization: Bearer |x-api-key: )([^'\"\s]+)", curl, flags=re.IGNORECASE)
    assert all(value in ENV_TOKENS for value in credentials), (
        f"{nodeid}: expected the curl to carry $PREFLIGHT_JWT/$PREFLIGHT_PAT or no credential, found {credentials}"
    )

    allure = allure_result_for(run, nodeid)
    attachments = walk_attachments(allure) + setup_attachments(run, allure)
    names = [a["name"] for a in attachments]
    rid = failing[-1]
    carrying = [
        a
        for a in attachments
        if not a["name"].startswith(("escalation", "artifacts"))
        and f"(request {rid})" in a["name"]
        and json.loads(run.attachment_text(a)).get("requestId") == rid
    ]
    # A repeat of an earlier failure (a campaign's setup, re-raised for each of its tests) carries no
    # exchange of its own: the first test that met it does, and the payload lists both.
    repeat = result.get("consequenceOf") and not any(
        a["name"].startswith(("GET ", "POST ", "PUT ")) for a in attachments
    )
    assert carrying or repeat, (
        f"{nodeid}: expected an exchange attachment for request {rid}; attachments: {names}" + why(run)
    )
    if not result.get("consequenceOf"):
        drafts = [a for a in attachments if a["name"].startswith(f"escalation draft (root cause {escalation['id']}")]
        assert len(drafts) == 1, f"{nodeid}: expected its escalation draft attached; got {names}" + why(run)
        draft = json.loads(run.attachment_text(drafts[0]))
        assert (draft["nodeid"], draft["group"], draft["requestId"]) == (nodeid, escalation["id"], rid), draft


# -- fixtures ------------------------------------------------------------------------------------


@dataclass
class Baseline:
    gate: dict[str, Any]
    stats: dict[str, int]


@pytest.fixture(scope="module")
def baseline(sandbox, tmp_path_factory) -> Baseline:
    """One healthy run of the project's own config: the tests, outcomes and counts to compare with."""
    sandbox.reset()
    project = make_project(tmp_path_factory.mktemp("baseline") / "project", sandbox=sandbox)
    run = run_checked(project, sandbox.db, *MATRIX_ARGS)
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), "expected the healthy baseline run to PASS" + why(run)
    return Baseline(run.gate, sandbox.stats())


@dataclass
class RideThrough:
    run: RunResult
    stats: dict[str, int]
    requests: list[dict[str, Any]]
    baseline_stats: dict[str, int]
    baseline_requests: list[dict[str, Any]]


@pytest.fixture(scope="module")
def ride_through(request, tmp_path_factory) -> dict[str, Future]:
    """The ride-through runs, started when the module starts, on a private sandbox in one
    background thread (a healthy run first, then one run per selected fault, each after a reset)."""
    selected = [
        item.callspec.params["fault"]
        for item in request.session.items
        if item.module is request.module and item.originalname == "test_harness_rides_through"
    ]
    if not selected:
        yield {}
        return
    root = tmp_path_factory.mktemp("ride-through")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ride-through")
    futures: dict[str, Future] = {}
    holder: dict[str, Any] = {}

    def start() -> SandboxProcess:
        sb = SandboxProcess(db=root / "sandbox.db", stdout_path=root / "sandbox.out", stderr_path=root / "sandbox.err")
        sb.start()
        holder["sandbox"] = sb
        sb.reset()
        project = make_project(root / "baseline", sandbox=sb)
        run = run_checked(project, sb.db, *MATRIX_ARGS)
        assert run.gate["verdict"] == "PASS", "expected the private sandbox's healthy run to PASS" + why(run)
        holder["baseline"] = sb.stats(), sb.requests(limit=10000)
        return sb

    def one(fault: str, options: dict[str, Any]) -> RideThrough:
        sb = started.result()
        sb.reset()
        project = make_project(root / fault, sandbox=sb)
        run = run_checked(project, sb.db, *MATRIX_ARGS, faults={fault: options})
        return RideThrough(run, sb.stats(), sb.requests(limit=10000), *holder["baseline"])

    started = pool.submit(start)
    for fault in selected:
        futures[fault] = pool.submit(one, fault, RIDE_THROUGH[fault])
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    if "sandbox" in holder:
        holder["sandbox"].stop()


@pytest.fixture(autouse=True, scope="module")
def _start_ride_through_first(ride_through):
    """Start the background runs before the first test of the module, whichever it is."""
    yield


# -- the secret scan itself can fail ---------------------------------------------------------------


def test_secret_scan_finds_tokens_the_sandbox_minted(sandbox, tmp_path):
    """A JWT (or only its signature) and a PAT's secret (without its patv1_ prefix) are found."""
    since = time.time()
    token = sandbox.mint_jwt("gharart", role="CREATOR")
    pat = sandbox.mint_pat("gharart", scopes=["analytics.read"])
    secrets = minted_secrets(sandbox.db, handle="gharart", role="CREATOR", since=since, until=time.time())
    assert token in secrets.jwts, "expected the rebuilt JWTs to include the one the sandbox just minted"
    texts = {
        "whole jwt": f"x {token} y",
        "signature only": token.rsplit(".", 1)[1],
        "pat secret only": f"secret={pat.rsplit('.', 1)[1]}",
        "clean": "Bearer [REDACTED] " + "ab" * 24,
    }
    assert secrets.places(texts) == ["whole jwt", "signature only", "pat secret only"]
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "leak.json").write_text(json.dumps({"curl": f"-H 'authorization: Bearer {token}'"}))
    run = RunResult(0, "", "", reports)
    assert run.leaked_secrets() == [str(reports / "leak.json")], "expected the shape check to find a JWT"


# -- faults that break the contract ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault_is_caught_on_its_step(case: Case, project, sandbox, baseline):
    if case.campaigns:
        project.edit_config(lambda data: [c.update(case.campaigns.get(c["campaignId"], {})) for c in data["campaigns"]])
    run = run_checked(project, sandbox.db, *MATRIX_ARGS, faults={case.fault: case.options})
    expecting = case.failing_in(baseline.gate)
    gate = run.gate
    assert (gate["verdict"], run.code) == ("FAIL", 1), (
        f"{case.fault}: expected verdict FAIL (exit 1), got {gate['verdict']} (exit {run.code})" + why(run)
    )

    # Every test still reports, once.
    nodeids = [r["nodeid"] for r in gate["results"]]
    expected_ids = sorted(r["nodeid"] for r in baseline.gate["results"])
    assert len(nodeids) == len(set(nodeids)), f"{case.fault}: a test reported twice in the gate" + why(run)
    assert sorted(nodeids) == expected_ids, (
        f"{case.fault}: expected one gate result per test ({len(expected_ids)}), got {len(nodeids)}: "
        f"missing {sorted(set(expected_ids) - set(nodeids))}, extra {sorted(set(nodeids) - set(expected_ids))}"
        + why(run)
    )

    # Exactly the listed tests fail, each with its step and category, as many times as listed.
    per_test = count_by_test(baseline.gate)
    failures = run.failures()
    failing = sorted({function_of(r["nodeid"]) for r in failures})
    assert failing == sorted(expecting), (
        f"{case.fault}: expected exactly {sorted(expecting)} to fail, got {failing}: "
        + "; ".join(f"{r['nodeid']} {r['step']}/{r['category']}" for r in failures)
        + why(run)
    )
    for name, expect in expecting.items():
        mine = [r for r in failures if function_of(r["nodeid"]) == name]
        wanted = per_test[name] if expect.count == "all" else expect.count
        got = [(r["step"], r["category"]) for r in mine]
        assert got == [(expect.step, expect.category)] * wanted, (
            f"{case.fault}: expected {wanted} failure(s) of {name} as {expect.category} on step {expect.step}, "
            f"got {got}" + why(run)
        )
    baseline_outcomes = {r["nodeid"]: r["outcome"] for r in baseline.gate["results"]}
    changed = {
        r["nodeid"]: (baseline_outcomes[r["nodeid"]], r["outcome"])
        for r in gate["results"]
        if function_of(r["nodeid"]) not in expecting and r["outcome"] != baseline_outcomes[r["nodeid"]]
    }
    assert not changed, f"{case.fault}: expected the other tests to report as in the healthy run: {changed}" + why(run)

    # One root cause, one payload, listing every failing test.
    escalations = gate["escalations"]
    assert len(escalations) == case.roots, (
        f"{case.fault}: expected {case.roots} escalation(s), got {len(escalations)}: "
        + "; ".join(f"{e['category']} {e['cause']}" for e in escalations)
        + why(run)
    )
    # A finding the marketer or the customer's site fixes is named, never escalated.
    unescalated = [r for r in failures if r["category"] in NOT_ESCALATED]
    assert {t for e in escalations for t in e["tests"]} == {r["nodeid"] for r in failures if r not in unescalated}, why(
        run
    )
    assert sorted(p.name for p in (run.reports / "escalations").glob("*.json")) == sorted(
        Path(e["file"]).name for e in escalations
    )

    # The test that checks the promise says what broke, and carries its evidence.
    primary = [r for r in failures if function_of(r["nodeid"]) == case.test]
    for result in primary:
        for text in case.message:
            assert text in result["message"], (
                f"{result['nodeid']}: expected the message to contain {text!r}: {result['message']}" + why(run)
            )
        assert result["message"].startswith(f"[{case.expect.category}]"), result["message"]
        if case.names_links:
            first = result["message"].splitlines()[0]
            links = live_slugs(gate)[result["campaignId"]]
            assert links and all(f"{slug} missing {case.names_links}" in first for slug in links), (
                f"{result['nodeid']}: expected the message to name each link {sorted(links)} with "
                f"{case.names_links}: {first}" + why(run)
            )
    for result in failures:
        if result in unescalated:
            check_not_escalated(run, result)
        else:
            check_escalation(run, result, expecting[function_of(result["nodeid"])])


@pytest.mark.parametrize("name", list(COMBINED))
def test_several_faults_give_one_payload_each(name, project, sandbox):
    faults = COMBINED[name]
    run = run_checked(project, sandbox.db, *MATRIX_ARGS, faults={fault: {} for fault in faults})
    assert (run.gate["verdict"], run.code) == ("FAIL", 1), why(run)
    escalations = run.gate["escalations"]
    assert len(escalations) == len(faults), (
        f"{faults}: expected {len(faults)} payloads, got "
        + "; ".join(f"{e['category']}: {e['cause']} ({len(e['tests'])} tests)" for e in escalations)
        + why(run)
    )
    assert len(list((run.reports / "escalations").glob("*.json"))) == len(faults)
    covered = {t for e in escalations for t in e["tests"]}
    assert covered == {r["nodeid"] for r in run.failures()}, why(run)


# What every click of the run answers under a click variant (the log proves the variant was served).
CLICK_STATUS = {"redirect-307": 307, "bridge-page": 200}


@pytest.mark.parametrize("name", list(TOLERATED))
def test_tolerated_differences_never_fail_a_run(name, project, sandbox, baseline):
    run = run_checked(project, sandbox.db, *MATRIX_ARGS, faults=TOLERATED[name])
    if name in CLICK_STATUS:
        clicks = {e["status"] for e in sandbox.requests(10000) if e["path"].startswith("/_edge/redirect/")}
        assert clicks == {CLICK_STATUS[name]}, f"{name}: the clicks answered {clicks}" + why(run)
    assert (run.gate["verdict"], run.code) == ("PASS", 0), (
        f"{name}: " + "; ".join(f"{r['nodeid']} {r['category']}" for r in run.failures()) + why(run)
    )
    outcomes = sorted((r["nodeid"], r["outcome"]) for r in run.gate["results"])
    assert outcomes == sorted((r["nodeid"], r["outcome"]) for r in baseline.gate["results"])
    # The request ids were still found (from the configured header list), so evidence is complete.
    assert all(r["requestIds"] for r in run.gate["results"] if r["outcome"] == "passed"), why(run)


# -- faults the harness rides through --------------------------------------------------------------


def _writes(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE") and r["path"].startswith("/v2/")]


def _eligible(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests a transport fault counts (DESIGN.md): all but /__sandbox/* and GET /v2/system/health."""
    return [
        r
        for r in requests
        if not r["path"].startswith("/__sandbox")
        and not (r["method"] in ("GET", "HEAD") and r["path"] == "/v2/system/health")
    ]


@pytest.mark.parametrize("fault", list(RIDE_THROUGH), ids=[f"{f}-rides-through" for f in RIDE_THROUGH])
def test_harness_rides_through(fault: str, ride_through, baseline):
    done: RideThrough = ride_through[fault].result(timeout=300)
    run = done.run
    assert (run.gate["verdict"], run.code) == ("PASS", 0), (
        f"{fault} {RIDE_THROUGH[fault]}: expected the harness to retry through to PASS, got "
        f"{run.gate['verdict']}: " + "; ".join(f"{r['nodeid']} {r['category']}" for r in run.failures()) + why(run)
    )
    outcomes = sorted((r["nodeid"], r["outcome"]) for r in run.gate["results"])
    assert outcomes == sorted((r["nodeid"], r["outcome"]) for r in baseline.gate["results"]), (
        f"{fault}: expected the same tests with the same outcomes as the healthy run" + why(run)
    )
    assert done.baseline_stats == baseline.stats, (
        f"the private sandbox's healthy run counted {done.baseline_stats}, the session one {baseline.stats}"
    )
    assert done.stats == baseline.stats, (
        f"{fault}: expected exactly the healthy run's data (nothing created twice): "
        f"healthy {baseline.stats}, with the fault {done.stats}" + why(run)
    )

    # The fault really fired, as often as its rate says.
    eligible = _eligible(done.requests)
    rate = RIDE_THROUGH[fault]["rate"]
    if fault in ("throttle_storm", "server_error_blips"):
        status = 429 if fault == "throttle_storm" else 503
        hits = sum(r["status"] == status for r in eligible)
        assert hits == math.floor(len(eligible) * rate) > 0, (
            f"{fault}: expected floor({len(eligible)} x {rate}) answers {status}, the sandbox logged {hits}"
        )
    elif fault == "commit_then_503":
        # Each write answered 503 had committed; its one retry is answered 2xx from the stored
        # record. So the run logs the healthy run's 2xx writes, plus one 503 per hit, nothing else.
        # The fault counts the 2xx writes that are not replays: the healthy run's, less the one
        # deliberate replay of each test_replay_returns_same_conversion.
        writes, healthy_writes = _writes(eligible), _writes(_eligible(done.baseline_requests))
        hits = sum(r["status"] == 503 for r in writes)
        ok = sum(200 <= r["status"] < 300 for r in writes)
        healthy = sum(200 <= r["status"] < 300 for r in healthy_writes)
        assert (ok, len(writes)) == (healthy, len(healthy_writes) + hits), (
            f"{fault}: expected {healthy} 2xx writes and {len(healthy_writes)} + {hits} writes in all (healthy run "
            f"+ one retry per 503), the sandbox logged {ok} 2xx of {len(writes)}"
        )
        replays = count_by_test(baseline.gate)["test_replay_returns_same_conversion"]
        assert hits == math.floor((healthy - replays) * rate) > 0, (
            f"{fault}: expected floor(({healthy} - {replays}) x {rate}) writes answered 503, the sandbox logged {hits}"
        )
    else:
        exchanges = [
            json.loads(run.attachment_text(a))
            for r in run.allure_results()
            for a in walk_attachments(r)
            if a["name"].startswith(("GET ", "POST ", "PUT "))
        ]
        slow = [e for e in exchanges if e["durationMs"] >= RIDE_THROUGH[fault]["delayMs"]]
        assert slow, f"{fault}: expected some recorded exchanges to take >= 300 ms" + why(run)
        retried = [e["url"] for e in exchanges if e["attempts"] > 1 or e["status"] is None]
        assert not retried, f"{fault}: answers within the timeout must not be retried: {retried}" + why(run)


# -- the platform refuses writes its own meters say are left ---------------------------------------


def test_meters_and_platform_disagree(project, sandbox):
    """usage-meters shows writes left, the plan fits, then a counted write is refused with daily_quota:
    ERROR (nothing after it was judged), a reason that names the disagreement with both request ids,
    and one support payload: the platform's defect, not the user's plan."""
    run = run_checked(project, sandbox.db, *MATRIX_ARGS, faults={"quota_refused_early": {"after": 3}})
    gate = run.gate
    assert (gate["verdict"], run.code) == ("ERROR", 2), why(run)
    failed = run.failures()
    assert [r["category"] for r in failed] == ["meters_mismatch"], why(run)
    message = failed[0]["message"]
    assert "429 daily_quota" in message and "usage-meters" in message and "disagree" in message, message
    refused, meters = failed[0]["failingRequestIds"][-2:]
    assert refused in message and meters in message, message
    assert "meters_mismatch" in gate["reason"] and "platform side" in gate["reason"], gate["reason"]
    (escalation,) = gate["escalations"]
    assert escalation["category"] == "meters_mismatch" and {refused, meters} <= set(escalation["requestIds"])
    before = json.loads(Path(escalation["file"]).read_text())
    assert before["summary"].startswith("[meters_mismatch] "), before["summary"]
    # Every later test stopped: no test ran past the refusal to pretend a verdict.
    assert gate["tests"]["ran"] < gate["tests"]["selected"], gate["tests"]


def test_a_refusal_the_meters_agree_with_stays_the_users_quota(sandbox):
    """A daily_quota refusal is judged against the meters read right after it: the day really spent
    (by this run or anyone else on the handle) stays `quota`, the user's; writes left is the platform's."""
    from preflight.http.client import Credentials, PlatformClient
    from preflight.lifecycle.checks import expect_status
    from preflight.lifecycle.failures import PreflightFailure
    from preflight.ops.quota import second_opinion

    sandbox.reset()
    sandbox.set_plan("shop-free", "FREE")  # 2 counted writes a day
    client = PlatformClient(sandbox.url, "shop-free", Credentials(jwt=sandbox.mint_jwt("shop-free")))
    try:
        body = {"destinationUrl": "https://gharart.example/x"}
        for slug in ("link-one", "link-two"):
            assert client.call("put_link", step="setup", json_body=body, slug=slug).status == 201
        refused = client.call("put_link", step="setup", json_body=body, slug="link-three")
        with pytest.raises(PreflightFailure) as spent:
            expect_status(refused, 201, doing="binding a link")
        assert spent.value.category == "quota"
        assert second_opinion(client, spent.value, None) is spent.value  # the meters agree: 2 of 2 spent

        sandbox.set_faults({"quota_refused_early": {}})
        sandbox.set_plan("shop-free", "ENTERPRISE")
        early = client.call("put_link", step="setup", json_body=body, slug="link-four")
        with pytest.raises(PreflightFailure) as lie:
            expect_status(early, 201, doing="binding a link")
        judged = second_opinion(client, lie.value, None)
        assert judged.category == "meters_mismatch" and judged.escalate, judged.message
        assert early.request_id in judged.message and len(judged.request_ids) == 2, judged.message
    finally:
        client.close()
        sandbox.set_faults({})


def test_every_fault_of_the_catalogue_has_its_case():
    """A fault added to the catalogue without a case here (or a named place elsewhere) fails."""
    from preflight.core.faults import FaultName

    covered = (
        {case.fault for case in CASES}
        | set(RIDE_THROUGH)
        | {fault for faults in TOLERATED.values() for fault in faults}
        | {fault for faults in COMBINED.values() for fault in faults}
        | set(ELSEWHERE)
    )
    assert sorted(set(FaultName) - covered) == [], "faults without a case in the fault matrix"
    assert covered <= set(FaultName), sorted(covered - set(FaultName))
    # A fault whose matrix is elsewhere names a test that exists and switches that fault on.
    here = Path(__file__).parent
    for fault, where in ELSEWHERE.items():
        if where.endswith(".py"):
            assert (here / where).is_file(), f"{fault}: its matrix {where} does not exist"
            assert f'"{fault}"' in (here / where).read_text(), f"{fault}: {where} never switches it on"
        else:
            test = globals().get(where)
            assert callable(test) and where.startswith("test_"), f"{fault}: no test {where} in the fault matrix"
            assert f'"{fault}"' in inspect.getsource(test), f"{fault}: {where} never switches it on"


def test_a_run_id_whose_campaign_id_is_taken_is_the_users_to_fix(project, sandbox):
    """`--run-id` reused after the config changed a campaign's goal (or someone else holds its id):
    the create answers 409, the list has no campaign of this run's goal under that id. The user's to
    fix (a fresh run id), so ERROR, category config, never escalated; the other campaign still runs."""
    jwt = sandbox.mint_jwt("gharart")
    taken = httpx.post(
        f"{sandbox.url}/v2/handles/gharart/campaigns",
        headers={"authorization": f"Bearer {jwt}"},
        json={
            "campaignId": "pf-taken-1-spring-ab",
            "goalType": "PRODUCT_SALE",
            "status": "ACTIVE",
            "name": "someone else's",
            "primaryLink": {"slug": "taken-one", "destinationUrl": "https://gharart.example/x"},
        },
        timeout=30,
    )
    assert taken.status_code == 201, taken.text
    run = run_checked(project, sandbox.db, *MATRIX_ARGS, "--run-id", "taken-1")
    assert (run.gate["verdict"], run.code) == ("ERROR", 2), why(run)
    setup = [r for r in run.failures() if r["campaign"] == "spring-ab"]
    assert setup and {r["category"] for r in setup} == {"config"}, why(run)
    assert "is taken, but not by this run's LEAD_CAPTURE campaign" in setup[0]["message"], setup[0]["message"]
    assert "fresh --run-id" in setup[0]["message"] and run.gate["escalations"] == [], why(run)
    assert all(
        r["outcome"] == "passed"
        for r in run.gate["results"]
        if r["campaign"] == "diwali-sale" and "foreign_ctx" not in r["nodeid"]
    ), why(run)
