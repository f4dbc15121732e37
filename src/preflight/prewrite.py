"""The last check before the first test: does the run's write plan fit today's quota?

Made once the tests are collected (so a `-k` selection budgets only for what it runs) and
before any of them starts, on the controller. A plan that does not fit stops the run with
ERROR (`quota`), no write made, and proposes a split of the campaigns that does.
"""

from __future__ import annotations

from typing import Any

from preflight import plan


def selected_items(preflight: Any) -> list[plan.Selected]:
    return plan.selected_from(preflight.collection or {})


def writes_refused(preflight: Any) -> str | None:
    """A run writes (campaigns, links, conversions, leads) only where the user said it may: the
    embedded sandbox, or a target with allow_writes: true, or with --allow-writes."""
    from preflight import options

    target = preflight.run_config.target
    if preflight.runtime.embedded or target.allow_writes or options.get(preflight.pytest_config,
                                                                         "preflight_allow_writes"):
        return None
    plan_ = preflight.write_plan
    created = sum(1 for line in plan_.lines if line.what.startswith("create"))
    return (f"target {target.name} takes no write without --allow-writes: this run would spend {plan_.total} "
            f"quota-counted write(s) ({created} throwaway campaign(s) created, see `preflight plan`) and post "
            f"public test leads and conversions; nothing was written. Pass --allow-writes, or set "
            f"allow_writes: true in {target.source}")


def meters(preflight: Any) -> tuple[dict[str, Any] | None, str | None]:
    return read_meters(preflight.client())


def read_meters(client: Any) -> tuple[dict[str, Any] | None, str | None]:
    """usage-meters, or (None, None) on a deployment without them, or (None, problem)."""
    from preflight.checks import expect_json_object, expect_status
    from preflight.failures import PreflightFailure

    ex = client.call("usage_meters", step="setup")
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
    items, runtime = selected_items(preflight), preflight.runtime
    preflight.write_plan = plan.for_subset(items, preflight.run_config, run_id=runtime.run_id,
                                           journal_root=runtime.journal_root)
    if not items:
        return None
    refused = writes_refused(preflight)
    if refused:
        return refused, "config"
    if preflight.write_plan.total == 0:
        return None
    found, problem = meters(preflight)
    if problem:
        return f"the write quota could not be read: {problem}", "quota"
    fit = plan.check(items, preflight.run_config, run_id=runtime.run_id, journal_root=runtime.journal_root,
                     meters=found)
    preflight.quota_fit = fit
    if fit.fits:
        return None
    return f"quota: {fit.problem}; nothing was written. A split that fits: {plan.describe_split(fit.split)}", "quota"
