"""One run: the resolved target plus what to create and what to expect, and how to pace and retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, NamedTuple, Protocol

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator

from preflight.config.base import DOMAIN_PATTERN, Strict
from preflight.config.browser import BrowserSettings, browser_shorthand
from preflight.config.campaign import AccessMode, CampaignConfig
from preflight.config.live import Policy
from preflight.config.notify import NotifySettings
from preflight.config.peak_windows import PeakWindow
from preflight.config.target import TargetConfig


class HoldsCampaigns(Protocol):
    """A shard of a run (preflight.lifecycle.shard.Shard), as the config sees it."""

    def holds(self, stem: str) -> bool: ...


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
    retry: RetrySettings = Field(
        default_factory=RetrySettings, description="attempts, backoff_seconds, max_wait_seconds"
    )
    rate_limit_per_second: float = Field(100, gt=0, description="requests per second, more than 0")
    pacing: PacingSettings = Field(
        default_factory=PacingSettings, description="read, write, public, from_headers, window_seconds"
    )
    publish_via: Literal["pat", "jwt"] = "pat"
    peak_windows: list[PeakWindow] = Field(
        default_factory=list, description="a list of windows, each {name, days, from, to, tz}"
    )


class FakeDataSettings(Strict):
    seed: int = Field(20261127, description="a whole number")
    email_domain: str = Field("example.com", pattern=DOMAIN_PATTERN, description="a domain name, e.g. example.com")


class Expectations(Strict):
    health_verdict: Literal["PASS", "WARN"] = "PASS"
    min_score: int = Field(100, ge=0, le=100, description="a whole number, 0-100")
    # UC-07 step 5 promises FREE_WITH_LOGIN; a campaign's detailPage.accessMode is what the run
    # publishes, so setting that to PUBLIC rehearses the publish_access_mode finding.
    access_mode: Literal[AccessMode.FREE_WITH_LOGIN] = AccessMode.FREE_WITH_LOGIN
    # A conversion this long after its click must still be attributable: the ctx must live as long.
    conversion_window_minutes: int = Field(
        30, ge=1, le=43200, description="minutes from a click to its conversion, 1-43200 (default 30)"
    )
    # After the flight starts, qualified clicks with no conversion this long is no_conversion_signal.
    signal_after_minutes: int = Field(
        120, ge=1, le=43200, description="minutes after the flight starts, 1-43200 (default 120)"
    )
    # How long a check waits for STALE analytics to turn FRESH before it skips, saying why.
    analytics_wait_seconds: float = Field(
        120, ge=0, le=3600, description="seconds to wait for fresh analytics, 0-3600 (default 120)"
    )


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
        default_factory=RunSettings,
        description="timeout_seconds, retry, rate_limit_per_second, pacing, publish_via, peak_windows",
    )
    fake_data: FakeDataSettings = Field(default_factory=FakeDataSettings, description="seed, email_domain")
    expectations: Expectations = Field(
        default_factory=Expectations,
        description="health_verdict, min_score, access_mode, conversion_window_minutes, signal_after_minutes, "
        "analytics_wait_seconds",
    )
    browser: BrowserSettings = Field(
        default_factory=BrowserSettings,
        description="use (auto, required, off), viewports, submit_lead, lead_form, fail_on_console_errors, "
        "lcp_budget_ms, block_hosts, …",
    )
    policy: Policy = Field(default_factory=Policy, description="utm")
    notify: NotifySettings = Field(
        default_factory=NotifySettings, description="on, webhooks, remind_every_hours, timeout_seconds, attempts, …"
    )
    campaigns: list[CampaignConfig] = Field(min_length=1, description="a list of at least one campaign")

    _source_path: Path | None = PrivateAttr(None)
    _shard: HoldsCampaigns | None = PrivateAttr(None)  # a lifecycle.shard.Shard: the run is one shard of several

    @field_validator("browser", mode="before")
    @classmethod
    def _browser_shorthand(cls, value: Any) -> Any:
        return browser_shorthand(value)

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

    def on_shard(self, shard: HoldsCampaigns) -> RunConfig:
        """A copy for one shard of the run (`--shard I/N`)."""
        sharded = self.model_copy()
        sharded._shard = shard
        return sharded

    @property
    def lenders(self) -> list[CampaignConfig]:
        """The campaigns that may lend a click to another's foreign-ctx check: the whole config,
        or on a shard that shard's own, so that no shard creates or retires another's campaign."""
        return [c for c in self.campaigns if self._shard is None or self._shard.holds(c.stem)]
