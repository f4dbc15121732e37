"""classify(): exception -> category; failure_from_exchange(): unexpected answer -> category."""

from __future__ import annotations

import sys
import types

import httpx
import pytest

from preflight.core.categories import MEANINGS as CATEGORIES
from preflight.http.exchange import Exchange
from preflight.lifecycle.classify import NEXT_STEPS, Classification, classify, failure_from_exchange
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.playbook import STEPS


def exchange(
    status,
    body=None,
    *,
    surface="jwt",
    method="POST",
    path="/v2/handles/gharart/campaigns",
    request_id="req-1",
    headers=(),
    error=None,
) -> Exchange:
    return Exchange.build(
        method=method,
        url="http://127.0.0.1:9" + path,
        path=path,
        surface=surface,
        status=status,
        duration_ms=5,
        request_id=request_id,
        request_headers=[("authorization", "Bearer x")],
        request_body={"a": 1},
        response_headers=headers,
        response_body=body,
        error=error,
        step="campaign_health",
    )


# -- classify --------------------------------------------------------------------------------


def test_preflight_failure_keeps_its_category_and_next_step():
    ex = exchange(400, {"error": "invalid_ctx", "reason": "expired"})
    failure = PreflightFailure(
        "invalid_ctx", "refused", expected="201", actual="400", next_step="do X", exchanges=[ex], state_before={"n": 1}
    )
    got = classify(failure, "call")
    assert (got.category, got.next_step, got.summary) == ("invalid_ctx", "do X", "refused")
    assert got.exchanges == (ex,) and got.request_ids == ["req-1"] and got.state_before == {"n": 1}


def test_preflight_failure_without_next_step_gets_the_default():
    assert classify(PreflightFailure("quota", "out"), "call").next_step == NEXT_STEPS["quota"]


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("slow"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.ReadError("reset"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
def test_transport_errors_are_platform_errors(exc):
    assert classify(exc, "call").category == "platform_error"


@pytest.mark.parametrize("exc", [AssertionError("plain assert"), KeyError("x"), TypeError("bad"), ValueError()])
def test_anything_else_is_a_harness_error(exc):
    got = classify(exc, "setup")
    assert got.category == "harness_error"
    assert got.summary.startswith(f"{type(exc).__name__} during setup")
    assert got.next_step == NEXT_STEPS["harness_error"]


def test_config_error_is_config(monkeypatch):
    # A stand-in module: classify imports preflight.config lazily, whatever its state.
    fake = types.ModuleType("preflight.config")

    class ConfigError(Exception):
        pass

    fake.ConfigError = ConfigError
    monkeypatch.setitem(sys.modules, "preflight.config", fake)
    assert classify(ConfigError("targets/x.yaml: unknown key"), "setup").category == "config"


def test_classification_is_a_plain_value():
    assert Classification("auth", "n", "s") == Classification("auth", "n", "s")


def test_every_category_has_a_uc07_next_step():
    assert set(NEXT_STEPS) == set(CATEGORIES)
    platform_side = set(CATEGORIES) - {"config", "harness_error"}
    # The audit's checks and the analytics step cite their own source: the audit, or Campaign Control.
    cited = {category: step.reference for step in STEPS.values() for category in step.next_steps}
    for category in platform_side:
        assert cited.get(category, "UC-07") in NEXT_STEPS[category], category
        assert cited.get(category, "UC-07").startswith(("UC-07", "CC-06/07", "the audit")), category
    assert "UC-07 step 1" in NEXT_STEPS["missing_traffic_tags"]
    assert "utm" in NEXT_STEPS["missing_traffic_tags"]
    assert "UC-07 step 4" in NEXT_STEPS["invalid_ctx"]
    assert "UC-07 step 3" in NEXT_STEPS["lead_missing_from_review"]
    assert "UC-07 step 5" in NEXT_STEPS["publish_access_mode"]
    assert "UC-07 step 6" in NEXT_STEPS["idempotency_dedupe"]
    assert "UC-07 step 2" in NEXT_STEPS["health_mismatch"]


# -- failure_from_exchange --------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, category",
    [
        (401, {"error": "invalid_token"}, "auth"),
        (403, {"error": "insufficient_role", "requiredRole": "OPERATOR"}, "auth"),
        (429, {"error": "rate_limited", "reason": "daily_quota", "plan": "FREE"}, "quota"),
        (429, {"error": {"code": "rate_limited", "reason": "daily_quota"}}, "quota"),
        (429, {"error": "rate_limited", "reason": "throttle"}, "throttled"),
        (429, None, "throttled"),
        (500, {"error": "internal"}, "platform_error"),
        (503, {"error": "service_unavailable"}, "platform_error"),
        (None, None, "platform_error"),
        (400, {"error": "invalid_ctx", "reason": "bad_signature"}, "invalid_ctx"),
        (400, {"error": "validation_error"}, "contract_violation"),
        (404, {"error": "not_found"}, "contract_violation"),
        (200, {"ok": True}, "contract_violation"),
    ],
)
def test_status_maps_to_category(status, body, category):
    failure = failure_from_exchange(exchange(status, body), step="s", expected="201", context="doing")
    assert failure.category == category


def test_message_has_request_id_expected_actual_and_next_step():
    ex = exchange(400, {"error": "invalid_ctx", "reason": "expired", "message": "ctx expired"}, request_id="req-77")
    failure = failure_from_exchange(
        ex, step="test_conversion", expected="201 with testConversionId", context="test conversion for spring-b"
    )
    message = str(failure)
    assert message.startswith("[invalid_ctx] test_conversion: test conversion for spring-b:")
    assert "reason expired" in message
    assert "req-77" in message
    assert "expected: 201 with testConversionId" in message
    assert "actual:   400 invalid_ctx: ctx expired" in message
    assert "next step: " + NEXT_STEPS["invalid_ctx"] in message


def test_auth_names_the_credential_kind_and_what_is_missing():
    jwt = failure_from_exchange(
        exchange(403, {"error": "insufficient_role", "requiredRole": "OPERATOR"}),
        step="s",
        expected="200",
        context="listing",
        has="role CREATOR",
    )
    assert "jwt credential refused" in jwt.summary
    assert "requiredRole OPERATOR" in jwt.summary and "token has role CREATOR" in jwt.summary
    pat = failure_from_exchange(
        exchange(403, {"error": "insufficient_scope", "requiredScope": "pages.write"}, surface="pat"),
        step="s",
        expected="201",
        context="publishing",
    )
    assert "pat credential refused" in pat.summary and "requiredScope pages.write" in pat.summary


def test_quota_names_plan_and_counts():
    body = {
        "error": "rate_limited",
        "reason": "daily_quota",
        "plan": "FREE",
        "limits": {"writesPerDay": 2},
        "usage": {"writesToday": 2, "writesDay": "20260619"},
    }
    failure = failure_from_exchange(
        exchange(429, body, headers=[("Retry-After", "3600")]), step="s", expected="201", context="creating"
    )
    assert "plan FREE" in failure.summary and "writesPerDay 2" in failure.summary
    assert "writesToday 2" in failure.summary and "Retry-After 3600s" in failure.summary


def test_no_answer_says_so():
    ex = exchange(None, error="ConnectError: refused", request_id=None)
    failure = failure_from_exchange(ex, step="s", expected="200", context="")
    assert failure.category == "platform_error"
    assert "no answer" in failure.summary and "none (no answer arrived)" in str(failure)
