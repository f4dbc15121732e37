"""One HTTP exchange with the platform, as the harness records it.

Exchanges are stored already redacted: nothing downstream (Allure, gate, escalation
files) can leak a credential by forgetting to redact.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from preflight.core.redact import redact_headers, redact_obj, redact_text

# Surfaces the client can authenticate as; escalation curl commands use the env var.
CREDENTIAL_ENV = {"jwt": "$PREFLIGHT_JWT", "pat": "$PREFLIGHT_PAT"}


@dataclass
class Exchange:
    """One attempt of one request, as the reports show it: already redacted when built (no
    token can leak downstream by someone forgetting to redact), with the request id the target
    gave it, the parsed answer, `error_code` read from any of the error shapes the contract
    tolerates, and `curl()` to replay it with the credential as an environment variable."""

    method: str
    url: str
    path: str  # path template filled in, without the base URL or query
    surface: str  # "jwt", "pat" or "public"
    status: int | None  # None when no answer arrived (network error, timeout)
    duration_ms: float
    request_id: str | None
    request_headers: dict[str, str]
    request_body: Any
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None  # parsed JSON when possible, else text
    attempts: int = 1
    error: str | None = None  # network error text, when status is None
    step: str | None = None
    route: str | None = None  # the contract's route name (preflight.core.routes), None for a click

    @classmethod
    def build(
        cls,
        *,
        method: str,
        url: str,
        path: str,
        surface: str,
        status: int | None,
        duration_ms: float,
        request_id: str | None,
        request_headers,
        request_body: Any,
        response_headers=(),
        response_body: Any = None,
        attempts: int = 1,
        error: str | None = None,
        step: str | None = None,
        route: str | None = None,
    ) -> Exchange:
        return cls(
            method=method,
            url=redact_text(url),
            path=path,
            surface=surface,
            status=status,
            duration_ms=round(duration_ms, 1),
            request_id=request_id,
            request_headers=redact_headers(request_headers),
            request_body=redact_obj(request_body),
            response_headers=redact_headers(response_headers),
            response_body=redact_obj(response_body),
            attempts=attempts,
            error=redact_text(error) if error else None,
            step=step,
            route=route,
        )

    @property
    def error_code(self) -> str | None:
        """The error code of a flat, nested or RFC 9457 error body."""
        body = self.response_body
        if not isinstance(body, dict):
            return None
        err = body.get("error")
        if isinstance(err, str):
            return err
        if isinstance(err, dict) and isinstance(err.get("code"), str):
            return err["code"]
        code = body.get("code")
        return code if isinstance(code, str) else None

    def body_field(self, name: str) -> Any:
        """A field of the answer, also looked up inside a nested error object."""
        body = self.response_body
        if not isinstance(body, dict):
            return None
        if name in body:
            return body[name]
        err = body.get("error")
        return err.get(name) if isinstance(err, dict) else None

    @property
    def label(self) -> str:
        status = self.status if self.status is not None else "no answer"
        return f"{self.method} {self.path} -> {status} (request {self.request_id or 'n/a'})"

    def body_excerpt(self, limit: int = 600) -> str:
        body = self.response_body
        text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
        return text if len(text) <= limit else text[:limit] + "…"

    def curl(self) -> str:
        """A curl command replaying this exchange, credentials as env-var references."""
        parts = ["curl", "-sS", "-i", "-X", self.method]
        for name, value in self.request_headers.items():
            if name in ("content-length", "host", "accept-encoding", "connection", "user-agent"):
                continue
            if name == "authorization" and self.surface in CREDENTIAL_ENV:
                value = f"Bearer {CREDENTIAL_ENV[self.surface]}"
            elif name == "x-api-key" and self.surface in CREDENTIAL_ENV:
                value = CREDENTIAL_ENV[self.surface]
            parts += ["-H", f"{name}: {value}"]
        if self.request_body is not None:
            parts += ["--data", json.dumps(self.request_body, sort_keys=True)]
        parts.append(self.url)
        # Double quotes keep $PREFLIGHT_JWT expandable; everything else is quoted safely.
        return " ".join(_quote(p) for p in parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quote(part: str) -> str:
    if "$PREFLIGHT_" in part:
        return '"' + part.replace('"', '\\"') + '"'
    return shlex.quote(part)
