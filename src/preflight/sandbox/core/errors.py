"""Flat error bodies: `{"error", "message", "requestId", …extra}`, plus `fields` for validation.

Routes raise ApiError; the app's exception handlers turn it (and FastAPI's own validation,
404 and 405 errors) into the same flat shape, so no answer ever has FastAPI's default form.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import Response


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer. Extra keys (`reason`, `requiredRole`, quota details…) may follow."""

    model_config = ConfigDict(extra="allow")

    error: str
    message: str
    requestId: str
    fields: list[FieldError] | None = None
    reason: str | None = None


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(400, "validation_error", f"{field}: {message}", fields=[{"field": field, "message": message}])


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def error_body(request_id: str, code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message, "requestId": request_id}
    body.update(extra)
    return body


def request_id_of(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id", "req_unknown")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer, serialised once with compact separators (cheaper than JSONResponse's path)."""
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(data, status_code=status, headers=headers, media_type="application/json")


def api_error_response(request: Request, err: ApiError) -> Response:
    body = error_body(request_id_of(request), err.code, err.message, **err.extra)
    return json_response(body, err.status, err.headers)


# Named answers for the OpenAPI document: every route declares the errors it can give.
_DESCRIPTIONS = {
    400: "Invalid input (`validation_error`, `invalid_ctx`, …)",
    401: "Missing, invalid or expired credential",
    403: "No role, scope or access",
    404: "Not found",
    409: "Conflict or idempotency key in flight",
    413: "Body over 1 MiB",
    422: "Idempotency key reused with a different body",
    429: "Throttled or daily quota used up",
    500: "Internal error",
    503: "Service unavailable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]} for s in statuses}


READ_ERRORS = (400, 401, 403, 404, 429, 503)
WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429, 503)
