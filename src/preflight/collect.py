"""Collection: parametrize suites by campaign and variant, and order them by UC-07 step.

Each test that takes `campaign` runs once per configured campaign; one that takes
`variant` runs once per variant, with ids like `spring-ab:spring-b`. All tests of a
campaign share an xdist group, so its steps run in order on one worker.
"""

from __future__ import annotations

from typing import Any

import pytest

from preflight.lifecycle import STEPS
from preflight.results import ItemInfo

STEP_MARK = "preflight_step"
GOAL_MARK = "preflight_goal"
MARKERS = (
    f"{STEP_MARK}(name): the UC-07 lifecycle step a test belongs to ({', '.join(STEPS)})",
    f"{GOAL_MARK}(*goal_types): run the test only for campaigns of these goal types",
)


def parametrize(metafunc: pytest.Metafunc, run_config: Any) -> None:
    campaigns = _campaigns_for(metafunc, run_config)
    if "variant" in metafunc.fixturenames:
        cases = [pytest.param(c, v, id=f"{c.stem}:{v.slug}", marks=pytest.mark.xdist_group(c.stem))
                 for c in campaigns for v in c.variants]
        metafunc.parametrize(("campaign", "variant"), cases)
    elif "campaign" in metafunc.fixturenames:
        cases = [pytest.param(c, id=c.stem, marks=pytest.mark.xdist_group(c.stem)) for c in campaigns]
        metafunc.parametrize("campaign", cases)


def _campaigns_for(metafunc: pytest.Metafunc, run_config: Any) -> list[Any]:
    mark = metafunc.definition.get_closest_marker(GOAL_MARK)
    goals = set(mark.args) if mark else None
    return [c for c in run_config.campaigns if goals is None or c.goalType in goals]


def step_order(item: pytest.Item) -> int:
    mark = item.get_closest_marker(STEP_MARK)
    return STEPS[mark.args[0]].order if mark else 0


def order(items: list[pytest.Item]) -> None:
    """UC-07's order; stable, so tests keep file order within a step."""
    items.sort(key=step_order)


def campaign_of(nodeid: str, stems: list[str]) -> str | None:
    """The campaign a suite test belongs to, from its parametrize id (`[stem]`, `[stem:slug]`)."""
    if "@" in nodeid[nodeid.rfind("]") + 1:]:  # an xdist that still tags nodeids with the group
        return nodeid.rsplit("@", 1)[1]
    params = nodeid[nodeid.find("[") + 1:nodeid.rfind("]")] if "[" in nodeid else ""
    for stem in sorted(stems, key=len, reverse=True):
        if params == stem or params.startswith((stem + ":", stem + "-")):
            return stem
    return None


def campaign_scheduler(config: pytest.Config, log: Any, stems: list[str]) -> Any:
    """xdist's loadscope scheduling with one scope per campaign.

    xdist's own `loadgroup` stopped grouping on pytest 9.2 (pytest-xdist#1386: it
    rewrites `item._nodeid`, which no longer takes effect), so the grouping that keeps
    a campaign's steps in order on one worker is done here, from the node ids alone.
    """
    from xdist.scheduler import LoadScopeScheduling

    class CampaignScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return campaign_of(nodeid, stems) or nodeid

    return CampaignScheduling(config, log)


def item_info(item: pytest.Item) -> ItemInfo | None:
    mark = item.get_closest_marker(STEP_MARK)
    if mark is None:
        return None
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    campaign, variant = params.get("campaign"), params.get("variant")
    return ItemInfo(step=mark.args[0], stem=getattr(campaign, "stem", None), variant=getattr(variant, "slug", None))
