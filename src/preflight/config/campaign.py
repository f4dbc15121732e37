"""A configured campaign and its variants: what the run creates, clicks and publishes."""

from __future__ import annotations

import copy
import difflib
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from preflight.config.base import (
    PAGE_SLUG_PATTERN,
    SLUG_PATTERN,
    SLUG_RULE,
    STEM_PATTERN,
    STEM_RULE,
    Strict,
    is_http_url,
    not_allowed,
)
from preflight.config.browser import CampaignExpect, DetailPageExpect, VariantExpect
from preflight.config.live import Audience, Flight, LiveIds


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


def has_required_email(node: Any) -> bool:
    """True when a page schema holds a field named email with required: true, at any depth."""
    if isinstance(node, dict):
        if node.get("name") == "email" and node.get("required") is True:
            return True
        return any(has_required_email(value) for value in node.values())
    if isinstance(node, list):
        return any(has_required_email(item) for item in node)
    return False


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
    expect: VariantExpect | None = Field(
        None, description="landing: {text, selector, lead_form}: what this variant's landing page shows"
    )

    @field_validator("destination_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not is_http_url(url):
            raise not_allowed("an http:// or https:// URL with a host, e.g. https://gharart.example/spring?v=a")
        return url

    def __repr__(self) -> str:
        # A test's parameter: allure-pytest hashes its repr into the history id of every test (twice a
        # test), and pydantic's full repr of the whole config cost ~0.1 ms a test and broke the history
        # at each change of an unrelated field. The slug is what names the variant.
        return f"VariantConfig(slug={self.slug!r})"


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
    currency: str = Field(
        "INR", pattern=r"^[A-Z]{3}$", description="a three-letter currency code in capitals, e.g. INR"
    )
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
    # What the audit reads of the live campaign (preflight audit); the lifecycle run ignores these.
    live: LiveIds | None = Field(None, description="campaignId and slugs of the live campaign, where they differ")
    flight: Flight | None = Field(None, description="start and end of the ad flight (RFC 3339 times with a zone)")
    expected_clicks: int | None = Field(
        None, ge=1, le=10**12, description="a whole number of clicks the flight should bring, 1 or more"
    )
    audiences: list[Audience] = Field(
        default_factory=list, description="a list of audiences, each {name, country, device, source, campaign}"
    )
    expect: CampaignExpect | None = Field(
        None, description="detail_page: {content}: what the published detail page holds back behind its gate"
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

    @field_validator("live")
    @classmethod
    def _live_slugs_name_variants(cls, live: LiveIds | None, info: ValidationInfo) -> LiveIds | None:
        # Field order matters: variants are validated before live.
        variants = [v.slug for v in info.data.get("variants") or []]
        unknown = [slug for slug in (live.slugs if live else {}) if variants and slug not in variants]
        if unknown:
            guess = difflib.get_close_matches(unknown[0], variants, n=1)
            hint = f" ({unknown[0]!r} is not one{f'; did you mean {guess[0]!r}?' if guess else ''})"
            raise not_allowed(f"live.slugs keyed by this campaign's variant slugs: {', '.join(variants)}{hint}")
        return live

    def __repr__(self) -> str:
        # A test's parameter (see VariantConfig.__repr__): its id names it.
        return f"CampaignConfig(campaignId={self.stem!r})"

    @property
    def live_campaign_id(self) -> str:
        """The live campaign's id: `live.campaignId`, else the configured one."""
        return (self.live.campaign_id if self.live else None) or self.stem

    def live_slug(self, slug: str) -> str:
        """A variant's live slug: `live.slugs[slug]`, else the configured one."""
        return (self.live.slugs.get(slug) if self.live else None) or slug

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
    def detail_page_expect(self) -> DetailPageExpect:
        return self.expect.detail_page if self.expect else DetailPageExpect()

    @property
    def event_type(self) -> str:
        return self.conversion.event_type or DEFAULT_EVENT_TYPES[self.goal_type]

    def variant(self, slug: str) -> VariantConfig:
        for variant in self.variants:
            if variant.slug == slug:
                return variant
        raise KeyError(slug)
