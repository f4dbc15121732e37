"""A target: where a run goes (the embedded sandbox, an attached one, or the real platform), with
its credentials and the contract's (gap) points as that deployment fills them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationInfo, create_model, field_validator

from preflight.config.base import (
    DEFAULT_REQUEST_ID_HEADERS,
    HANDLE_PATTERN,
    JWT_PATTERN,
    PAT_PATTERN,
    PLACEHOLDER,
    Strict,
    is_http_url,
    not_allowed,
    placeholders,
    required_here,
)
from preflight.core.routes import CLICK_URL_PLACEHOLDERS, ROUTES


class Plan(StrEnum):
    FREE = "FREE"
    PRO = "PRO"
    ENTERPRISE = "ENTERPRISE"


class Role(StrEnum):
    CREATOR = "CREATOR"
    OPERATOR = "OPERATOR"
    OWNER = "OWNER"


class CredentialsConfig(Strict):
    """Tokens for a remote target. SecretStr keeps them out of repr and dumps."""

    jwt: SecretStr = Field(description="a JWT (eyJ...), usually ${PREFLIGHT_JWT}")
    pat: SecretStr = Field(description="a PAT like patv1_<tokenId>.<secret>, usually ${PREFLIGHT_PAT}")

    @field_validator("jwt")
    @classmethod
    def _jwt_shape(cls, token: SecretStr) -> SecretStr:
        value = token.get_secret_value()
        if not JWT_PATTERN.match(value):
            swapped = " (this looks like the PAT: swap the two)" if PAT_PATTERN.match(value) else ""
            raise not_allowed(f"a JWT: three dot-separated parts starting with eyJ{swapped}")
        return token

    @field_validator("pat")
    @classmethod
    def _pat_shape(cls, token: SecretStr) -> SecretStr:
        value = token.get_secret_value()
        if not PAT_PATTERN.match(value):
            swapped = " (this looks like the JWT: swap the two)" if JWT_PATTERN.match(value) else ""
            raise not_allowed(f"a PAT like patv1_<tokenId>.<secret>{swapped}")
        return token


class SandboxSettings(Strict):
    ctx_ttl_seconds: int = Field(1800, gt=0, le=86400, description="seconds a ctx stays valid, 1-86400")
    # A custom daily write quota for the target's plan (as a big customer's contract has), for
    # the embedded sandbox; an attached sandbox keeps the one it was started with.
    writes_per_day: int | None = Field(None, ge=1, le=10**9, description="a whole number of writes a day, 1 or more")
    # Faults to switch on before the run (GET /__sandbox/faults lists them): to rehearse
    # how the harness reports each way the platform breaks.
    faults: dict[str, dict[str, Any]] = Field(default_factory=dict, description="fault name: options")
    # The configured destinations are the customer's site, which a sandbox run cannot reach: the
    # throwaway links point at the sandbox's stand-in for it (GET /_site/{host}{path}) instead.
    map_destinations: bool = Field(
        True, description="true or false: point each throwaway link at the sandbox's own copy of its destination"
    )
    # The audit reads live campaigns: a sandbox target sets up the configured ones, healthy, before
    # an audit (through /__sandbox/, not the API); one that exists already is kept as it is.
    seed_live: bool = Field(True, description="true or false: set up the configured campaigns as the live ones")
    # The embedded sandbox's analytics lag (an attached one keeps the lag it was started with).
    analytics_lag_seconds: int = Field(
        0, ge=0, le=604800, description="seconds analytics lag behind (STALE), 0-604800 (default 0: FRESH)"
    )

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, faults: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from preflight.core.faults import CATALOGUE, FaultSpecError, validate

        try:
            validate(faults)  # the sandbox's own check: names, options and their ranges
        except FaultSpecError as exc:
            raise not_allowed(f"{exc}; fault names: {', '.join(sorted(CATALOGUE))}") from None
        return faults


NOT_FOR_ESCALATION = ("/v2/operator/escalations", "/v2/public/content-report")


class RouteOverridesBase(Strict):
    @field_validator("*")
    @classmethod
    def _keep_placeholders(cls, template: str | None, info: ValidationInfo) -> str | None:
        # Suite code fills the original placeholders; a template that drops or adds one
        # could never be filled correctly.
        if template is None:
            return None
        original = ROUTES[info.field_name].template
        if info.field_name == "support_report" and template.startswith(NOT_FOR_ESCALATION):
            # UC-07: operator escalations and abuse reports are not the end-user escalation path.
            raise not_allowed(f"an end-user support path like {original}, never {' or '.join(NOT_FOR_ESCALATION)}")
        if not template.startswith("/") or placeholders(template) != placeholders(original):
            wanted = ", ".join(f"{{{name}}}" for name in sorted(placeholders(original))) or "no placeholders"
            raise not_allowed(f"a path starting with '/' that keeps exactly {wanted} (default {original})")
        return template


# One optional field per route name, so an unknown name is an unknown key with a "did you mean".
RouteOverrides = create_model(
    "RouteOverrides",
    __base__=RouteOverridesBase,
    **{
        name: (str | None, Field(None, description=f"a path template like {route.template}"))
        for name, route in ROUTES.items()
    },
)


class ContractConfig(Strict):
    """The contract's (gap) points: where a real deployment may differ from the sandbox."""

    request_id_headers: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")]] = Field(
        default_factory=lambda: list(DEFAULT_REQUEST_ID_HEADERS),
        min_length=1,
        description="a list of header names (letters, digits, '-'), checked in order",
    )
    idempotency_key_in: Literal["header", "body"] = "header"
    # (gap) whether the platform dedupes a second conversion of one click and event type
    click_event_dedupe: bool = True
    # (gap) how to follow a short link without recording a click: `prefetch` sends it as a browser
    # prefetch (Sec-Purpose: prefetch), which the sandbox does not count; `none` when the platform
    # documents no way (the doctor then does not click at all)
    click_preview: Literal["none", "prefetch"] = "none"
    # (gap) the published detail page's markup: what a visitor without a session sees instead of the content
    login_gate: str = Field("#login-gate", min_length=1, max_length=200, description="a CSS selector, e.g. #login-gate")
    route_templates: RouteOverrides = Field(  # type: ignore[valid-type]
        default_factory=RouteOverrides, alias="routes", description="route name: path template"
    )

    @field_validator("request_id_headers")
    @classmethod
    def _lowercase(cls, names: list[str]) -> list[str]:
        return [name.lower() for name in names]

    @property
    def routes(self) -> dict[str, str]:
        """Only the overridden templates, by route name (empty when the target keeps the contract's)."""
        return {name: value for name, value in self.route_templates.model_dump().items() if value is not None}


class TargetConfig(Strict):
    # Field order matters: the validators below read kind.
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="letters, digits, '.', '-' or '_'")
    kind: Literal["sandbox", "remote"]
    base_url: str | None = Field(None, validate_default=True, description="an http(s) URL, e.g. https://ai.10x.in")
    handle: str = Field(pattern=HANDLE_PATTERN, description="the platform handle, e.g. gharart")
    plan: Plan
    role: Role = Role.CREATOR
    click_url: str = Field(description="a URL template with {slug}, e.g. https://{handle}.10x.in/{slug}")
    credentials: CredentialsConfig | None = Field(None, validate_default=True, description="jwt and pat")
    sandbox: SandboxSettings | None = Field(
        None,
        validate_default=True,
        description="ctx_ttl_seconds, writes_per_day, faults, seed_live, analytics_lag_seconds",
    )
    contract: ContractConfig = Field(
        default_factory=ContractConfig, description="request_id_headers, idempotency_key_in, routes"
    )
    # Writes on anything but the embedded sandbox are opt-in (here or with --allow-writes).
    allow_writes: bool = Field(False, description="true or false: may a run write on this target")
    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str:
        """The target file as the user would type it, for messages that say where to fix something."""
        return self._source or f"the {self.name} target"

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if url is None and kind == "remote":
            raise required_here("a remote target needs base_url, e.g. https://ai.10x.in")
        if url is not None and not is_http_url(url):
            raise not_allowed("an http:// or https:// URL, e.g. https://ai.10x.in")
        return url.rstrip("/") if url else url

    @field_validator("click_url")
    @classmethod
    def _click_url(cls, template: str) -> str:
        names = placeholders(template)
        sample = PLACEHOLDER.sub("x", template)
        starts_ok = template.startswith("{base_url}") or is_http_url(sample)
        if "slug" not in names or not names <= set(CLICK_URL_PLACEHOLDERS) or not starts_ok:
            allowed = ", ".join(f"{{{name}}}" for name in CLICK_URL_PLACEHOLDERS)
            raise not_allowed(f"an http(s) URL template that contains {{slug}} and no placeholders but {allowed}")
        return template

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, credentials: CredentialsConfig | None, info: ValidationInfo) -> CredentialsConfig | None:
        kind = info.data.get("kind")
        if credentials is None and kind == "remote":
            raise required_here("a remote target needs credentials: {jwt: ${PREFLIGHT_JWT}, pat: ${PREFLIGHT_PAT}}")
        if credentials is not None and kind == "sandbox":
            raise not_allowed("nothing for a sandbox target: the run mints its own tokens")
        return credentials

    @field_validator("sandbox")
    @classmethod
    def _sandbox(cls, settings: SandboxSettings | None, info: ValidationInfo) -> SandboxSettings | None:
        kind = info.data.get("kind")
        if settings is not None and kind == "remote":
            raise not_allowed("nothing for a remote target (sandbox settings apply to kind: sandbox)")
        if settings is None and kind == "sandbox":
            return SandboxSettings()
        return settings

    def with_base_url(self, base_url: str) -> TargetConfig:
        """A copy pointing at a started sandbox (whose URL is only known at run time)."""
        return self.model_copy(update={"base_url": base_url.rstrip("/")})

    def landing_url(self, destination: str) -> str:
        """Where a configured destination lands in this run. On a sandbox target (unless
        `sandbox.map_destinations: false`), the sandbox's own copy of the customer's page,
        `{base_url}/_site/{host}{path}?{query}`, so a browser can follow the shopper all the way;
        anywhere else, and on a remote target always, the destination itself."""
        if self.kind != "sandbox" or not self.base_url or self.sandbox is None or not self.sandbox.map_destinations:
            return destination
        parts = urlsplit(destination)
        if destination.startswith(self.base_url + "/"):
            return destination  # already the sandbox's own page
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url}/_site/{parts.netloc}{parts.path or '/'}{query}"

    def click_url_for(self, slug: str) -> str:
        if "{base_url}" in self.click_url and not self.base_url:
            raise ValueError(f"target {self.name}: click_url needs base_url, which is not known yet")
        values = {"base_url": self.base_url or "", "handle": self.handle, "slug": slug}
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], self.click_url)
