"""The last check before the first test: may the run write now, and does its write plan fit
today's quota?

Made once the tests are collected (so a `-k` selection budgets only for what it runs) and
before any of them starts, on the controller. A run that would start writing inside a peak
window (`run.peak_windows`, on the platform's clock) stops with ERROR (`peak_window`) unless
--allow-peak; a plan that does not fit stops the run with ERROR (`quota`), no write made, and
proposes a split of the campaigns that does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preflight.core.categories import Category
from preflight.ops import plan, quota

if TYPE_CHECKING:
    from preflight.harness.controller import Controller
    from preflight.ops.peak import ClockWatch


def selected_items(preflight: Controller) -> list[plan.Selected]:
    return plan.selected_from(preflight.collection or {})


def writes_refused(preflight: Controller) -> str | None:
    """A run writes (campaigns, links, conversions, leads) only where the user said it may: the
    embedded sandbox, or a target with allow_writes: true, or with --allow-writes."""
    from preflight.harness import options

    target = preflight.run_config.target
    if (
        preflight.runtime.embedded
        or target.allow_writes
        or options.get(preflight.pytest_config, "preflight_allow_writes")
    ):
        return None
    plan_ = preflight.write_plan
    created = sum(1 for line in plan_.lines if line.what.startswith("create"))
    return (
        f"target {target.name} takes no write without --allow-writes: this run would spend {plan_.total} "
        f"quota-counted write(s) ({created} throwaway campaign(s) created, see `preflight plan`) and post "
        f"public test leads and conversions; nothing was written. Pass --allow-writes, or set "
        f"allow_writes: true in {target.source}"
    )


def meters(preflight: Controller, clock: ClockWatch) -> tuple[dict[str, Any] | None, str | None]:
    """usage-meters on the run's client; `clock` (a peak.ClockWatch) sees the answer's Date. What
    they say is kept for the workers, which judge a quota refusal against it (ops.quota)."""
    client = preflight.client()
    client.observers.append(clock)
    try:
        found, problem, ex = quota.read_meters(client)
    finally:
        client.observers.remove(clock)
    if found is not None:
        quota.keep_before(preflight.runtime.scratch, found, ex)
    return found, problem


def in_peak_window(preflight: Controller, clock: ClockWatch) -> str | None:
    """Why the run must not start writing now (a peak window is on), or None. The embedded
    sandbox is the run's own: no window applies to it."""
    from preflight.harness import options
    from preflight.ops import peak

    windows = preflight.run_config.run.peak_windows
    if not windows or preflight.runtime.embedded or options.get(preflight.pytest_config, "preflight_allow_peak"):
        return None
    return peak.refusal(windows, clock.now())


def check(preflight: Controller) -> tuple[str, Category] | None:
    """(problem, category) when the run must not start its tests, else None. Until every check
    passed, nothing but reads reached the target; the write-scope probe comes last."""
    items, runtime = selected_items(preflight), preflight.runtime
    if preflight.audit:
        return check_audit(preflight, items)
    preflight.write_plan = plan.for_subset(
        items, preflight.run_config, run_id=runtime.run_id, journal_root=runtime.journal_root
    )
    if not items:
        return None
    refused = writes_refused(preflight)
    if refused:
        return refused, Category.CONFIG
    if preflight.write_plan.total > 0:
        problem = quota_problem(preflight, items)
        if problem:
            return problem
    return write_scope_problem(preflight, items)


def quota_problem(preflight: Controller, items: list[plan.Selected]) -> tuple[str, Category] | None:
    from preflight.ops.peak import ClockWatch

    runtime = preflight.runtime
    clock = ClockWatch()  # the platform's clock, from the Date of the usage-meters answer
    found, problem = meters(preflight, clock)
    peak_problem = in_peak_window(preflight, clock)
    if peak_problem:
        return peak_problem, Category.PEAK_WINDOW
    if problem:
        return f"the write quota could not be read: {problem}", Category.QUOTA
    fit = plan.check(
        items, preflight.run_config, run_id=runtime.run_id, journal_root=runtime.journal_root, meters=found
    )
    preflight.quota_fit = fit
    if fit.fits:
        return None
    return (
        f"quota: {fit.problem}; nothing was written. A split that fits: {plan.describe_split(fit.split)}",
        Category.QUOTA,
    )


def write_scope_problem(preflight: Controller, items: list[plan.Selected]) -> tuple[str, Category] | None:
    """The PAT's write scope, once writes are allowed and everything else is ready: a publish of
    nothing (no read proves a write scope). Only when the selection publishes through the PAT."""
    if "pages.write" not in preflight.pat_scopes() or not any(i.step == "publish" for i in items):
        return None
    from preflight.http import readiness

    row = readiness.write_scope(preflight.client(), "pages.write", run_id=preflight.runtime.run_id)
    preflight.readiness.append(row)
    return (row.line(), row.category) if row.status == readiness.FAIL else None


def check_audit(preflight: Controller, items: list[plan.Selected]) -> tuple[str, str] | None:
    """An audit writes nothing: its plan is 0 and no quota is read. With --allow-writes its
    route-previews are its only writes, checked like a run's against the window and the quota."""
    previews = "route_preview" in preflight.audit_writes()
    preflight.write_plan = plan.audit_plan(items, preflight.run_config, previews=previews)
    total = preflight.write_plan.total
    if total == 0:
        return None
    from preflight.ops.peak import ClockWatch

    clock = ClockWatch()
    found, problem = meters(preflight, clock)
    peak_problem = in_peak_window(preflight, clock)
    if peak_problem:
        return peak_problem, Category.PEAK_WINDOW
    if problem:
        return f"the write quota could not be read: {problem}", Category.QUOTA
    left = None if found is None else max(0, int(found["writesPerDay"]) - int(found["writesToday"]))
    preflight.quota_fit = plan.Fit(left is None or total <= left, left, total)
    if preflight.quota_fit.fits:
        return None
    return (
        f"quota: the audit's {total} route-preview(s) need {total} writes and the handle has {left} left today; "
        "nothing was written. Run the audit without --allow-writes (zero writes), or after the reset",
        Category.QUOTA,
    )
