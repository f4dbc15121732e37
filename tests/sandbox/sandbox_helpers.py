"""Shortcuts shared by the sandbox tests (imported by conftest.py and the test modules)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from preflight.sandbox.process import SandboxProcess

HANDLE = "gharart"
TAGS = {"utmSource": "meta", "utmMedium": "paid_social", "utmCampaign": "spring"}
_UNSET: Any = object()


def error_of(response: httpx.Response, status: int, code: str, **extra: Any) -> dict[str, Any]:
    """Assert a flat error answer; answer its body."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["requestId"] == response.headers["x-request-id"]
    for key, value in extra.items():
        assert body[key] == value, (key, body)
    return body


def field_names(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["fields"]]


def ctx_of(response: httpx.Response) -> str | None:
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query.get("ctx", [None])[0]


class Api:
    """A JWT client of one handle, with shortcuts for the common set-ups."""

    def __init__(self, sb: SandboxProcess, handle: str = HANDLE) -> None:
        self.sb = sb
        self.handle = handle
        self.http = httpx.Client(base_url=sb.url, timeout=30)
        self.jwt = sb.mint_jwt(handle, ttl_seconds=90 * 86400)  # outlives clock moves
        self._pat: str | None = None

    def close(self) -> None:
        self.http.close()

    @property
    def pat(self) -> str:
        if self._pat is None:
            self._pat = self.sb.mint_pat(self.handle, ["analytics.read", "pages.read", "pages.write"])
        return self._pat

    def call(
        self,
        method: str,
        path: str,
        token: str | None = _UNSET,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(headers or {})
        token = self.jwt if token is _UNSET else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.request(method, path.format(h=self.handle), headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("PUT", path, **kwargs)

    # --- set-ups ------------------------------------------------------------------------

    def campaign_body(
        self,
        campaign_id: str = "spring-ab",
        slug: str = "spring-a",
        goal: str = "LEAD_CAPTURE",
        status: str = "ACTIVE",
        tracking: dict[str, str] | None = TAGS,
        **extra: Any,
    ) -> dict[str, Any]:
        link: dict[str, Any] = {
            "slug": slug,
            "destinationUrl": f"https://gharart.example/{slug}?v=1",
            "title": "Control",
            "enabled": True,
        }
        if tracking is not None:
            link["tracking"] = dict(tracking)
        body = {
            "campaignId": campaign_id,
            "goalType": goal,
            "status": status,
            "name": "Spring buyer funnel",
            "primaryLink": link,
            "leadVerification": {"mode": "NONE"},
        }
        body.update(extra)
        return body

    def campaign(self, campaign_id: str = "spring-ab", slug: str = "spring-a", **kwargs: Any) -> dict[str, Any]:
        response = self.post("/v2/handles/{h}/campaigns", json=self.campaign_body(campaign_id, slug, **kwargs))
        assert response.status_code == 201, response.text
        return response.json()

    def link(
        self, slug: str, campaign_id: str | None = None, tracking: dict[str, str] | None = TAGS, enabled: bool = True
    ) -> httpx.Response:
        body: dict[str, Any] = {"destinationUrl": f"https://gharart.example/{slug}", "enabled": enabled}
        if tracking is not None:
            body["tracking"] = dict(tracking)
        if campaign_id is not None:
            body["campaignId"] = campaign_id
        response = self.put(f"/v2/handles/{{h}}/links/{slug}", json=body)
        assert response.status_code in (200, 201), response.text
        return response

    def click(self, slug: str, handle: str | None = None) -> httpx.Response:
        return self.http.get(f"/_edge/redirect/{handle or self.handle}/{slug}")

    def ctx(self, slug: str) -> str:
        response = self.click(slug)
        assert response.status_code == 302, response.text
        token = ctx_of(response)
        assert token, response.headers["location"]
        return token

    def convert(self, ctx: str | None, key: str | None = "k-1", **body: Any) -> httpx.Response:
        if ctx is not None:
            body["ctx"] = ctx
        return self.post("/v2/public/conversions", token=None, key=key, json=body)

    def test_conversion(self, campaign_id: str = "spring-ab", **body: Any) -> httpx.Response:
        return self.post(f"/v2/handles/{{h}}/campaigns/{campaign_id}/test-conversion", json=body)

    def lead(
        self, ctx: str, email: str = "asha@example.com", campaign_id: str = "spring-ab", **extra: Any
    ) -> httpx.Response:
        body = {"campaignId": campaign_id, "email": email, "name": "Asha", "ctx": ctx, **extra}
        return self.post("/v2/public/handles/{h}/leads", token=None, json=body)

    def health(self, campaign_id: str = "spring-ab") -> dict[str, Any]:
        response = self.get(f"/v2/handles/{{h}}/campaigns/{campaign_id}/health")
        assert response.status_code == 200, response.text
        return response.json()

    def pat_health(self, campaign_id: str = "spring-ab") -> dict[str, Any]:
        response = self.get(f"/v2/public/handles/{{h}}/campaigns/{campaign_id}/health", token=self.pat)
        assert response.status_code == 200, response.text
        return response.json()


def checks_of(health: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in health["checks"]}


def eventually(observe: Callable[[], Any], done: Callable[[Any], bool], what: str, deadline: float = 60.0) -> Any:
    """What `observe` reads once `done` holds of it: the sandbox's own counts or log, read until they
    show the event (a loaded machine only makes it later), failing after a generous deadline."""
    until = time.monotonic() + deadline
    while True:
        seen = observe()
        if done(seen):
            return seen
        assert time.monotonic() < until, f"{what}: not within {deadline:.0f} s; last seen {seen!r}"
        time.sleep(0.02)
