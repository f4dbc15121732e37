"""The last check before the first test: does the run's write plan fit today's quota?

Made once the tests are collected (so a `-k` selection budgets only for what it runs) and
before any of them starts, on the controller. A plan that does not fit stops the run with
ERROR (`quota`), no write made, and proposes a split of the campaigns that does.
"""

from __future__ import annotations

from typing import Any

from preflight import plan


def selected_items(preflight: Any) -> list[plan.Selected]:
    return [plan.Selected(**{k: item.get(k) for k in ("nodeid", "name", "step", "stem", "variant", "writes")})
            for item in (preflight.collection or {}).get("selected", []) if item.get("name")]


def make_plan(preflight: Any, stems: list[str] | None = None, foreign: bool = True) -> plan.WritePlan:
    items = selected_items(preflight)
    if stems is not None:
        items = [item for item in items if item.stem in stems]
    if not foreign:
        items = [item for item in items if item.name != plan.FOREIGN_TEST]
    return plan.make(items, preflight.run_config, run_id=preflight.runtime.run_id,
                     journal_root=preflight.runtime.journal_root)


def meters(preflight: Any) -> tuple[dict[str, Any] | None, str | None]:
    """usage-meters, or (None, None) on a deployment without them, or (None, problem)."""
    from preflight.checks import expect_json_object, expect_status
    from preflight.failures import PreflightFailure

    ex = preflight.client().call("usage_meters", step="setup")
    if ex.status == 404:
        return None, None
    try:
        body = expect_status(ex, 200, doing="reading the daily write quota")
        return expect_json_object(ex, body, doing="reading usage meters",
                                  fields={"writesPerDay": int, "writesToday": int}), None
    except PreflightFailure as failure:
        return None, failure.summary


def check(preflight: Any) -> tuple[str, str] | None:
    """(problem, category) when the run must not start its tests, else None."""
    preflight.write_plan = make_plan(preflight)
    if preflight.write_plan.total == 0:
        return None
    found, problem = meters(preflight)
    if problem:
        return f"the write quota could not be read: {problem}", "quota"
    stems = list(preflight.write_plan.by_campaign())
    configured = [c.stem for c in preflight.run_config.campaigns]
    owned = [s for s in configured if any(i.stem == s for i in selected_items(preflight))]
    fit = plan.fit(lambda subset, foreign: make_plan(preflight, subset, foreign), owned or stems, found)
    preflight.quota_fit = fit
    if fit.fits:
        return None
    return f"quota: {fit.problem}; nothing was written. A split that fits: {plan.describe_split(fit.split)}", "quota"
