"""Support-report payloads: drafts per failure, one payload per root cause, 200-char summary,
redaction, curl, files, sending."""

from __future__ import annotations

import json

import pytest

from preflight.config.campaign import AccessMode
from preflight.core.redact import register_secret
from preflight.http.exchange import Exchange
from preflight.lifecycle.classify import NEXT_STEPS
from preflight.lifecycle.failures import PreflightFailure
from preflight.report.escalation import (
    SUMMARY_LIMIT,
    build_payload,
    cause_of,
    draft,
    group,
    group_id,
    send_payload,
    should_escalate,
    write_payload,
)

# Fake tokens, written in parts so no committed line looks like a real one.
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJnaGFyYXJ0In0.c2lnbmF0dXJlLXNpZw"
PAT = "patv1_tok123." + "s3cretSecretValue"
CONTRACT_KEYS = {
    "summary",
    "details",
    "handle",
    "sessionId",
    "requestId",
    "runId",
    "environment",
    "role",
    "reproArtifact",
}
NODEID = "suites/test_test_conversion.py::test_variant_test_conversion[spring-ab:spring-b]"
ROLLBACK = "created throwaway campaign(s) pf-run42-spring-ab (links spring-a, spring-b); links retired"


def exchange(
    status=400,
    *,
    request_id="req-2",
    surface="jwt",
    path="/v2/handles/gharart/campaigns/pf-1/test-conversion",
    body=None,
    route="test_conversion",
) -> Exchange:
    header = ("authorization", f"Bearer {JWT}") if surface == "jwt" else ("x-api-key", PAT)
    return Exchange.build(
        method="POST",
        url="http://127.0.0.1:9" + path,
        path=path,
        surface=surface,
        status=status,
        duration_ms=3,
        request_id=request_id,
        request_headers=[header, ("content-type", "application/json")],
        request_body={"ctx": "c1", "value": 1},
        route=route,
        response_body=body if body is not None else {"error": "invalid_ctx", "reason": "bad_signature"},
    )


def failure(summary="test-conversion refused a fresh ctx", cause="test-conversion refuses a fresh ctx", **kw):
    return PreflightFailure(
        "invalid_ctx",
        summary,
        expected="201",
        actual="400 invalid_ctx",
        exchanges=[exchange(201, request_id="req-1", body={}), exchange()],
        state_before={"conversion_signal": "WARN"},
        state_after={"conversion_signal": "WARN"},
        cause=cause,
        **kw,
    )


def draft_of(f=None, nodeid=NODEID, slug="spring-b-abc123", campaign="pf-run42-spring-ab", step="test_conversion"):
    return draft(f or failure(), nodeid=nodeid, step=step, campaign_id=campaign, slug=slug)


def payload(drafts=None, **kw):
    args = {"handle": "gharart", "run_id": "run-42", "environment": "sandbox", "role": "CREATOR", "rollback": ROLLBACK}
    args.update(kw)
    return build_payload(drafts or [draft_of()], **args)


def test_payload_has_the_contract_fields():
    p = payload()
    assert set(p) == CONTRACT_KEYS
    assert p["handle"] == "gharart" and p["environment"] == "sandbox" and p["role"] == "CREATOR"
    assert p["sessionId"] == p["runId"] == "run-42"
    assert p["requestId"] == "req-2"  # the failing (last) exchange's
    assert p["summary"] == (
        "[invalid_ctx] test_conversion: test-conversion refuses a fresh ctx (seen by 1 test(s) on pf-run42-spring-ab)"
    )


def test_one_payload_lists_every_test_variant_and_request_id_of_its_root_cause():
    drafts = [
        draft_of(failure(), nodeid=NODEID),
        draft_of(failure(), nodeid=NODEID.replace("spring-b", "spring-a"), slug="spring-a-abc123"),
        draft_of(
            failure(),
            nodeid=NODEID.replace("spring-ab:spring-b", "diwali-sale:diwali-a"),
            slug="diwali-a-abc123",
            campaign="pf-run42-diwali-sale",
        ),
    ]
    groups = group(drafts)
    assert list(groups) == [group_id("invalid_ctx", "test-conversion refuses a fresh ctx")]
    p = payload(groups[next(iter(groups))])
    affected = p["reproArtifact"]["affected"]
    assert [a["test"] for a in affected] == [d["nodeid"] for d in drafts]
    assert {a["slug"] for a in affected} == {"spring-b-abc123", "spring-a-abc123", "diwali-a-abc123"}
    assert "seen by 3 test(s) on pf-run42-diwali-sale, pf-run42-spring-ab" in p["summary"]
    assert "slug(s) diwali-a-abc123, spring-a-abc123, spring-b-abc123" in p["details"]
    assert "Affected tests (3):" in p["details"]


def test_different_causes_are_different_groups():
    other = PreflightFailure("invalid_ctx", "x", exchanges=[exchange()], cause="lead capture refuses a fresh ctx")
    assert len(group([draft_of(), draft_of(other)])) == 2


def test_cause_without_a_step_given_one_comes_from_the_route_and_answer_not_ids():
    f = PreflightFailure(
        "platform_error",
        "req_abc answered 503 for pf-run-1-spring-ab",
        exchanges=[exchange(503, body={"error": "service_unavailable"})],
    )
    assert cause_of(f) == "POST test_conversion answered 503 service_unavailable"
    assert "req_" not in cause_of(PreflightFailure("platform_error", "req_0123abcd failed"))


def test_consequences_are_listed_in_their_root_cause():
    later = {
        "nodeid": "suites/test_health.py::test_ready_after_lifecycle[spring-ab]",
        "step": "readiness",
        "campaignId": "pf-run42-spring-ab",
        "slug": None,
        "requestIds": ["req-7"],
        "summary": "[health_not_ready] conversion_signal WARN",
    }
    p = payload(consequences=[later])
    assert "Later failures this explains (1):" in p["details"]
    assert later["nodeid"] in [a["test"] for a in p["reproArtifact"]["affected"]]


def test_details_say_what_failed_and_what_to_do():
    details = payload()["details"]
    for text in (
        NODEID,
        "Expected: 201",
        "Actual: 400 invalid_ctx",
        "Category: invalid_ctx",
        "Next step: " + NEXT_STEPS["invalid_ctx"],
        "campaignId(s) pf-run42-spring-ab",
        "req-1, req-2",
        "handle gharart",
        "Rollback intent: " + ROLLBACK,
    ):
        assert text in details
    assert len(details.splitlines()) >= 10


def test_text_is_for_people_no_python_reprs():
    f = PreflightFailure(
        "publish_access_mode",
        "the page is PUBLIC",
        expected=AccessMode.FREE_WITH_LOGIN,
        actual={"accessMode": "PUBLIC"},
        exchanges=[exchange(200)],
    )
    text = json.dumps(payload([draft_of(f)]))
    assert "AccessMode." not in text and "<" not in text
    assert "Expected: FREE_WITH_LOGIN" in payload([draft_of(f)])["details"]
    assert 'Actual: {\\"accessMode\\": \\"PUBLIC\\"}' in text


def test_repro_artifact():
    repro = payload()["reproArtifact"]
    assert set(repro) == {
        "curl",
        "status",
        "bodyExcerpt",
        "stateBefore",
        "stateAfter",
        "requestIds",
        "affected",
        "rollbackIntent",
    }
    assert repro["status"] == 400 and "bad_signature" in repro["bodyExcerpt"]
    assert repro["requestIds"] == ["req-1", "req-2"]
    assert repro["stateBefore"] == {"conversion_signal": "WARN"}
    assert repro["rollbackIntent"] == ROLLBACK


def test_curl_uses_env_var_credentials():
    curl = payload()["reproArtifact"]["curl"]
    assert '"authorization: Bearer $PREFLIGHT_JWT"' in curl and JWT not in curl
    assert "/v2/handles/gharart/campaigns/pf-1/test-conversion" in curl
    pat_failure = PreflightFailure("schema_fetch", "404", exchanges=[exchange(404, surface="pat")])
    pat_curl = payload([draft_of(pat_failure)])["reproArtifact"]["curl"]
    assert '"x-api-key: $PREFLIGHT_PAT"' in pat_curl and PAT not in pat_curl


def test_summary_is_at_most_200_chars_on_one_line():
    p = payload([draft_of(failure(cause="x" * 500))])
    assert len(p["summary"]) == SUMMARY_LIMIT and p["summary"].endswith("…")
    assert "\n" not in payload([draft_of(failure(cause="two\nlines"))])["summary"]


def test_payload_is_redacted_even_when_a_secret_leaks_into_text():
    secret = "leaky-run-secret-0123456789"
    register_secret(secret)
    leaky = failure(f"token {JWT} and {PAT} and {secret}", cause=f"cause {secret}")
    text = json.dumps(payload([draft_of(leaky)], role=f"CREATOR {secret}"))
    assert JWT not in text and PAT not in text and secret not in text
    assert "[REDACTED]" in text


def test_truncation_never_leaves_part_of_a_secret():
    secret = "straddling-secret-" + "q" * 30
    register_secret(secret)
    # "[invalid_ctx] test_conversion: " is 31 chars: the secret starts just before the cut.
    cause = "y" * (SUMMARY_LIMIT - 31 - 10) + secret
    assert secret[:8] not in payload([draft_of(failure(cause=cause))])["summary"]


def test_failure_without_exchanges():
    f = PreflightFailure("platform_error", "ReadTimeout during call: slow")
    p = payload([draft_of(f, slug="spring-a")])
    assert p["requestId"] is None and p["reproArtifact"]["curl"] is None
    assert p["reproArtifact"]["requestIds"] == []
    assert "slug(s) spring-a" in p["details"]


def test_write_payload_is_one_file_per_root_cause(tmp_path):
    p = payload()
    name = group_id("invalid_ctx", "test-conversion refuses a fresh ctx")
    path = write_payload(p, tmp_path, name)
    assert path.parent == tmp_path / "escalations" and path.stem == name
    assert path == write_payload(p, tmp_path, name)
    assert json.loads(path.read_text()) == p
    assert all(ch.isalnum() or ch in "._-" for ch in path.stem)


def test_send_payload_returns_the_ticket_or_why_not():
    sent = []

    def post(body):
        sent.append(body)
        return exchange(202, path="/v2/support/report", body={"ticketId": "T-9", "status": "RECEIVED"})

    assert send_payload(post, {"summary": "s"}) == ("T-9", None) and sent == [{"summary": "s"}]
    ticket, why = send_payload(
        lambda body: exchange(400, path="/v2/support/report", body={"error": "validation_error"}), {}
    )
    assert ticket is None and "400 validation_error" in why and "req-2" in why
    ticket, why = send_payload(lambda body: exchange(None, path="/v2/support/report", body=None), {})
    assert ticket is None and "no answer" in why


@pytest.mark.parametrize("path", ["/v2/operator/escalations", "/v2/public/content-report"])
def test_send_payload_refuses_other_escalation_routes(path):
    with pytest.raises(ValueError, match="only /v2/support/report"):
        send_payload(lambda body: exchange(202, path=path, body={"ticketId": "T"}), {})


def test_the_users_side_and_harness_errors_are_not_escalated():
    for category in ("config", "harness_error", "auth", "quota", "throttled"):
        assert not should_escalate(category)
        assert PreflightFailure(category, "x").escalate is False
    assert should_escalate("invalid_ctx") and should_escalate("platform_error") and should_escalate("attribution")
