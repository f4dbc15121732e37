"""The run's write plan: every quota-counted write it will make, per campaign and step.

Counted as the contract counts them: POST/PUT/PATCH/DELETE under /v2 except /v2/public/*
and /v2/support/* (so public conversions, leads and the PAT publish are free). The plan is
made from the selected tests (a `-k` subset budgets only for what it runs) and the run's
journal (a rerun adopts what already exists with reads and spends nothing on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from preflight.config import RunConfig
from preflight.core import paste
from preflight.lifecycle import journal, playbook
from preflight.lifecycle.campaigns import decoy_stem, foreign_source, plan_decoy
from preflight.lifecycle.model import PlatformCampaign, run_suffix
from preflight.lifecycle.playbook import WriteContext
from preflight.lifecycle.steps import campaign as campaign_step

FOREIGN_TEST = "test_foreign_ctx_refused"


@dataclass(frozen=True)
class Selected:
    """One selected test, as the plan needs it."""

    nodeid: str
    name: str  # the test function
    step: str | None
    stem: str | None
    variant: str | None = None
    writes: int | None = None  # from a preflight_writes mark


@dataclass
class Line:
    campaign: str  # the configured campaignId (stem)
    step: str  # setup, a lifecycle step, or teardown
    what: str
    writes: int


@dataclass
class WritePlan:
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.writes for line in self.lines)

    def by_campaign(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.campaign] = out.get(line.campaign, 0) + line.writes
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(line) for line in self.lines if line.writes]


def make(selected: Iterable[Selected], run_config: RunConfig, *, run_id: str, journal_root: str) -> WritePlan:
    selected = list(selected)
    target = run_config.target
    publish_via = run_config.run.publish_via
    known = journal.read(journal_root, run_id)
    configs = {c.stem: c for c in run_config.campaigns}
    owned = [stem for stem in configs if any(s.stem == stem for s in selected)]
    plan = WritePlan()
    borrowed: dict[str, Any] = {}  # stem -> PlatformCampaign lent for a foreign ctx, not otherwise set up
    for stem in owned:
        live = campaign_step.plan_campaign(configs[stem], run_id=run_id, handle=target.handle)
        plan.lines += _setup(live, known.get(live.campaign_id))
        record = known.get(live.campaign_id)
        for item in (s for s in selected if s.stem == stem):
            writes = (
                item.writes
                if item.writes is not None
                else playbook.writes_of(
                    item.step,
                    item.name,
                    WriteContext(publish_via, page_published=bool(record and record.page_published)),
                )
            )
            if writes:
                plan.lines.append(Line(stem, item.step or "", item.nodeid.split("::")[-1], writes))
            if item.name == FOREIGN_TEST:
                source = foreign_source(stem, run_config.lenders)
                if source not in owned:
                    lender = (
                        campaign_step.plan_campaign(configs[source], run_id=run_id, handle=target.handle)
                        if source
                        else plan_decoy(configs[stem], run_id=run_id, handle=target.handle)
                    )
                    borrowed.setdefault(source or decoy_stem(stem), lender)
    for lender in borrowed.values():
        plan.lines += _setup(lender, known.get(lender.campaign_id), primary_only=True, lent=True)
    plan.lines += _teardown(plan, known, owned, borrowed, run_config, run_id=run_id)
    return plan


def _setup(
    live: PlatformCampaign, record: journal.CampaignRecord | None, *, primary_only: bool = False, lent: bool = False
) -> list[Line]:
    stem = live.stem
    label = " (lends a click for a foreign ctx)" if lent else ""
    exists = record is not None and record.created is not None
    states = {slug: link.state for slug, link in record.links.items()} if record else None
    lines = [] if exists else [Line(stem, "setup", f"create the campaign with its primary link{label}", 1)]
    variants = live.variants[:1] if primary_only else live.variants
    # As the run does it: a fresh create enables the primary; an adoption re-enables what may be off.
    enable = [
        v.name
        for v in variants
        if campaign_step.needs_enabling(v.slug, primary=v is live.variants[0], adopted=exists, known=states)
    ]
    if enable:
        lines.append(Line(stem, "setup", f"enable link(s) {', '.join(enable)}", len(enable)))
    return lines


def _teardown(
    plan: WritePlan,
    known: dict[str, journal.CampaignRecord],
    owned: list[str],
    borrowed: dict[str, Any],
    run_config: RunConfig,
    *,
    run_id: str,
) -> list[Line]:
    """One `enabled: false` per link live at the end: what this run enables, plus what an earlier
    session of the same run id left live (the controller retires the whole run)."""
    configs = {c.stem: c for c in run_config.campaigns}
    live_at_end: dict[str, set[str]] = {}
    for stem in owned:
        live = campaign_step.plan_campaign(configs[stem], run_id=run_id, handle=run_config.target.handle)
        live_at_end.setdefault(stem, set()).update(v.name for v in live.variants)
    for stem, lender in borrowed.items():
        live_at_end.setdefault(stem, set()).add(lender.variants[0].name)
    by_id = {
        campaign_step.plan_campaign(c, run_id=run_id, handle=run_config.target.handle).campaign_id: c.stem
        for c in run_config.campaigns
    }
    suffix = "-" + run_suffix(run_id)
    for campaign_id, record in known.items():
        stem = by_id.get(campaign_id, campaign_id)
        live_at_end.setdefault(stem, set()).update(link.slug.removesuffix(suffix) for link in record.live_links)
    return [
        Line(stem, "teardown", f"retire link(s) {', '.join(sorted(slugs))} (enabled: false)", len(slugs))
        for stem, slugs in live_at_end.items()
        if slugs
    ]


PREVIEW_TEST = "test_audiences_reach_the_variant"


def audit_plan(items: Iterable[Selected], run_config: RunConfig, *, previews: bool) -> WritePlan:
    """An audit's writes: none; with --allow-writes, one route-preview per audience of each selected
    routing check (a POST under /v2 counts as a write, gap)."""
    plan = WritePlan()
    if not previews:
        return plan
    configs = {c.stem: c for c in run_config.campaigns}
    for item in items:
        audiences = configs[item.stem].audiences if item.name == PREVIEW_TEST and item.stem in configs else []
        if audiences:
            what = f"route-preview of {item.variant} for {len(audiences)} audience(s)"
            plan.lines.append(Line(item.stem, item.step or "routing", what, len(audiences)))
    return plan


def selected_from(collection: dict[str, Any]) -> list[Selected]:
    """The Selected items of a collection dump (see collect.selected)."""
    keys = ("nodeid", "name", "step", "stem", "variant", "writes")
    return [Selected(**{k: item.get(k) for k in keys}) for item in collection.get("selected", []) if item.get("name")]


def for_subset(
    items: list[Selected],
    run_config: RunConfig,
    *,
    run_id: str,
    journal_root: str,
    stems: list[str] | None = None,
    foreign: bool = True,
) -> WritePlan:
    """The plan of the selected tests of some campaigns, with or without their foreign-ctx checks."""
    chosen = [i for i in items if (stems is None or i.stem in stems) and (foreign or i.name != FOREIGN_TEST)]
    return make(chosen, run_config, run_id=run_id, journal_root=journal_root)


def check(
    items: list[Selected], run_config: RunConfig, *, run_id: str, journal_root: str, meters: dict[str, Any] | None
) -> Fit:
    """The whole selection's plan against the writes left today, with a split when it does not fit."""
    owned = [c.stem for c in run_config.campaigns if any(i.stem == c.stem for i in items)]
    return fit(
        lambda subset, foreign: for_subset(
            items, run_config, run_id=run_id, journal_root=journal_root, stems=subset, foreign=foreign
        ),
        owned,
        meters,
    )


# -- against the quota ---------------------------------------------------------------------------


@dataclass
class Fit:
    fits: bool
    writes_left: int | None
    total: int
    problem: str | None = None
    split: list[dict[str, Any]] = field(default_factory=list)  # [{"when", "campaigns", "writes", "select"}]


# A campaign alone borrows another campaign for its foreign-ctx check (a create and a retire):
# when that does not fit a day, the split runs it without that check.
NO_FOREIGN = "not foreign_ctx"


def fit(plan_for: Any, stems: list[str], meters: dict[str, Any] | None) -> Fit:
    """Does the plan fit the writes left today? If not, a split of the campaigns that does: as
    many as fit today (in config order), the rest per day after `resetsAt`. `plan_for(stems,
    foreign)` is the plan of a subset, with or without its foreign-ctx checks."""
    total = plan_for(stems, True).total
    if meters is None:
        return Fit(True, None, total)
    per_day, used = int(meters["writesPerDay"]), int(meters["writesToday"])
    left = max(0, per_day - used)
    if total <= left:
        return Fit(True, left, total)
    problem = (
        f"this run needs {total} writes and the handle has {left} of {per_day} left today "
        f"(plan {meters.get('plan')}, resets at {meters.get('resetsAt')})"
    )
    return Fit(False, left, total, problem, _split(plan_for, stems, left, per_day, meters.get("resetsAt")))


def _split(plan_for: Any, stems: list[str], left: int, per_day: int, resets_at: Any) -> list[dict[str, Any]]:
    batches: list[dict[str, Any]] = []
    rest, day = list(stems), 0
    while rest:
        budget = left if day == 0 else per_day
        batch = _fill(plan_for, rest, budget, foreign=True) or (
            _fill(plan_for, rest, budget, foreign=False) if day > 0 else []
        )
        if batch:
            foreign = plan_for(batch, True).total <= budget
            batches.append(
                {
                    "when": _day(day, resets_at),
                    "campaigns": batch,
                    "writes": plan_for(batch, foreign).total,
                    "select": _select(batch, foreign),
                }
            )
            rest = [s for s in rest if s not in batch]
        elif day > 0:  # not even a whole day's quota covers what is left
            batches.append(
                {
                    "when": "never on this plan",
                    "campaigns": rest,
                    "writes": plan_for(rest, False).total,
                    "select": _select(rest, False),
                }
            )
            break
        day += 1
    return batches


def _fill(plan_for: Any, stems: list[str], budget: int, *, foreign: bool) -> list[str]:
    batch: list[str] = []
    for stem in stems:
        if plan_for(batch + [stem], foreign).total <= budget:
            batch.append(stem)
    return batch


def _select(stems: list[str], foreign: bool) -> str:
    chosen = " or ".join(stems)
    if len(stems) > 1 and not foreign:
        chosen = f"({chosen})"
    return f"-k '{chosen}'" if foreign else f"-k '{chosen} and {NO_FOREIGN}'"


def _day(day: int, resets_at: Any) -> str:
    if day == 0:
        return "today"
    return f"after {resets_at}" if day == 1 else f"{day - 1} day(s) after {resets_at}"


def with_commands(
    split: list[dict[str, Any]], *, config: str | None, target: str | None, allow_writes: bool, run_id: str | None
) -> list[dict[str, Any]]:
    """Each batch with the `preflight run` that runs it, as it pastes: the target, config, write
    opt-in and run id of the run it splits (without them a pasted batch would run elsewhere)."""
    base = paste.command(
        "run",
        config=paste.config_option(config),
        target=paste.target_option(target),
        allow_writes=allow_writes,
        run_id=run_id,
    )
    return [{**batch, "command": f"{base} -- {batch['select']}"} for batch in split]


def describe_split(split: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{b['when']}: {', '.join(b['campaigns'])}, {b['writes']} writes ({b.get('command') or b['select']})"
        for b in split
    )
