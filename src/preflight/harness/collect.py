"""Collection: parametrize suites by campaign and variant, and order them by UC-07 step.

Each test that takes `campaign` runs once per configured campaign; one that takes
`variant` runs once per variant, with ids like `spring-ab:spring-b`. The scheduler below
gives all tests of a campaign to one worker, so its steps run in order there.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from preflight.config import CampaignConfig, RunConfig
from preflight.harness.results import ItemInfo
from preflight.lifecycle.playbook import STEPS
from preflight.lifecycle.shard import Shard

STEP_MARK = "preflight_step"
GOAL_MARK = "preflight_goal"
NEEDS_MARK = "preflight_needs"
WRITES_MARK = "preflight_writes"
BY_CHOICE_MARK = "preflight_by_choice"
MARKERS = (
    f"{STEP_MARK}(name): the UC-07 lifecycle step a test belongs to ({', '.join(STEPS)})",
    f"{GOAL_MARK}(*goal_types): run the test only for campaigns of these goal types",
    f"{NEEDS_MARK}(*test_names): the tests of the same campaign this one builds on; when a selection "
    "(-k, -m) leaves one out, this test is skipped with that reason instead of failing",
    f"{WRITES_MARK}(n): the quota-counted writes this test makes itself, for the write plan",
    f"{BY_CHOICE_MARK}(would_catch=...): set by the plugin on a test the selection skipped: not checked, by choice",
)
# Every distribution mode but `each` (which would run each campaign on every worker at once)
# is honoured by scheduling whole campaigns.
REFUSED_DIST = {
    "each": "--dist each runs every test on every worker, so each campaign would be created and "
    "tested by all workers at once; use -n N with the default --dist load"
}


AUDIT_SUITES = ("suites", "live")  # the audit's suites, under the rootdir


def audit_suites(config: pytest.Config) -> Path:
    return config.rootpath.joinpath(*AUDIT_SUITES)


def is_audit(config: pytest.Config) -> bool:
    """An audit run: --audit, or every path the invocation names lies in suites/live."""
    from preflight.harness import options

    if options.get(config, "preflight_audit"):
        return True
    live = audit_suites(config)
    paths = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(path == live or live in path.parents for path in paths)


def ignored(path: Path, config: pytest.Config, audit: bool) -> bool | None:
    """An audit collects suites/live alone; a lifecycle run everything in suites/ but suites/live."""
    live = audit_suites(config)
    suites = live.parent
    inside = path == live or live in path.parents
    if audit:
        outside = (path == suites or suites in path.parents) and not inside and path not in live.parents
        return True if outside else None
    return True if inside else None


def parametrize(metafunc: pytest.Metafunc, run_config: RunConfig) -> None:
    campaigns = _campaigns_for(metafunc, run_config)
    # No xdist_group mark: the plugin's own scheduler groups by campaign in every --dist mode, and
    # xdist's loadgroup would append "@<group>" to every node id the gate and reports show.
    if "variant" in metafunc.fixturenames:
        cases = [pytest.param(c, v, id=f"{c.stem}:{v.slug}") for c in campaigns for v in c.variants]
        metafunc.parametrize(("campaign", "variant"), cases)
    elif "campaign" in metafunc.fixturenames:
        cases = [pytest.param(c, id=c.stem) for c in campaigns]
        metafunc.parametrize("campaign", cases)


def _campaigns_for(metafunc: pytest.Metafunc, run_config: RunConfig) -> list[CampaignConfig]:
    mark = metafunc.definition.get_closest_marker(GOAL_MARK)
    goals = set(mark.args) if mark else None
    return [c for c in run_config.campaigns if goals is None or c.goalType in goals]


BROWSER_FIXTURE = "shopper"  # a test that asks for the shopper's browser is a browser check


def drop_browser_checks(items: list[pytest.Item], run_config: RunConfig | None) -> None:
    """With `browser.use: off` the browser checks are no part of the run (the gate says they are off)."""
    if run_config is not None and run_config.browser.off:
        items[:] = [item for item in items if BROWSER_FIXTURE not in getattr(item, "fixturenames", ())]


def census(items: list[pytest.Item]) -> Counter:
    """How many tests of each (campaign, test function) there are."""
    return Counter((_stem(item), getattr(item, "originalname", item.name)) for item in items)


def keep_shard(config: pytest.Config, items: list[pytest.Item], shard: Shard | None) -> None:
    """On `--shard I/N`, deselect the tests of the other shards' campaigns (pytest counts them as
    deselected); a test of no campaign runs on shard 1 only."""
    if shard is None:
        return
    kept = [item for item in items if shard.holds(_stem(item))]
    dropped = [item for item in items if not shard.holds(_stem(item))]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def skip_unmet_needs(items: list[pytest.Item], planned: Counter) -> None:
    """A test whose prerequisites (all of them, for its campaign) were deselected is skipped,
    saying which, rather than failing for want of what it builds on."""
    present = census(items)
    for item in items:
        mark = item.get_closest_marker(NEEDS_MARK)
        if mark is None:
            continue
        missing = [name for name in mark.args if present[(_stem(item), name)] < planned[(_stem(item), name)]]
        if missing:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"needs {', '.join(missing)} of campaign {_stem(item)}, which the selection (-k/-m) left out"
                )
            )
            # the user's selection left it out: not checked, by choice (no HOLD)
            item.add_marker(getattr(pytest.mark, BY_CHOICE_MARK)(would_catch=title(item)))


def _stem(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    campaign = callspec.params.get("campaign") if callspec else None
    return getattr(campaign, "stem", None)


def selected(items: list[pytest.Item]) -> list[dict[str, Any]]:
    """What the controller needs of each selected test (for the write plan and the gate)."""
    out = []
    for item in items:
        info = item_info(item)
        writes = item.get_closest_marker(WRITES_MARK)
        skipped = item.get_closest_marker("skip") is not None
        out.append(
            {
                "nodeid": item.nodeid,
                "name": getattr(item, "originalname", item.name),
                "step": info.step if info else None,
                "stem": info.stem if info else None,
                "variant": info.variant if info else None,
                "writes": 0 if skipped else (int(writes.args[0]) if writes else None),
            }
        )
    return out


def selection(config: pytest.Config) -> str | None:
    """The arguments that selected this run's tests (-k, -m, --shard, paths), as the user gave them."""
    from preflight.harness import options

    parts = []
    if config.getoption("keyword", ""):
        parts.append(f"-k {config.getoption('keyword')!r}")
    if config.getoption("markexpr", ""):
        parts.append(f"-m {config.getoption('markexpr')!r}")
    if options.get(config, "preflight_shard"):
        parts.append(f"--shard {options.get(config, 'preflight_shard')}")
    suites = ("suites", ".", "/".join(AUDIT_SUITES))  # the suites themselves select nothing
    args = [a for a in config.args if a.rstrip("/") not in suites]
    if args:
        parts.append(" ".join(args))
    return " ".join(parts) or None


def step_order(item: pytest.Item) -> int:
    mark = item.get_closest_marker(STEP_MARK)
    return STEPS[mark.args[0]].order if mark else 0


def order(items: list[pytest.Item]) -> None:
    """UC-07's order; stable, so tests keep file order within a step."""
    items.sort(key=step_order)


def campaign_of(nodeid: str, stems: list[str]) -> str | None:
    """The campaign a suite test belongs to, from its parametrize id (`[stem]`, `[stem:slug]`)."""
    if "@" in nodeid[nodeid.rfind("]") + 1 :]:  # an xdist that still tags nodeids with the group
        return nodeid.rsplit("@", 1)[1]
    params = nodeid[nodeid.find("[") + 1 : nodeid.rfind("]")] if "[" in nodeid else ""
    for stem in sorted(stems, key=len, reverse=True):
        if params == stem or params.startswith((stem + ":", stem + "-")):
            return stem
    return None


def title(item: pytest.Item) -> str:
    """A test's title in words: its docstring's first line, then the variant or campaign it checks."""
    function = getattr(item, "function", None)
    doc = (getattr(function, "__doc__", None) or "").strip().splitlines()
    words = doc[0].strip().rstrip(".") if doc else getattr(item, "originalname", item.name).replace("_", " ")
    info = item_info(item)
    subject = (info.variant or info.stem) if info else None
    return f"{words}: {subject}" if subject else words


def item_info(item: pytest.Item) -> ItemInfo | None:
    mark = item.get_closest_marker(STEP_MARK)
    if mark is None:
        return None
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    campaign, variant = params.get("campaign"), params.get("variant")
    return ItemInfo(step=mark.args[0], stem=getattr(campaign, "stem", None), variant=getattr(variant, "slug", None))
