"""The shopper's journey in a real browser (`browser:` in the run YAML): whether it runs, the viewports,
what a page must show, and what the browser blocks so a preflight visit never counts as a real one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from preflight.config.base import DOMAIN_PATTERN, Strict, not_allowed

# Ad and analytics hosts (and their subdomains) a preflight visit must not reach: their pixels and tag
# managers would count the visit as a real one in the customer's ad platforms.
DEFAULT_BLOCK_HOSTS = (
    "connect.facebook.net",  # Meta pixel (fbevents.js)
    "www.facebook.com",  # Meta pixel's image beacon (/tr)
    "www.googletagmanager.com",  # Google Tag Manager, gtag.js
    "google-analytics.com",  # Google Analytics (www., region1., ssl.)
    "analytics.google.com",
    "doubleclick.net",  # Google Ads conversion and remarketing (stats.g., googleads.g.)
    "www.googleadservices.com",
    "analytics.tiktok.com",  # TikTok pixel
    "analytics-sg.tiktok.com",
    "snap.licdn.com",  # LinkedIn insight tag
    "px.ads.linkedin.com",
    "bat.bing.com",  # Microsoft Ads UET
    "static.ads-twitter.com",  # X (Twitter) pixel
    "ct.pinterest.com",  # Pinterest tag
)
VIEWPORT_NAME = r"^[a-z][a-z0-9-]{0,19}$"
SELECTOR_RULE = "a CSS selector, e.g. form#lead"


class Viewport(Strict):
    """One screen the journey is walked on."""

    name: str = Field(pattern=VIEWPORT_NAME, description="1-20 lowercase letters, digits or '-', e.g. phone")
    width: int = Field(ge=240, le=3840, description="CSS pixels, 240-3840")
    height: int = Field(ge=240, le=4320, description="CSS pixels, 240-4320")
    mobile: bool = Field(False, description="true or false: a phone (touch, mobile User-Agent)")
    user_agent: str | None = Field(
        None,
        min_length=1,
        max_length=400,
        description="a User-Agent string (leave it out for the browser's own, mobile or desktop; the run "
        "appends user_agent_tag)",
    )


class VisualSettings(Strict):
    """The approved look of each landing page (`preflight approve`), held against each run's first screen."""

    enabled: bool = Field(
        True,
        description="true or false: take each landing page's first screen and compare it with its approved look "
        "(false: neither, and nothing to approve)",
    )
    baselines: str = Field(
        "baselines",
        min_length=1,
        max_length=300,
        pattern=r"^[^\x00]+$",
        description="a folder, relative to the config file: where `preflight approve` keeps the approved looks",
    )
    max_diff: float = Field(
        0.005,
        ge=0,
        le=0.5,
        description="a share of the first screen's pixels, 0-0.5 (0.005 is 0.5%): more changed is a finding",
    )
    threshold: float = Field(
        0.1,
        ge=0,
        le=1,
        description="0-1, how different a pixel's colour must be to count as changed (pixelmatch's; smaller is "
        "stricter)",
    )
    mask: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="CSS selectors of regions that change on every visit (a clock, a counter), painted over "
        "before the shot",
    )
    required: bool = Field(
        False,
        description="true or false: a variant with no approved look could not be judged (HOLD), rather than "
        "listed as not checked, by choice",
    )

    @field_validator("mask")
    @classmethod
    def _selectors(cls, mask: list[str]) -> list[str]:
        return _selectors(mask)

    def folder(self, config_dir: Path, target: str) -> Path:
        """Where a target's approved looks live: `<config dir>/<baselines>/<target>/`."""
        return (config_dir / self.baselines / target).resolve()


def visual_shorthand(value: Any) -> Any:
    """`visual: off` (or false) for `visual: {enabled: false}`."""
    if value is False or value == "off":
        return {"enabled": False}
    if value is True or value == "on":
        return {"enabled": True}
    return value


def _selectors(selectors: list[str]) -> list[str]:
    bad = [s for s in selectors if not isinstance(s, str) or not 0 < len(s.strip()) <= 200]
    if bad:
        raise not_allowed(f"{SELECTOR_RULE}, 1-200 characters each; {bad[0]!r} is not one")
    return [s.strip() for s in selectors]


DEFAULT_VIEWPORTS = (
    Viewport(name="phone", width=390, height=844, mobile=True),
    Viewport(name="desktop", width=1366, height=768),
)


class BrowserSettings(Strict):
    """The shopper's journey: each variant's click followed in headless Chromium on each viewport."""

    use: Literal["auto", "required", "off"] = Field(
        "auto",
        description="auto (run where a browser can, else skip the browser checks saying why), required (no "
        "browser is an ERROR) or off",
    )
    executable: str | None = Field(
        None,
        min_length=1,
        description="the path of a Chromium to drive (default: $PREFLIGHT_CHROMIUM, chromium on the PATH, "
        "else Playwright's own)",
    )
    viewports: list[Viewport] = Field(
        default_factory=lambda: [v.model_copy() for v in DEFAULT_VIEWPORTS],
        min_length=1,
        max_length=6,
        description="a list of 1-6 viewports, each {name, width, height, mobile}",
    )
    timeout_seconds: float = Field(
        30, gt=0, le=300, description="seconds a page may take to load, more than 0 and at most 300"
    )
    submit_lead: bool = Field(
        False,
        description="true or false: LEAD_CAPTURE: submit one lead from each variant's page (a public lead, not "
        "quota-counted) and find it in the review list",
    )
    lead_form: str = Field("form#lead", min_length=1, max_length=200, description=SELECTOR_RULE)
    fail_on_console_errors: bool = Field(
        False,
        description="true or false: a page's console errors and failed requests of its own assets fail the run "
        "(else they are recorded as findings)",
    )
    lcp_budget_ms: int | None = Field(
        None, ge=100, le=60000, description="milliseconds, 100-60000: the slowest Largest Contentful Paint accepted"
    )
    bridge_max_ms: int = Field(
        3000,
        ge=0,
        le=60000,
        description="milliseconds, 0-60000: the longest a click's bridge page may hold the shopper (shoppers leave)",
    )
    visual: VisualSettings = Field(
        default_factory=VisualSettings,
        description="enabled, baselines, max_diff, threshold, mask, required (or off)",
    )
    block_hosts: list[str] = Field(
        default_factory=lambda: list(DEFAULT_BLOCK_HOSTS),
        description="host names (each with its subdomains) the browser never contacts: ad and analytics pixels",
    )
    user_agent_tag: str = Field(
        "campaign-preflight",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,63}$",
        description="a product token appended to the User-Agent, so the visit identifies itself "
        "(letters, digits, '.', '_', '/', '+', '-')",
    )

    @field_validator("visual", mode="before")
    @classmethod
    def _visual_shorthand(cls, value: Any) -> Any:
        return visual_shorthand(value)

    @field_validator("use", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted off (or no) as false, and on (or yes) as true.
        return {False: "off", True: "auto"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("block_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        import re

        bad = [host for host in hosts if not isinstance(host, str) or not re.match(DOMAIN_PATTERN, host)]
        if bad:
            raise not_allowed(f"host names like connect.facebook.net (not URLs); {bad[0]!r} is not one")
        return [host.lower() for host in hosts]

    @field_validator("viewports")
    @classmethod
    def _names_once(cls, viewports: list[Viewport]) -> list[Viewport]:
        names = [v.name for v in viewports]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise not_allowed(f"viewports with different names ({', '.join(twice)} is used twice)")
        return viewports

    @property
    def off(self) -> bool:
        return self.use == "off"

    @property
    def required(self) -> bool:
        return self.use == "required"


def browser_shorthand(value: Any) -> Any:
    """`browser: required` (or auto, off) for `browser: {use: required}`; YAML reads a bare off as false."""
    if value is False:
        return {"use": "off"}
    if value is True:
        return {"use": "auto"}
    if isinstance(value, str):
        return {"use": value}
    return value


class LandingExpect(Strict):
    """What a variant's landing page must show, so the run knows it is that variant's page."""

    text: str | None = Field(None, min_length=1, max_length=200, description="text the page shows, e.g. Spring sale")
    selector: str | None = Field(None, min_length=1, max_length=200, description=SELECTOR_RULE + " that is visible")
    lead_form: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=SELECTOR_RULE + " (this page's lead form, over browser.lead_form)",
    )
    mask: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="CSS selectors of this page's regions that change on every visit (added to browser.visual.mask)",
    )

    @field_validator("mask")
    @classmethod
    def _selectors(cls, mask: list[str]) -> list[str]:
        return _selectors(mask)


class VariantExpect(Strict):
    landing: LandingExpect = Field(description="text, selector, lead_form, mask")

    @model_validator(mode="after")
    def _something(self) -> VariantExpect:
        if not self.landing.model_fields_set:
            raise not_allowed("at least one of text, selector, lead_form, mask")
        return self


# The published detail page's content, which a visitor without a session must not see under its gate
# (the sandbox's, and what the contract's pages are built around: the page's main content block).
DEFAULT_CONTENT = "#page-content"


class DetailPageExpect(Strict):
    """What the published detail page holds back from a visitor without a session."""

    content: str = Field(
        DEFAULT_CONTENT,
        min_length=1,
        max_length=200,
        description=SELECTOR_RULE + " of the page's content, hidden until the visitor signs in (default "
        f"{DEFAULT_CONTENT})",
    )


class CampaignExpect(Strict):
    detail_page: DetailPageExpect = Field(default_factory=DetailPageExpect, description="content")
