"""create_app(settings): the FastAPI app with every router, wrapped in the sandbox middleware."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from preflight.sandbox.analytics.routes import router as analytics_router
from preflight.sandbox.campaigns.routes import router as campaigns_router
from preflight.sandbox.clicks.routes import router as clicks_router
from preflight.sandbox.control.routes import router as control_router
from preflight.sandbox.conversions.routes import router as conversions_router
from preflight.sandbox.core.auth import SECURITY_SCHEMES, openapi_security
from preflight.sandbox.core.errors import ApiError, api_error_response, error_body, json_response, request_id_of
from preflight.sandbox.domains.routes import router as domains_router
from preflight.sandbox.health.routes import router as health_router
from preflight.sandbox.leads.routes import router as leads_router
from preflight.sandbox.links.routes import router as links_router
from preflight.sandbox.middleware import SandboxMiddleware
from preflight.sandbox.pats.routes import router as pats_router
from preflight.sandbox.personalization.routes import router as personalization_router
from preflight.sandbox.runtime import Runtime
from preflight.sandbox.settings import Settings
from preflight.sandbox.site.routes import router as site_router
from preflight.sandbox.sitestructure.routes import router as sitestructure_router
from preflight.sandbox.support.routes import router as support_router
from preflight.sandbox.system.routes import router as system_router
from preflight.sandbox.usage.routes import router as usage_router

ROUTERS = (
    system_router,
    campaigns_router,
    links_router,
    health_router,
    clicks_router,
    conversions_router,
    leads_router,
    sitestructure_router,
    support_router,
    usage_router,
    pats_router,
    personalization_router,
    domains_router,
    analytics_router,
    control_router,
    site_router,
)

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "payload_too_large"}


def _field_name(loc: tuple[Any, ...]) -> str:
    where, *rest = loc or ("body",)
    if where == "body":
        return ".".join(str(part) for part in rest) or "body"
    return ".".join(str(part) for part in rest) or str(where)


def _field_message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return "malformed JSON: " + str(error.get("ctx", {}).get("error", "cannot parse"))
    if tuple(error.get("loc", ())) == ("body",):
        if error.get("type") == "missing":
            return "a JSON object body is required"
        return "the body must be a JSON object (Content-Type: application/json)"
    return str(error.get("msg", "invalid"))


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    fields = []
    for error in exc.errors():
        field = "body" if error.get("type") == "json_invalid" else _field_name(tuple(error.get("loc", ())))
        fields.append({"field": field, "message": _field_message(error)})
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return json_response(error_body(request_id_of(request), "validation_error", summary, fields=fields), 400)


async def on_api_error(request: Request, exc: ApiError) -> Response:
    return api_error_response(request, exc)


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = {
        404: f"no route {request.method} {request.url.path}",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return json_response(error_body(request_id_of(request), code, message), exc.status_code, headers)


def _allowed_methods(request: Request) -> list[str]:
    """Starlette's Allow names only the first route of the path; name every one."""
    methods: set[str] = set()
    for regex, route_methods in request.app.state.route_methods:
        if regex.match(request.url.path):
            methods |= route_methods
    return sorted(methods)


def _route_methods() -> list[tuple[Any, set[str]]]:
    table = []
    for router in ROUTERS:
        for route in router.routes:
            if getattr(route, "methods", None):
                table.append((compile_path(route.path)[0], set(route.methods)))
    return table


def _openapi(app: FastAPI):
    """FastAPI's document, less its default 422 HTTPValidationError: validation answers 400."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, ops in schema.get("paths", {}).items():
                for op in ops.values():
                    security = openapi_security(path)
                    if security:
                        op["security"] = security
                    default = op.get("responses", {}).get("422")
                    if default is not None and "HTTPValidationError" in json.dumps(default):
                        del op["responses"]["422"]
                        op["responses"].setdefault(
                            "400",
                            {
                                "description": "Invalid input (validation_error)",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                            },
                        )
            components = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    return build


async def on_crash(request: Request, exc: Exception) -> Response:
    return json_response(
        error_body(request_id_of(request), "internal_error", f"the sandbox failed: {type(exc).__name__}"), 500
    )


def create_app(settings: Settings) -> SandboxMiddleware:
    """The ASGI app to serve: `.app` is the FastAPI app, `.rt` the runtime."""
    rt = Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        rt.close()

    app = FastAPI(
        title="10xDotIn campaign API v2 (preflight sandbox)",
        version="2.0.0-sandbox",
        description="A local imitation of the campaign API contract "
        "(docs/contract.md), with /__sandbox/ control routes.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        strict_content_type=False,
    )
    app.state.rt = rt
    app.state.route_methods = _route_methods()
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return SandboxMiddleware(app, rt)
