"""The lifecycle's vocabulary: its steps in UC-07's order, live campaigns and variants,
and what one step needs to run. Plain objects, usable without pytest."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from preflight.http.client import PlatformClient, idempotency_key

if TYPE_CHECKING:
    from preflight.config import CampaignConfig, TargetConfig
    from preflight.config.run import Expectations, RunSettings
    from preflight.lifecycle.journal import Journal

RUN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,23}$")
NOT_CHECKED = "notChecked"  # the artifacts' list of parts a test left out by choice


def new_run_id() -> str:
    """Sortable by start time, unique enough for parallel CI jobs: 20261127-121800-3fa9."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


def check_run_id(run_id: str) -> str | None:
    """A one-line problem with a user-given run id, or None."""
    if RUN_ID_PATTERN.match(run_id):
        return None
    return (
        f"--run-id: {run_id!r} is not a valid run id; use 3-24 lowercase letters, digits "
        f"or dashes, starting with a letter or digit (e.g. 20261127-121800-3fa9)"
    )


@functools.lru_cache(maxsize=64)  # a run id or two a process; asked for every test
def run_suffix(run_id: str) -> str:
    """Six characters that make this run's slugs unique on a shared handle."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:6]


def campaign_id_for(run_id: str, stem: str) -> str:
    return f"pf-{run_id}-{stem}"


def live_slug(run_id: str, slug: str) -> str:
    return f"{slug}-{run_suffix(run_id)}"


@dataclass
class PlatformVariant:
    name: str  # the slug as configured
    slug: str  # the slug on the platform for this run
    destination_url: str
    title: str | None
    tracking: dict[str, str]
    primary: bool = False


@dataclass
class PlatformCampaign:
    """A campaign on the platform as a run addresses it, and what the steps learnt about it: the
    lifecycle's throwaway copy (`pf-<runId>-<stem>`), or, in the audit, the live campaign itself.
    ("Live" names only the campaign the ads point at.)"""

    stem: str
    campaign_id: str
    handle: str
    goal_type: str
    variants: list[PlatformVariant]
    config: CampaignConfig  # what it was made from
    notes: dict[str, Any] = field(default_factory=dict)  # facts one step leaves for a later one

    def variant(self, name: str) -> PlatformVariant:
        for variant in self.variants:
            if variant.name == name or variant.slug == name:
                return variant
        raise KeyError(f"campaign {self.stem} has no variant {name!r}")

    @property
    def slugs(self) -> list[str]:
        return [variant.slug for variant in self.variants]


class Artifacts(dict):
    """The `artifacts` JSON of one test: everything support needs to find this run again."""

    def add(self, kind: str, value: Any) -> None:
        if value is None:
            return
        values = self.setdefault(kind, [])
        if value not in values:
            values.append(value)

    def put(self, kind: str, value: Any) -> None:
        if value is not None:
            self[kind] = value


@dataclass
class StepRun:
    """Everything a lifecycle step function needs."""

    step: str
    client: PlatformClient
    run_id: str
    campaign: PlatformCampaign
    expectations: Expectations
    artifacts: Artifacts
    target: TargetConfig
    settings: RunSettings | None = None
    journal: Journal | None = None  # the run's journal (what the run created, for a rerun to adopt)

    def key(self, purpose: str = "", variant: str = "") -> str:
        return idempotency_key(self.run_id, self.step, self.campaign.campaign_id, variant, purpose)

    def not_checked(self, what: str, why: str, would_catch: str) -> None:
        """A part of this test's check the config leaves out on purpose (e.g. no expect.landing): the
        test still judges the rest; the gate lists this part as "not checked, by choice"."""
        self.artifacts.add(NOT_CHECKED, {"what": what, "why": why, "wouldCatch": would_catch})
