"""The last check before the first test: may the run write now, and does its write plan fit
today's quota?

Made once the tests are collected (so a `-k` selection budgets only for what it runs) and
before any of them starts, on the controller. A run that would start writing inside a peak
window (`run.peak_windows`, on the platform's clock) stops with ERROR (`peak_window`) unless
--allow-peak; a plan that does not fit stops the run with ERROR (`quota`), no write made, and
proposes a split of the campaigns that does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preflight.config import RunConfig
from preflight.core.categories import Category
from preflight.harness.session import RunContext
from preflight.http import readiness
from preflight.http.client import PlatformClient
from preflight.ops import peak, plan, quota


@dataclass
class WriteCheck:
    """What the last check before the first test reads: the controller fills it in."""

    run_config: RunConfig
    runtime: RunContext
    items: list[plan.Selected]
    client: PlatformClient  # the run's own (paced, recorded)
    pat_scopes: list[str] = field(default_factory=list)
    audit: bool = False
    previews: bool = False  # an audit's route-previews (--allow-writes): its only writes
    allow_writes: bool = False  # --allow-writes
    allow_peak: bool = False  # --allow-peak
    given: dict[str, str | None] = field(default_factory=dict)  # --config, --target, --run-id as given


@dataclass
class Checked:
    """What the check found: the write plan, the quota's fit, and why the run must not start."""

    write_plan: plan.WritePlan | None = None
    quota_fit: plan.Fit | None = None
    problem: str | None = None
    category: Category | None = None
    rows: list[readiness.Row] = field(default_factory=list)  # the write-scope probe's, when made

    def refuse(self, problem: str, category: Category) -> Checked:
        self.problem, self.category = problem, category
        return self


def check(run: WriteCheck) -> Checked:
    """Until every check passed, nothing but reads reached the target; the write-scope probe comes last."""
    if run.audit:
        return check_audit(run)
    runtime = run.runtime
    found = Checked(
        plan.for_subset(run.items, run.run_config, run_id=runtime.run_id, journal_root=runtime.journal_root)
    )
    if not run.items:
        return found
    refused = writes_refused(run, found.write_plan)
    if refused:
        return found.refuse(refused, Category.CONFIG)
    if found.write_plan.total > 0:
        meters = _meters_or_refuse(run, found)
        if found.problem:
            return found
        found.quota_fit = plan.check(
            run.items, run.run_config, run_id=runtime.run_id, journal_root=runtime.journal_root, meters=meters
        )
        if not found.quota_fit.fits:
            found.quota_fit.split = plan.with_commands(
                found.quota_fit.split,
                config=run.given.get("config"),
                target=run.given.get("target"),
                allow_writes=not runtime.embedded,
                run_id=run.given.get("run_id"),
            )
            return found.refuse(
                f"quota: {found.quota_fit.problem}; nothing was written. A split that fits: "
                f"{plan.describe_split(found.quota_fit.split)}",
                Category.QUOTA,
            )
    return _write_scope(run, found)


def writes_refused(run: WriteCheck, write_plan: plan.WritePlan) -> str | None:
    """A run writes (campaigns, links, conversions, leads) only where the user said it may: the
    embedded sandbox, or a target with allow_writes: true, or with --allow-writes."""
    target = run.run_config.target
    if run.runtime.embedded or target.allow_writes or run.allow_writes:
        return None
    created = sum(1 for line in write_plan.lines if line.what.startswith("create"))
    return (
        f"target {target.name} takes no write without --allow-writes: this run would spend {write_plan.total} "
        f"quota-counted write(s) ({created} throwaway campaign(s) created, see `preflight plan`) and post "
        f"public test leads and conversions; nothing was written. Pass --allow-writes, or set "
        f"allow_writes: true in {target.source}"
    )


def _meters_or_refuse(run: WriteCheck, found: Checked) -> dict[str, Any] | None:
    """usage-meters (kept for the workers, which judge a quota refusal against them), read on the
    platform's clock: a peak window on now, or meters that cannot be read, refuse the run."""
    clock = peak.ClockWatch()  # the platform's clock, from the Date of the usage-meters answer
    run.client.observers.append(clock)
    try:
        meters, problem, ex = quota.read_meters(run.client)
    finally:
        run.client.observers.remove(clock)
    if meters is not None:
        quota.keep_before(run.runtime.scratch, meters, ex)
    windows = run.run_config.run.peak_windows
    if windows and not run.runtime.embedded and not run.allow_peak:
        # The embedded sandbox is the run's own: no window applies to it.
        refusal = peak.refusal(windows, clock.now())
        if refusal:
            found.refuse(refusal, Category.PEAK_WINDOW)
            return None
    if problem:
        found.refuse(f"the write quota could not be read: {problem}", Category.QUOTA)
    return meters


def _write_scope(run: WriteCheck, found: Checked) -> Checked:
    """The PAT's write scope, once writes are allowed and everything else is ready: a publish of
    nothing (no read proves a write scope). Only when the selection publishes through the PAT."""
    if "pages.write" not in run.pat_scopes or not any(i.step == "publish" for i in run.items):
        return found
    row = readiness.write_scope(run.client, "pages.write", run_id=run.runtime.run_id)
    found.rows.append(row)
    return found.refuse(row.line(), row.category) if row.status == readiness.FAIL else found


def check_audit(run: WriteCheck) -> Checked:
    """An audit writes nothing: its plan is 0 and no quota is read. With --allow-writes its
    route-previews are its only writes, checked like a run's against the window and the quota."""
    found = Checked(plan.audit_plan(run.items, run.run_config, previews=run.previews))
    total = found.write_plan.total
    if total == 0:
        return found
    meters = _meters_or_refuse(run, found)
    if found.problem:
        return found
    left = None if meters is None else max(0, int(meters["writesPerDay"]) - int(meters["writesToday"]))
    found.quota_fit = plan.Fit(left is None or total <= left, left, total)
    if found.quota_fit.fits:
        return found
    return found.refuse(
        f"quota: the audit's {total} route-preview(s) need {total} writes and the handle has {left} left today; "
        "nothing was written. Run the audit without --allow-writes (zero writes), or after the reset",
        Category.QUOTA,
    )
