"""The shape of `config/preflight.yaml` and `config/targets/*.yaml`, as pydantic models.

API fields keep the contract's camelCase names as YAML keys (aliases); harness-only
settings are snake_case. Every model refuses unknown keys, because in a hand-edited file
an unknown key is almost always a typo that would otherwise be silently ignored.

Field descriptions are written for the person editing the YAML: `errors.py` prints them
as the "allowed" part of a problem line.
"""

from __future__ import annotations

import copy
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from preflight.core.routes import CLICK_URL_PLACEHOLDERS, ROUTES

# The run names things pf-<runId>-<stem> and <slug>-xxxxxx, so the configured parts are
# shorter than the platform's limits (campaignId 64, slug 24).
STEM_PATTERN = r"^[a-z0-9][a-z0-9-]{2,29}$"
STEM_RULE = (
    "3-30 lowercase letters, digits or '-', starting with a letter or digit "
    "(30 at most because the run prefixes 'pf-<runId>-' and the platform allows 64)"
)
SLUG_PATTERN = r"^[A-Za-z0-9_-]{4,17}$"
SLUG_RULE = (
    "4-17 letters, digits, '-' or '_' "
    "(17 at most because the run appends '-xxxxxx' and the platform allows 24)"
)
HANDLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
PAGE_SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
DOMAIN_PATTERN = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
JWT_PATTERN = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
PAT_PATTERN = re.compile(r"^patv1_[A-Za-z0-9]+\.[A-Za-z0-9_-]+$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
DEFAULT_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "request-id")


class GoalType(StrEnum):
    PRODUCT_SALE = "PRODUCT_SALE"
    LEAD_CAPTURE = "LEAD_CAPTURE"
    NEWSLETTER = "NEWSLETTER"
    AFFILIATE_CLICKOUT = "AFFILIATE_CLICKOUT"
    APP_INSTALL = "APP_INSTALL"


class LeadVerification(StrEnum):
    NONE = "NONE"
    EMAIL_OTP = "EMAIL_OTP"
    EMAIL_REPLY_YES = "EMAIL_REPLY_YES"


class AccessMode(StrEnum):
    PUBLIC = "PUBLIC"
    FREE_WITH_LOGIN = "FREE_WITH_LOGIN"
    PAID = "PAID"


class Plan(StrEnum):
    FREE = "FREE"
    PRO = "PRO"
    ENTERPRISE = "ENTERPRISE"


class Role(StrEnum):
    CREATOR = "CREATOR"
    OPERATOR = "OPERATOR"
    OWNER = "OWNER"


# The contract: a public conversion without eventType gets its goal's default event.
DEFAULT_EVENT_TYPES = {
    GoalType.PRODUCT_SALE: "purchase",
    GoalType.LEAD_CAPTURE: "lead",
    GoalType.NEWSLETTER: "newsletter_signup",
    GoalType.AFFILIATE_CLICKOUT: "affiliate_click",
    GoalType.APP_INSTALL: "app_install",
}

LEAD_FORM_SCHEMA = {
    "sections": [
        {
            "type": "form",
            "formId": "lead",
            "fields": [
                {"name": "email", "type": "email", "required": True},
                {"name": "name", "type": "text", "required": False},
            ],
        }
    ]
}
OFFER_PAGE_SCHEMA = {
    "sections": [
        {"type": "hero", "heading": "Campaign preflight", "body": "A page published by the preflight run."},
        {"type": "offer", "heading": "The offer", "cta": {"label": "Continue"}},
    ]
}


def not_allowed(allowed: str) -> PydanticCustomError:
    """A validation error whose message is what *is* allowed; errors.py adds the bad value."""
    return PydanticCustomError("not_allowed", "{allowed}", {"allowed": allowed})


def required_here(allowed: str) -> PydanticCustomError:
    """A key that is optional in general but required in this context (e.g. for a remote target)."""
    return PydanticCustomError("required_here", "{allowed}", {"allowed": allowed})


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)


def has_required_email(node: Any) -> bool:
    """True when a page schema holds a field named email with required: true, at any depth."""
    if isinstance(node, dict):
        if node.get("name") == "email" and node.get("required") is True:
            return True
        return any(has_required_email(value) for value in node.values())
    if isinstance(node, list):
        return any(has_required_email(item) for item in node)
    return False


class Strict(BaseModel):
    # Unknown keys are refused: errors.py turns them into "did you mean" lines.
    model_config = ConfigDict(extra="forbid")

    def __getattr__(self, name: str) -> Any:
        # The contract's camelCase names (goalType, detailPage, ...) read as well as the
        # snake_case field names, so step code can use whichever the contract shows.
        for field, info in type(self).model_fields.items():
            if info.alias == name:
                return getattr(self, field)
        return super().__getattr__(name)  # type: ignore[misc]


# --- campaigns ------------------------------------------------------------------------


class TrackingConfig(Strict):
    """UTM tags. Missing tags are allowed here: the run must see health flag them."""

    utm_source: str | None = Field(None, alias="utmSource", min_length=1, description="text, e.g. meta")
    utm_medium: str | None = Field(None, alias="utmMedium", min_length=1, description="text, e.g. paid_social")
    utm_campaign: str | None = Field(None, alias="utmCampaign", min_length=1, description="text, e.g. spring")

    def tags(self) -> dict[str, str]:
        """The tags that have a value, keyed by their contract names."""
        return {
            info.alias or name: value
            for name, info in type(self).model_fields.items()
            if (value := getattr(self, name)) is not None
        }


class VariantConfig(Strict):
    """One A/B variant: one link bound to the campaign, named by its slug."""

    slug: str = Field(pattern=SLUG_PATTERN, description=SLUG_RULE)
    destination_url: str = Field(alias="destinationUrl", description="an http:// or https:// URL with a host")
    title: str | None = Field(None, min_length=1, max_length=200, description="text, at most 200 characters")
    tracking: TrackingConfig | None = Field(
        None, description="utmSource, utmMedium, utmCampaign: each overrides the campaign's tag"
    )

    @field_validator("destination_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not is_http_url(url):
            raise not_allowed("an http:// or https:// URL with a host, e.g. https://gharart.example/spring?v=a")
        return url


class DetailPageConfig(Strict):
    """The campaign detail page (site structure) the run saves and publishes."""

    details_page_slug: str = Field(
        alias="detailsPageSlug",
        pattern=PAGE_SLUG_PATTERN,
        description="1-64 letters, digits, '-' or '_', starting with a letter or digit",
    )
    access_mode: AccessMode = Field(alias="accessMode")
    structure_type: str = Field("LANDING", alias="structureType", min_length=1, description="text, e.g. LANDING")
    page_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="a non-empty mapping (leave it out to publish a default page)"
    )

    @field_validator("page_schema")
    @classmethod
    def _not_empty(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        # The platform refuses to publish an empty schema (400 validation_error).
        if schema is not None and not schema:
            raise not_allowed("a non-empty mapping, or leave schema out to publish a default page")
        return schema

    def schema_or_default(self, goal_type: GoalType | str) -> dict[str, Any]:
        """The configured schema, else a lead form (LEAD_CAPTURE) or a hero + offer page."""
        if self.page_schema is not None:
            return copy.deepcopy(self.page_schema)
        default = LEAD_FORM_SCHEMA if goal_type == GoalType.LEAD_CAPTURE else OFFER_PAGE_SCHEMA
        return copy.deepcopy(default)


class ConversionConfig(Strict):
    value: float = Field(0, ge=0, description="a number, 0 or more")
    currency: str = Field("INR", pattern=r"^[A-Z]{3}$", description="a three-letter currency code in capitals, e.g. INR")
    event_type: str | None = Field(
        None,
        alias="eventType",
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="lowercase letters, digits or '_', e.g. purchase (leave it out for the goal's default)",
    )


class CampaignConfig(Strict):
    # Field order matters: detail_page's validator reads goal_type.
    stem: str = Field(alias="campaignId", pattern=STEM_PATTERN, description=STEM_RULE)
    goal_type: GoalType = Field(alias="goalType")
    name: str = Field(min_length=1, max_length=200, description="text, at most 200 characters")
    lead_verification: LeadVerification = Field(LeadVerification.NONE, alias="leadVerification")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description="utmSource, utmMedium, utmCampaign")
    variants: list[VariantConfig] = Field(min_length=1, description="a list of at least one variant")
    detail_page: DetailPageConfig = Field(
        alias="detailPage", description="detailsPageSlug, accessMode, structureType and an optional schema"
    )
    conversion: ConversionConfig = Field(
        default_factory=ConversionConfig, description="value, currency and an optional eventType"
    )

    @field_validator("detail_page")
    @classmethod
    def _lead_form(cls, page: DetailPageConfig, info: ValidationInfo) -> DetailPageConfig:
        # The run checks that a LEAD_CAPTURE page holds a required email field; a custom
        # schema without one would show up as a platform failure instead of a config one.
        is_lead = info.data.get("goal_type") == GoalType.LEAD_CAPTURE
        if is_lead and page.page_schema is not None and not has_required_email(page.page_schema):
            raise not_allowed(
                "for LEAD_CAPTURE, a schema holding a field {name: email, required: true} "
                "(or leave schema out to publish the default lead form)"
            )
        return page

    def variant_tracking(self, variant: VariantConfig) -> dict[str, str]:
        """The campaign's tags with the variant's own merged over them (only tags that have a value).

        A variant key set to null drops the campaign's tag for that variant, which is how a
        run rehearses a link with a missing tag.
        """
        tags = self.tracking.tags()
        override = variant.tracking
        for name in override.model_fields_set if override else ():
            alias = TrackingConfig.model_fields[name].alias or name
            value = getattr(override, name)
            if value is None:
                tags.pop(alias, None)
            else:
                tags[alias] = value
        order = [info.alias for info in TrackingConfig.model_fields.values()]
        return {key: tags[key] for key in order if key in tags}

    @property
    def event_type(self) -> str:
        return self.conversion.event_type or DEFAULT_EVENT_TYPES[self.goal_type]

    def variant(self, slug: str) -> VariantConfig:
        for variant in self.variants:
            if variant.slug == slug:
                return variant
        raise KeyError(slug)


# --- targets --------------------------------------------------------------------------


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
    **{name: (str | None, Field(None, description=f"a path template like {route.template}")) for name, route in ROUTES.items()},
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
    sandbox: SandboxSettings | None = Field(None, validate_default=True,
                                            description="ctx_ttl_seconds, writes_per_day, faults")
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

    def click_url_for(self, slug: str) -> str:
        if "{base_url}" in self.click_url and not self.base_url:
            raise ValueError(f"target {self.name}: click_url needs base_url, which is not known yet")
        values = {"base_url": self.base_url or "", "handle": self.handle, "slug": slug}
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], self.click_url)



# --- the run --------------------------------------------------------------------------


class RetrySettings(Strict):
    attempts: int = Field(8, ge=1, le=50, description="a whole number, 1-50")
    backoff_seconds: float = Field(0.1, ge=0, le=60, description="seconds, 0-60")
    max_wait_seconds: float = Field(5, gt=0, le=600, description="seconds, more than 0 and at most 600")


class PacingSettings(Strict):
    """Per route class: the ceiling (default: rate_limit_per_second) and how the target's own
    RateLimit headers tighten it (see preflight.http.pacing)."""

    read: float | None = Field(None, gt=0, description="requests per second, more than 0")
    write: float | None = Field(None, gt=0, description="requests per second, more than 0")
    public: float | None = Field(None, gt=0, description="requests per second, more than 0")
    from_headers: bool = Field(True, description="true or false")
    # (gap) the contract sends no RateLimit-Policy: a window too long only slows the run, too short gets 429s.
    window_seconds: float = Field(60, gt=0, le=86400, description="seconds, more than 0 and at most 86400")


class RunSettings(Strict):
    timeout_seconds: float = Field(10, gt=0, le=300, description="seconds per request, more than 0 and at most 300")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="attempts, backoff_seconds, max_wait_seconds")
    rate_limit_per_second: float = Field(100, gt=0, description="requests per second, more than 0")
    pacing: PacingSettings = Field(default_factory=PacingSettings,
                                   description="read, write, public, from_headers, window_seconds")
    publish_via: Literal["pat", "jwt"] = "pat"
    peak_windows: list[PeakWindow] = Field(
        default_factory=list, description="a list of windows, each {name, days, from, to, tz}"
    )


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


DAY_NAMES = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
             "saturday": "sat", "sunday": "sun"}
TIME_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
TIME_RULE = 'a time "HH:MM" in quotes, 00:00-23:59, e.g. "18:00"'


class PeakWindow(Strict):
    """A time of the week the platform is busiest (a sale's evenings): a run that writes does
    not start inside one without --allow-peak (see preflight.ops.peak)."""

    name: str = Field(min_length=1, max_length=80, description="text naming the window, e.g. diwali evenings")
    days: list[Weekday] = Field(
        default_factory=lambda: list(Weekday), min_length=1,
        description="the days the window starts on, e.g. [fri, sat, sun] (default every day)",
    )
    start: str = Field(alias="from", description=TIME_RULE)
    end: str = Field(alias="to", description=TIME_RULE + ' (or "24:00"); at or before from: it ends the next day')
    tz: str = Field(description="an IANA time zone name, e.g. Asia/Kolkata")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> Any:
        rule = TIME_RULE + (' (or "24:00")' if info.field_name == "end" else "")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
            # YAML 1.1 reads an unquoted 18:00 as the base-60 number 1080.
            hours, minutes = divmod(value, 60)
            raise not_allowed(f"{rule}; YAML read an unquoted {hours}:{minutes:02d} as a number: "
                              f'write "{hours:02d}:{minutes:02d}"')
        midnight = info.field_name == "end" and value == "24:00"
        if not isinstance(value, str) or not (TIME_PATTERN.match(value) or midnight):
            raise not_allowed(rule)
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _day_names(cls, days: Any) -> Any:
        # Fri, FRI and friday all mean fri.
        if not isinstance(days, list):
            return days
        return [DAY_NAMES.get(d.lower(), d.lower()) if isinstance(d, str) else d for d in days]

    @field_validator("days")
    @classmethod
    def _once_each(cls, days: list[Weekday]) -> list[Weekday]:
        return sorted(set(days), key=list(Weekday).index)

    @field_validator("tz")
    @classmethod
    def _zone(cls, zone: str) -> str:
        from zoneinfo import available_timezones

        from preflight.config.errors import did_you_mean

        names = available_timezones()
        if zone not in names:
            if zone.isalpha() and len(zone) <= 5:  # IST, CET: an abbreviation names no single place
                hint = f"; {zone} is an abbreviation: name the region's zone"
            else:
                guess = did_you_mean(zone, names) or did_you_mean(zone.replace(" ", "_"), names)
                hint = f"; did you mean {guess!r}?" if guess else ""
            raise not_allowed(f"an IANA time zone name, e.g. Asia/Kolkata, Europe/London, UTC{hint}")
        return zone

    @model_validator(mode="after")
    def _not_empty(self) -> "PeakWindow":
        if self.start == self.end:
            raise not_allowed(f"from and to differ (both are {self.start}); "
                              'for a whole day, from: "00:00" to: "24:00"')
        return self


# RunSettings names PeakWindow before it is defined: resolve it now, so the error messages can
# walk the models down to a window's keys and days.
RunSettings.model_rebuild(force=True)


class FakeDataSettings(Strict):
    seed: int = Field(20261127, description="a whole number")
    email_domain: str = Field("example.com", pattern=DOMAIN_PATTERN, description="a domain name, e.g. example.com")


class Expectations(Strict):
    health_verdict: Literal["PASS", "WARN"] = "PASS"
    min_score: int = Field(100, ge=0, le=100, description="a whole number, 0-100")
    # UC-07 step 5 promises FREE_WITH_LOGIN; a campaign's detailPage.accessMode is what the run
    # publishes, so setting that to PUBLIC rehearses the publish_access_mode finding.
    access_mode: Literal[AccessMode.FREE_WITH_LOGIN] = AccessMode.FREE_WITH_LOGIN


class Duplicate(NamedTuple):
    loc: tuple[str | int, ...]
    value: str
    first_loc: tuple[str | int, ...]
    what: str  # "campaignId" or "slug"


def find_duplicates(campaigns: Any) -> list[Duplicate]:
    """Repeated campaign stems and slugs across the whole file.

    Works on raw YAML data as well as on models, so the loader can report duplicates in
    the same pass as every other problem. Slugs compare case-insensitively, to be safe
    with a platform (or a browser) that folds case.
    """
    seen: dict[tuple[str, str], tuple[str | int, ...]] = {}
    found: list[Duplicate] = []

    def note(what: str, value: Any, loc: tuple[str | int, ...]) -> None:
        if not isinstance(value, str):
            return
        key = (what, value.lower() if what == "slug" else value)
        if key in seen:
            found.append(Duplicate(loc, value, seen[key], what))
        else:
            seen[key] = loc

    for i, campaign in enumerate(campaigns if isinstance(campaigns, list) else []):
        if not isinstance(campaign, dict):
            continue
        note("campaignId", campaign.get("campaignId"), ("campaigns", i, "campaignId"))
        variants = campaign.get("variants")
        for j, variant in enumerate(variants if isinstance(variants, list) else []):
            if isinstance(variant, dict):
                note("slug", variant.get("slug"), ("campaigns", i, "variants", j, "slug"))
    return found


class RunConfig(Strict):
    """One run: the resolved target plus what to create and what to expect."""

    target: TargetConfig
    run: RunSettings = Field(
        default_factory=RunSettings, description="timeout_seconds, retry, rate_limit_per_second, pacing, publish_via, peak_windows"
    )
    fake_data: FakeDataSettings = Field(default_factory=FakeDataSettings, description="seed, email_domain")
    expectations: Expectations = Field(
        default_factory=Expectations, description="health_verdict, min_score, access_mode"
    )
    campaigns: list[CampaignConfig] = Field(min_length=1, description="a list of at least one campaign")

    _source_path: Path | None = PrivateAttr(None)
    _shard: Any = PrivateAttr(None)  # a preflight.lifecycle.shard.Shard when the run is one shard of several

    @field_validator("campaigns")
    @classmethod
    def _unique(cls, campaigns: list[CampaignConfig], info: ValidationInfo) -> list[CampaignConfig]:
        # The loader checks the raw data itself (to report duplicates alongside every
        # other problem) and says so in the context; this guards direct construction.
        if (info.context or {}).get("duplicates_checked"):
            return campaigns
        duplicates = find_duplicates([c.model_dump(by_alias=True) for c in campaigns])
        if duplicates:
            raise ValueError("; ".join(f"{d.what} {d.value!r} is used more than once" for d in duplicates))
        return campaigns

    @property
    def source_path(self) -> Path | None:
        """The preflight YAML this run was loaded from (None when built in code)."""
        return self._source_path

    def on_shard(self, shard: Any) -> RunConfig:
        """A copy for one shard of the run (`--shard I/N`)."""
        sharded = self.model_copy()
        sharded._shard = shard
        return sharded

    @property
    def lenders(self) -> list[CampaignConfig]:
        """The campaigns that may lend a click to another's foreign-ctx check: the whole config,
        or on a shard that shard's own, so that no shard creates or retires another's campaign."""
        return [c for c in self.campaigns if self._shard is None or self._shard.holds(c.stem)]
