"""Idempotency: replay, reuse, in flight, never storing 429/5xx, and one creation under a race."""

from __future__ import annotations

import threading

import httpx
from sandbox_helpers import HANDLE, error_of, eventually

REPORT = {"summary": "checkout broken", "details": "503 on publish"}


def test_same_key_same_body_replays_the_first_answer(api, sb):
    body = api.campaign_body()
    first = api.post("/v2/handles/{h}/campaigns", key="create-1", json=body)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = api.post("/v2/handles/{h}/campaigns", key="create-1", json=body)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert sb.stats()["campaigns"] == 1


def test_key_order_of_json_fields_does_not_matter(api):
    first = api.post("/v2/support/report", key="k", json={"summary": "a", "details": "b"})
    again = api.post("/v2/support/report", key="k", json={"details": "b", "summary": "a"})
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()


def test_same_key_different_body_is_422(api, sb):
    api.post("/v2/support/report", key="k-reused", json=REPORT)
    response = api.post("/v2/support/report", key="k-reused", json={**REPORT, "details": "other"})
    error_of(response, 422, "idempotency_key_reused")
    assert sb.stats()["supportReports"] == 1


def test_same_key_on_another_route_is_422(api):
    api.post("/v2/support/report", key="k-route", json=REPORT)
    response = api.post("/v2/handles/{h}/campaigns", key="k-route", json=api.campaign_body())
    error_of(response, 422, "idempotency_key_reused")


def test_key_is_per_credential(api, sb):
    first = api.post("/v2/support/report", key="shared", json=REPORT)
    other = api.post("/v2/support/report", key="shared", json=REPORT, token=sb.mint_jwt("another-brand"))
    assert other.status_code == 202 and "idempotent-replayed" not in other.headers
    assert other.json()["ticketId"] != first.json()["ticketId"]


def test_key_in_body_field(api, sb):
    body = {**REPORT, "idempotencyKey": "body-key-1"}
    first = api.post("/v2/support/report", json=body)
    again = api.post("/v2/support/report", json=body)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["ticketId"] == first.json()["ticketId"]
    assert sb.stats()["supportReports"] == 1


def test_bad_keys_are_validation_errors(api):
    response = api.post("/v2/support/report", key="x" * 256, json=REPORT)
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "Idempotency-Key"
    response = api.post("/v2/support/report", json={**REPORT, "idempotencyKey": 42})
    error_of(response, 400, "validation_error")
    assert response.json()["fields"][0]["field"] == "idempotencyKey"


def test_public_conversion_needs_a_key(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    error_of(api.convert(ctx, key=None), 400, "idempotency_key_required")
    assert sb.stats()["conversions"] == 0
    assert (
        api.post("/v2/public/conversions", token=None, json={"ctx": ctx, "idempotencyKey": "in-body"}).status_code
        == 201
    )


def test_public_route_keys_are_per_route(api):
    api.campaign()
    ctx = api.ctx("spring-a")
    conversion = api.convert(ctx, key="same-key")
    lead = api.post(
        "/v2/public/handles/{h}/leads",
        token=None,
        key="same-key",
        json={"campaignId": "spring-ab", "email": "a@example.com", "ctx": ctx},
    )
    assert conversion.status_code == 201 and lead.status_code == 201
    assert "idempotent-replayed" not in lead.headers


def test_in_flight_key_is_409_with_retry_after(api, sb):
    """Two requests with one key at once (each answer held 1.5 s): whichever the sandbox claims first
    is answered, the other is told it is in flight. Neither order nor timing is assumed."""
    sb.set_faults({"slow_answers": {"delayMs": 1500}})
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda: answers.append(api.post("/v2/support/report", key="in-flight", json=REPORT)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sb.set_faults({})
    (first,) = [a for a in answers if a.status_code == 202]
    (second,) = [a for a in answers if a.status_code != 202]
    error_of(second, 409, "idempotency_in_progress")
    assert second.headers["retry-after"] == "1"
    third = api.post("/v2/support/report", key="in-flight", json=REPORT)
    assert third.headers["idempotent-replayed"] == "true"
    assert third.json() == first.json()
    assert sb.stats()["supportReports"] == 1


def test_429_is_never_stored(api, sb):
    sb.set_plan(HANDLE, "FREE")
    api.link("slug-one")
    api.link("slug-two")
    body = api.campaign_body()
    error_of(api.post("/v2/handles/{h}/campaigns", key="after-quota", json=body), 429, "rate_limited")
    sb.set_plan(HANDLE, "PRO")
    retried = api.post("/v2/handles/{h}/campaigns", key="after-quota", json=body)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


def test_5xx_is_never_stored(api, sb):
    sb.set_faults({"server_error_blips": {"rate": 1.0}})
    error_of(api.post("/v2/support/report", key="blip", json=REPORT), 503, "service_unavailable")
    sb.set_faults({})
    retried = api.post("/v2/support/report", key="blip", json=REPORT)
    assert retried.status_code == 202 and "idempotent-replayed" not in retried.headers


def test_records_expire_after_24h(api, sb):
    first = api.post("/v2/support/report", key="day-old", json=REPORT)
    sb.advance_clock(24 * 3600 + 5)
    later = api.post("/v2/support/report", key="day-old", json=REPORT)
    assert later.status_code == 202 and "idempotent-replayed" not in later.headers
    assert later.json()["ticketId"] != first.json()["ticketId"]


def _race(url: str, n: int, send) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def worker():
        with httpx.Client(base_url=url, timeout=30) as client:
            barrier.wait()
            response = send(client)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_eight_concurrent_requests_under_one_key_create_once(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    answers = _race(
        sb.url,
        8,
        lambda c: c.post(
            "/v2/public/conversions", json={"ctx": ctx, "value": 10}, headers={"Idempotency-Key": "race-key"}
        ),
    )
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, statuses
    created = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(created) == 1
    replayed = [a for a in answers if a.status_code == 201 and a.headers.get("idempotent-replayed")]
    assert all(a.json() == created[0].json() for a in replayed)
    for a in answers:
        if a.status_code == 409:
            assert a.json()["error"] == "idempotency_in_progress"
    assert sb.stats()["conversions"] == 1


def test_eight_concurrent_slow_creates_one_campaign(api, sb):
    """The first request commits and holds its key while its answer is held back (slow_answers); seven
    more with the key, sent once the sandbox counts the commit (an event, not a head start on a clock),
    are each refused 409 while it is in flight, or replayed once it is answered: which, the sandbox's
    own log says (it logs each request as it answers it), so the check holds on a loaded machine."""
    sb.set_faults({"slow_answers": {"delayMs": 3000}})
    body = api.campaign_body()
    headers = {"Authorization": f"Bearer {api.jwt}", "Idempotency-Key": "race-create"}
    first: list[httpx.Response] = []

    def create() -> None:
        with httpx.Client(base_url=sb.url, timeout=60) as client:
            first.append(client.post(f"/v2/handles/{HANDLE}/campaigns", json=body, headers=headers))

    holder = threading.Thread(target=create)
    holder.start()
    eventually(sb.stats, lambda stats: stats["campaigns"] == 1, "the first request's commit")
    answers = _race(sb.url, 7, lambda c: c.post(f"/v2/handles/{HANDLE}/campaigns", json=body, headers=headers))
    holder.join(60)
    sb.set_faults({})
    (made,) = first
    assert made.status_code == 201 and "idempotent-replayed" not in made.headers, made.headers
    order = [r["requestId"] for r in sb.requests(limit=100) if r["method"] == "POST"]
    answered_at = order.index(made.headers["x-request-id"])
    for answer in answers:
        if answer.status_code == 409:  # met the first in flight: answered before it (the log's order)
            error_of(answer, 409, "idempotency_in_progress")
            assert order.index(answer.headers["x-request-id"]) < answered_at, (order, answer.headers)
        else:  # the first's answer stored: its replay (the store comes just before the first's own log line)
            assert answer.status_code == 201 and answer.headers.get("idempotent-replayed") == "true", answer.headers
            assert answer.json() == made.json()
    refused = sum(a.status_code == 409 for a in answers)
    assert refused >= 1, "no request met the first in flight: the race was never run"
    assert sb.stats()["campaigns"] == 1


def test_eight_concurrent_keys_for_one_click_dedupe_to_one(api, sb):
    api.campaign()
    ctx = api.ctx("spring-a")
    counter = iter(range(100))
    lock = threading.Lock()

    def send(client):
        with lock:
            n = next(counter)
        return client.post("/v2/public/conversions", json={"ctx": ctx}, headers={"Idempotency-Key": f"distinct-{n}"})

    answers = _race(sb.url, 8, send)
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["conversionId"] for a in answers}) == 1
    assert sb.stats()["conversions"] == 1
