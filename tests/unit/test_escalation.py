"""Support-report payloads: shape, 200-char summary, redaction, curl, files, sending."""

from __future__ import annotations

import json

import pytest

from preflight.classify import NEXT_STEPS, Classification
from preflight.escalation import (
    SUMMARY_LIMIT,
    build_payload,
    send_payload,
    should_escalate,
    slugify_nodeid,
    write_payload,
)
from preflight.exchange import Exchange
from preflight.failures import PreflightFailure
from preflight.redact import register_secret

# Fake tokens, written in parts so no committed line looks like a real one.
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJnaGFyYXJ0In0.c2lnbmF0dXJlLXNpZw"
PAT = "patv1_tok123." + "s3cretSecretValue"
CONTRACT_KEYS = {"summary", "details", "handle", "sessionId", "requestId", "runId", "environment", "role",
                 "reproArtifact"}
NODEID = "suites/test_test_conversion.py::test_each_variant[spring-ab:spring-b]"


def exchange(status=400, *, request_id="req-2", surface="jwt", path="/v2/handles/gharart/campaigns/pf-1/test-conversion",
             body=None) -> Exchange:
    header = ("authorization", f"Bearer {JWT}") if surface == "jwt" else ("x-api-key", PAT)
    return Exchange.build(method="POST", url="http://127.0.0.1:9" + path, path=path, surface=surface,
                          status=status, duration_ms=3, request_id=request_id,
                          request_headers=[header, ("content-type", "application/json")],
                          request_body={"ctx": "c1", "value": 1},
                          response_body=body if body is not None else {"error": "invalid_ctx", "reason": "bad_signature"})


def failure(summary="test-conversion refused a fresh ctx", **kw) -> PreflightFailure:
    return PreflightFailure("invalid_ctx", summary, expected="201", actual="400 invalid_ctx",
                            exchanges=[exchange(201, request_id="req-1", body={}), exchange()],
                            state_before={"conversion_signal": "WARN"}, state_after={"conversion_signal": "WARN"},
                            **kw)


def payload(f=None, **kw):
    args = {"handle": "gharart", "run_id": "run-42", "environment": "sandbox", "role": "CREATOR", "nodeid": NODEID,
            "step": "test_conversion", "campaign_id": "pf-run42-spring-ab", "slug": ["spring-a", "spring-b"]}
    args.update(kw)
    return build_payload(f or failure(), **args)


def test_payload_has_the_contract_fields():
    p = payload()
    assert set(p) == CONTRACT_KEYS
    assert p["handle"] == "gharart" and p["environment"] == "sandbox" and p["role"] == "CREATOR"
    assert p["sessionId"] == p["runId"] == "run-42"
    assert p["requestId"] == "req-2"  # the failing (last) exchange's
    assert p["summary"] == "[invalid_ctx] test_conversion: test-conversion refused a fresh ctx"


def test_details_say_what_failed_and_what_to_do():
    details = payload()["details"]
    for text in (NODEID, "Expected: 201", "Actual: 400 invalid_ctx", "Category: invalid_ctx",
                 "Next step: " + NEXT_STEPS["invalid_ctx"], "campaignId pf-run42-spring-ab",
                 "slug(s) spring-a, spring-b", "req-1, req-2", "handle gharart"):
        assert text in details
    assert len(details.splitlines()) >= 8


def test_repro_artifact():
    repro = payload()["reproArtifact"]
    assert set(repro) == {"curl", "status", "bodyExcerpt", "stateBefore", "stateAfter", "requestIds", "rollbackIntent"}
    assert repro["status"] == 400 and "bad_signature" in repro["bodyExcerpt"]
    assert repro["requestIds"] == ["req-1", "req-2"]
    assert repro["stateBefore"] == {"conversion_signal": "WARN"}
    assert "pf-run42-spring-ab" in repro["rollbackIntent"] and "enabled:false" in repro["rollbackIntent"]
    assert "no production campaign touched" in repro["rollbackIntent"]
    assert payload(rollback_intent="nothing to roll back")["reproArtifact"]["rollbackIntent"] == "nothing to roll back"


def test_curl_uses_env_var_credentials():
    curl = payload()["reproArtifact"]["curl"]
    assert '"authorization: Bearer $PREFLIGHT_JWT"' in curl and JWT not in curl
    assert "/v2/handles/gharart/campaigns/pf-1/test-conversion" in curl
    pat_failure = PreflightFailure("schema_fetch", "404", exchanges=[exchange(404, surface="pat")])
    pat_curl = payload(pat_failure)["reproArtifact"]["curl"]
    assert '"x-api-key: $PREFLIGHT_PAT"' in pat_curl and PAT not in pat_curl


def test_summary_is_at_most_200_chars_on_one_line():
    p = payload(failure("x" * 500 + "\nsecond line"))
    assert len(p["summary"]) == SUMMARY_LIMIT and p["summary"].endswith("…")
    assert "\n" not in payload(failure("two\nlines"))["summary"]


def test_payload_is_redacted_even_when_a_secret_leaks_into_text():
    secret = "leaky-run-secret-0123456789"
    register_secret(secret)
    leaky = failure(f"token {JWT} and {PAT} and {secret}")
    text = json.dumps(payload(leaky, role=f"CREATOR {secret}"))
    assert JWT not in text and PAT not in text and secret not in text
    assert "[REDACTED]" in text


def test_truncation_never_leaves_part_of_a_secret():
    secret = "straddling-secret-" + "q" * 30
    register_secret(secret)
    # "[invalid_ctx] test_conversion: " is 31 chars: the secret starts just before the cut.
    summary = "y" * (SUMMARY_LIMIT - 31 - 10) + secret
    assert secret[:8] not in payload(failure(summary))["summary"]


def test_classification_without_exchanges():
    c = Classification("platform_error", NEXT_STEPS["platform_error"], "ReadTimeout during call: slow")
    p = payload(c, slug="spring-a")
    assert p["requestId"] is None and p["reproArtifact"]["curl"] is None
    assert p["reproArtifact"]["requestIds"] == []
    assert "slug(s) spring-a" in p["details"]


def test_write_payload_is_stable_and_safe(tmp_path):
    p = payload()
    path = write_payload(p, tmp_path, NODEID)
    assert path.parent == tmp_path / "escalations"
    assert path == write_payload(p, tmp_path, NODEID)
    assert json.loads(path.read_text()) == p
    assert all(ch.isalnum() or ch in "._-" for ch in path.stem)
    assert slugify_nodeid(NODEID) != slugify_nodeid(NODEID.replace(":", "/"))


def test_send_payload_returns_the_ticket():
    sent = []

    def post(body):
        sent.append(body)
        return exchange(202, path="/v2/support/report", body={"ticketId": "T-9", "status": "RECEIVED"})

    assert send_payload(post, {"summary": "s"}) == "T-9" and sent == [{"summary": "s"}]
    assert send_payload(lambda body: exchange(400, path="/v2/support/report",
                                              body={"error": "validation_error"}), {}) is None
    assert send_payload(lambda body: exchange(None, path="/v2/support/report", body=None), {}) is None


@pytest.mark.parametrize("path", ["/v2/operator/escalations", "/v2/public/content-report"])
def test_send_payload_refuses_other_escalation_routes(path):
    with pytest.raises(ValueError, match="only /v2/support/report"):
        send_payload(lambda body: exchange(202, path=path, body={"ticketId": "T"}), {})


def test_config_and_harness_errors_are_not_escalated():
    assert not should_escalate("config") and not should_escalate("harness_error")
    assert should_escalate("invalid_ctx") and should_escalate("platform_error")
