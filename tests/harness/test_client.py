"""The platform client against a real sandbox: credentials per surface, idempotency keys,
retries only where the contract allows them, and redacted evidence."""

from __future__ import annotations

import time

import pytest

from preflight.http.client import Credentials, PlatformClient, RetryPolicy, idempotency_key
from preflight.http.exchange import Exchange

HANDLE = "gharart"
TAGS = {"utmSource": "meta", "utmMedium": "paid_social", "utmCampaign": "spring"}


@pytest.fixture
def sb(sandbox):
    sandbox.reset()
    yield sandbox
    sandbox.set_faults({})


@pytest.fixture
def client(sb):
    jwt = sb.mint_jwt(HANDLE)
    pat = sb.mint_pat(HANDLE, ["analytics.read", "pages.read", "pages.write"])
    seen: list[Exchange] = []
    c = PlatformClient(
        base_url=sb.url,
        handle=HANDLE,
        credentials=Credentials(jwt=jwt, pat=pat),
        retry=RetryPolicy(attempts=4, backoff_seconds=0.01, max_wait_seconds=2),
    )
    c.observers.append(seen.append)
    c.seen = seen
    c.tokens = (jwt, pat)
    yield c
    c.close()


def create_campaign(client, key: str | None = "k-create", campaign_id: str = "cl-test"):
    body = {
        "campaignId": campaign_id,
        "goalType": "PRODUCT_SALE",
        "status": "ACTIVE",
        "primaryLink": {"slug": f"{campaign_id}-a", "destinationUrl": "https://gharart.example/a", "tracking": TAGS},
    }
    return client.call("create_campaign", step="t", key=key, json_body=body)


def test_idempotency_key_is_deterministic_and_distinct():
    key = idempotency_key("run-1", "conversion", "pf-run-1-spring", "spring-a", "c1")
    assert key == idempotency_key("run-1", "conversion", "pf-run-1-spring", "spring-a", "c1")
    assert key.startswith("pf-") and len(key) == 43
    others = {
        idempotency_key("run-2", "conversion", "pf-run-1-spring", "spring-a", "c1"),
        idempotency_key("run-1", "publish", "pf-run-1-spring", "spring-a", "c1"),
        idempotency_key("run-1", "conversion", "pf-run-1-spring", "spring-b", "c1"),
    }
    assert key not in others and len(others) == 3


def test_surfaces_get_their_own_credential(client):
    jwt, pat = client.tokens
    assert create_campaign(client).status == 201
    jwt_health = client.call("campaign_health", step="t", campaignId="cl-test")
    pat_health = client.call("public_campaign_health", step="t", campaignId="cl-test")
    public = client.call("system_health", step="t")
    assert (jwt_health.status, pat_health.status, public.status) == (200, 200, 200)
    assert "authorization" not in public.request_headers
    # Evidence never holds the token itself.
    for ex in client.seen:
        assert jwt not in repr(ex.to_dict()) and pat not in repr(ex.to_dict())
    assert jwt_health.request_headers["authorization"] == "Bearer [REDACTED]"
    assert jwt_health.request_id and jwt_health.request_id == jwt_health.response_headers["x-request-id"]


def test_writes_carry_the_key_and_a_replay_is_the_same_answer(client):
    first = create_campaign(client, key="k-same")
    again = create_campaign(client, key="k-same")
    assert first.request_headers["idempotency-key"] == "k-same"
    assert (first.status, again.status) == (201, 201)
    assert again.response_headers.get("idempotent-replayed") == "true"


def test_keyed_write_is_retried_through_commit_then_503_without_duplicates(client, sb):
    sb.set_faults({"commit_then_503": {"rate": 1.0}})
    ex = create_campaign(client, key="k-503")
    sb.set_faults({})
    attempts = [e for e in client.seen if e.path.endswith("/campaigns")]
    # rate 1.0 hits every successful write; the replay of the stored answer is not a new write
    assert [e.status for e in attempts] == [503, 201], attempts
    assert ex.response_headers["idempotent-replayed"] == "true"
    assert sb.stats()["campaigns"] == 1


def test_unkeyed_write_is_never_retried(client, sb):
    sb.set_faults({"server_error_blips": {"rate": 1.0}})
    ex = create_campaign(client, key=None)
    sb.set_faults({})
    assert ex.status == 503 and ex.attempts == 1
    assert len([e for e in client.seen if e.path.endswith("/campaigns")]) == 1


def test_reads_retry_5xx_until_the_budget_is_spent(client, sb):
    sb.set_faults({"server_error_blips": {"rate": 1.0}})
    ex = client.call("list_campaigns", step="t")
    sb.set_faults({})
    assert (ex.status, ex.attempts) == (503, 4)


def test_retry_after_is_honoured(client, sb):
    sb.set_faults({"throttle_storm": {"rate": 0.5, "retryAfter": 1}})
    assert client.call("list_campaigns", step="t").status == 200  # request 1 of the storm passes
    client.seen.clear()
    started = time.monotonic()
    ex = client.call("list_campaigns", step="t")
    waited = time.monotonic() - started
    sb.set_faults({})
    throttled = [e for e in client.seen if e.status == 429]
    assert ex.status == 200 and throttled, client.seen
    assert throttled[0].response_headers["retry-after"] == "1"
    assert waited >= 1.0 * len(throttled), f"retried after {waited:.2f}s, Retry-After asked 1s"


def test_client_errors_are_not_retried(client):
    ex = client.call("campaign_health", step="t", campaignId="no-such-campaign")
    assert ex.status == 404 and ex.attempts == 1 and ex.error_code == "not_found"


def test_daily_quota_is_not_retried(client, sb):
    sb.set_plan(HANDLE, "FREE")
    for n in range(2):
        assert create_campaign(client, key=f"q{n}", campaign_id=f"quota-{n}").status == 201
    ex = create_campaign(client, key="q3", campaign_id="quota-3")
    assert ex.status == 429 and ex.body_field("reason") == "daily_quota" and ex.attempts == 1


def test_network_error_is_an_exchange_without_status():
    c = PlatformClient(
        base_url="http://127.0.0.1:9",
        handle=HANDLE,
        credentials=Credentials(),
        retry=RetryPolicy(attempts=2, backoff_seconds=0.01, timeout_seconds=1),
    )
    ex = c.call("system_health", step="t")
    assert ex.status is None and ex.attempts == 2 and "ConnectError" in ex.error
