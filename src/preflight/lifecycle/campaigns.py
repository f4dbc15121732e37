"""Throwaway campaigns of one process, created on first use.

Nothing here retires a campaign: every link a run enables is in its journal, and the
controller retires them all once every test of the run has finished (or the run was
stopped), so one campaign can lend its clicks to another's test on any worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from preflight.config import CampaignConfig
from preflight.http.client import PlatformClient
from preflight.lifecycle import journal as journal_mod
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.model import PlatformCampaign, PlatformVariant, campaign_id_for, live_slug
from preflight.lifecycle.steps import campaign as campaign_step


def foreign_source(stem: str, configs: list[Any]) -> str | None:
    """The configured campaign whose click gives `stem` its foreign ctx: the next one in the
    file (of `configs`: the run's lenders, a shard's own campaigns on a shard), or None when
    there is only one campaign (a small decoy campaign stands in)."""
    stems = [c.stem for c in configs]
    if len(stems) < 2 or stem not in stems:
        return None
    return stems[(stems.index(stem) + 1) % len(stems)]


def decoy_stem(stem: str) -> str:
    return f"{stem}-x"


def plan_decoy(
    config: CampaignConfig, *, run_id: str, handle: str, landing: Callable[[str], str] | None = None
) -> PlatformCampaign:
    """A one-link campaign `pf-<runId>-<stem>-x`, for a run with a single campaign."""
    tag = hashlib.sha256(config.stem.encode()).hexdigest()[:4]
    first = config.variants[0]
    variant = PlatformVariant(
        name=f"x{tag}",
        slug=live_slug(run_id, f"x{tag}"),
        destination_url=landing(first.destinationUrl) if landing else first.destinationUrl,
        title="preflight decoy",
        tracking=config.variant_tracking(first),
        primary=True,
    )
    stem = decoy_stem(config.stem)
    return PlatformCampaign(
        stem=stem,
        campaign_id=campaign_id_for(run_id, stem),
        handle=handle,
        goal_type=config.goalType,
        variants=[variant],
        config=config,
    )


class CampaignRegistry:
    def __init__(
        self,
        client: PlatformClient,
        *,
        run_id: str,
        handle: str,
        journal: journal_mod.Journal,
        journal_root: str,
        session: str = "",
        campaigns: list[Any] = (),
        landing: Callable[[str], str] | None = None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.handle = handle
        self.journal = journal
        self.journal_root = journal_root
        self.session = session  # tells this pytest session's link writes from a rerun's
        self.campaigns = list(campaigns)  # the run's (its shard's) lenders: a campaign borrows clicks from another
        self._live: dict[str, PlatformCampaign] = {}
        self._complete: set[str] = set()  # set up with every variant, not only the primary link
        self._broken: dict[str, PreflightFailure] = {}
        self.landing = landing  # where a configured destination lands (the target's landing_url)

    def get(self, config: CampaignConfig) -> PlatformCampaign:
        """The run's campaign for this config, created ACTIVE with every variant on first use."""
        stem = config.stem
        if stem in self._complete and stem not in self._broken:
            return self._live[stem]  # set up already (what _ensure answers), without planning it again
        return self._ensure(self._plan(config), complete=True)

    def foreign_for(self, config: CampaignConfig) -> PlatformCampaign:
        """Another campaign of this run, whose click gives a foreign ctx for `config`'s campaign:
        the next configured campaign (its campaign and primary link are enough), else a decoy."""
        other = foreign_source(config.stem, self.campaigns)
        if other is None:
            live = plan_decoy(config, run_id=self.run_id, handle=self.handle, landing=self.landing)
        else:
            live = self._plan(next(c for c in self.campaigns if c.stem == other))
        return self._ensure(live, complete=False)

    def _plan(self, config: CampaignConfig) -> PlatformCampaign:
        return campaign_step.plan_campaign(config, run_id=self.run_id, handle=self.handle, landing=self.landing)

    def _ensure(self, live: PlatformCampaign, *, complete: bool) -> PlatformCampaign:
        stem = live.stem
        if stem in self._broken:
            failure = self._broken[stem]
            raise replace(
                failure,
                summary=f"(campaign setup failed earlier) {failure.summary}",
                duplicate_of=f"the setup of campaign {stem}",
            )
        if stem in self._live and (stem in self._complete or not complete):
            return self._live[stem]
        record = journal_mod.read(self.journal_root, self.run_id).get(live.campaign_id)
        try:
            campaign_step.create(
                self.client,
                live,
                run_id=self.run_id,
                journal=self.journal,
                session=self.session,
                known={s: link.state for s, link in record.links.items()} if record else None,
                exists=record is not None and record.created is not None,
                primary_only=not complete,
            )
        except PreflightFailure as failure:
            self._broken[stem] = failure
            raise
        self._live[stem] = live
        if complete:
            self._complete.add(stem)
        return live
