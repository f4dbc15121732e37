"""Throwaway campaigns of one process, created on first use and retired at the end."""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from preflight.client import PlatformClient
from preflight.failures import PreflightFailure
from preflight.lifecycle import LiveCampaign, LiveVariant, campaign_id_for, live_slug
from preflight.steps import campaign as campaign_step


class CampaignRegistry:
    def __init__(self, client: PlatformClient, *, run_id: str, handle: str, reports_dir: Path,
                 publish_via: str = "pat", session: str = "", quiet: Callable[[], Any] | None = None,
                 campaigns: list[Any] = ()) -> None:
        self.client = client
        self.run_id = run_id
        self.handle = handle
        self.reports_dir = reports_dir
        self.publish_via = publish_via
        self.session = session  # tells this pytest session's link writes from a rerun's
        self.campaigns = list(campaigns)  # the whole run's, for the quota check
        self._quota_checked = False
        self._quota_failure: PreflightFailure | None = None
        self._quiet = quiet  # a context manager that keeps teardown exchanges off the last test
        self._live: dict[str, LiveCampaign] = {}
        self._broken: dict[str, PreflightFailure] = {}

    def get(self, config: Any) -> LiveCampaign:
        """The run's campaign for this config, created ACTIVE with its variants on first use."""
        return self._ensure(config.stem, lambda: campaign_step.plan_campaign(config, run_id=self.run_id,
                                                                             handle=self.handle),
                            check_quota=True)

    def decoy_for(self, config: Any) -> LiveCampaign:
        """Another small campaign, whose clicks give a foreign ctx for `config`'s campaign."""
        stem = f"{config.stem}-x"
        tag = hashlib.sha256(config.stem.encode()).hexdigest()[:4]
        first = config.variants[0]

        def plan() -> LiveCampaign:
            variant = LiveVariant(name=f"x{tag}", slug=live_slug(self.run_id, f"x{tag}"),
                                  destination_url=first.destinationUrl, title="preflight decoy",
                                  tracking=config.variant_tracking(first), primary=True)
            return LiveCampaign(stem=stem, campaign_id=campaign_id_for(self.run_id, stem), handle=self.handle,
                                goal_type=config.goalType, variants=[variant], config=config)

        return self._ensure(stem, plan)

    def _ensure(self, stem: str, plan: Callable[[], LiveCampaign], check_quota: bool = False) -> LiveCampaign:
        if stem in self._broken:
            failure = self._broken[stem]
            raise replace(failure, summary=f"(campaign setup failed earlier) {failure.summary}",
                          duplicate_of=f"the setup of campaign {stem}")
        if stem not in self._live:
            live = plan()
            try:
                if check_quota and not self._quota_checked:
                    self._check_quota(live)
                campaign_step.create(self.client, live, run_id=self.run_id, session=self.session)
            except PreflightFailure as failure:
                self._broken[stem] = failure
                raise
            self._live[stem] = live
        return self._live[stem]

    def _check_quota(self, live: LiveCampaign) -> None:
        """Once per process, for the whole run: every worker sees the same meter and plan."""
        if self._quota_failure is not None:
            raise replace(self._quota_failure, duplicate_of="the run's quota check")
        lives = [campaign_step.plan_campaign(c, run_id=self.run_id, handle=self.handle) for c in self.campaigns]
        try:
            campaign_step.check_quota(self.client, lives or [live], publish_via=self.publish_via)
        except PreflightFailure as failure:
            self._quota_failure = failure
            raise
        self._quota_checked = True

    def retire_all(self) -> list[dict[str, Any]]:
        left = []
        with self._quiet() if self._quiet else nullcontext():
            for live in self._live.values():
                left.append(campaign_step.retire(self.client, live, run_id=self.run_id, session=self.session))
        if left:
            folder = self.reports_dir / "leftovers"
            folder.mkdir(parents=True, exist_ok=True)
            for entry in left:
                (folder / f"{entry['campaignId']}.json").write_text(json.dumps(entry, indent=2) + "\n")
        return left

