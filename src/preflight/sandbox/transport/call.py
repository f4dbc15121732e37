"""What the sandbox knows about one request: its id, route class, caller, body, and the campaign
and slug it is about (for the faults limited to one of them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from preflight.sandbox.core import ctx as ctx_tokens
from preflight.sandbox.core.ids import request_id
from preflight.sandbox.faults import collect_hits

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DOC_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
HEALTH_PATH = "/v2/system/health"


class Call:
    """What the middleware knows about one request."""

    __slots__ = (
        "rid",
        "method",
        "path",
        "headers",
        "query",
        "status",
        "extra",
        "exempt",
        "parsed",
        "body",
        "raw_send",
        "hits",
        "_targets",
    )

    def __init__(self, scope: dict[str, Any]) -> None:
        self.rid = request_id()
        scope.setdefault("state", {})["request_id"] = self.rid
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.query: bytes = scope.get("query_string", b"")
        self.status: int | None = None  # None: nothing answered (yet); 0: held, never answered
        self.extra: list[tuple[bytes, bytes]] = [(b"x-request-id", self.rid.encode())]
        self.parsed: Any = None
        self.body = b""
        self.raw_send: Any = None  # the server's own send(), under any reshaping
        self.hits: list[str] = collect_hits()  # the faults that hit this request, for the request log
        self._targets: tuple[str | None, str | None] | None = None
        path = self.path
        # The customer's landing pages (/_site/) are not the platform: no throttle, no transport fault.
        self.exempt = (
            path.startswith(("/__sandbox", "/_site/"))
            or path in DOC_PATHS
            or (path == HEALTH_PATH and self.method in ("GET", "HEAD"))
        )

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def route_class(self) -> str:
        if self.path.startswith(("/v2/public/", "/_edge/")):
            return "public"
        return "write" if self.is_write else "read"

    def caller(self, scope: dict[str, Any]) -> str:
        credential = self.headers.get("authorization") or self.headers.get("x-api-key")
        if credential:
            return credential
        client = scope.get("client")
        return f"ip:{client[0]}" if client else "ip:unknown"

    def targets(self, rt: Runtime) -> tuple[str | None, str | None]:
        """The campaign and slug this request is about, for the faults limited to one of them;
        (None, None) without a lookup while no switched-on fault is limited."""
        if not any("campaignId" in o or "slug" in o for o in rt.faults.active.values()):
            return None, None
        if self._targets is None:
            self._targets = _targets(rt, self)
        return self._targets


def _targets(rt: Runtime, call: Call) -> tuple[str | None, str | None]:
    campaign: str | None = None
    slug: str | None = None
    parts = call.path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "campaigns":
            campaign = parts[i + 1]
        elif part == "links":
            slug = parts[i + 1]
    if call.path.startswith("/_edge/redirect/") and len(parts) >= 5:
        slug = parts[4]
        campaign = rt.db.scalar("SELECT campaign_id FROM links WHERE handle = ? AND slug = ?", (parts[3], slug))
    sources = [{k: v[0] for k, v in parse_qs(call.query.decode("latin-1")).items()}]
    if isinstance(call.parsed, dict):
        sources.append(call.parsed)
    for source in sources:
        if campaign is None and isinstance(source.get("campaignId"), str):
            campaign = source["campaignId"]
        if slug is None and isinstance(source.get("slug"), str):
            slug = source["slug"]
        token = source.get("ctx")
        if isinstance(token, str):
            click = ctx_tokens.peek(token)
            if click is not None:
                campaign = campaign or click.campaign_id
                slug = slug or click.slug
    return campaign, slug
