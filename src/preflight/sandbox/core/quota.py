"""Plans and the daily write quota per handle: FREE 2, PRO 10, ENTERPRISE 500 writes a day, or
the custom quota of `--writes-per-day N` for handles on the default plan (`--plan`), as a big
customer's contract sets its own.

Counted: every POST, PUT, PATCH, DELETE under `/v2/handles/…` that passes auth (the `/v2/public`
and `/v2/support` writes are not counted). The day is the sandbox clock's UTC day. A handle is
created with the default plan the first time anything asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.core.clock import next_midnight, rfc3339, utc_day
from preflight.sandbox.core.errors import ApiError

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

WRITES_PER_DAY = {"FREE": 2, "PRO": 10, "ENTERPRISE": 500}


def per_day(plan: str, *, default_plan: str | None = None, custom: int | None = None) -> int:
    """A plan's writes a day: its own, or the custom quota when it is the default plan."""
    return custom if custom and plan == default_plan else WRITES_PER_DAY[plan]


def limit_of(rt: Runtime, plan: str) -> int:
    return per_day(plan, default_plan=rt.settings.plan, custom=rt.settings.writes_per_day)


def plan_of(rt: Runtime, handle: str) -> str:
    plan = rt.plans.get(handle)
    if plan is not None:
        return plan
    rt.db.run(
        "INSERT OR IGNORE INTO handles (handle, plan, created_at) VALUES (?, ?, ?)",
        (handle, rt.settings.plan, rt.clock.now()),
    )
    plan = rt.db.scalar("SELECT plan FROM handles WHERE handle = ?", (handle,))
    rt.plans[handle] = plan
    return plan


def set_plan(rt: Runtime, handle: str, plan: str) -> None:
    rt.db.run(
        "INSERT INTO handles (handle, plan, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (handle) DO UPDATE SET plan = excluded.plan",
        (handle, plan, rt.clock.now()),
    )
    rt.plans[handle] = plan


def writes_today(rt: Runtime, handle: str, day: str) -> int:
    return rt.db.scalar("SELECT writes FROM quota WHERE handle = ? AND day = ?", (handle, day)) or 0


def consume(rt: Runtime, handle: str) -> None:
    """Count one write, or answer 429 rate_limited reason daily_quota when the day is used up."""
    plan = plan_of(rt, handle)
    limit = limit_of(rt, plan)
    now = rt.clock.now()
    day = utc_day(now)
    with rt.db.tx():
        used = writes_today(rt, handle, day)
        if used >= limit or refused_early(rt, used):
            retry_after = max(1, int(next_midnight(now) - now + 0.999))
            raise ApiError(
                429,
                "rate_limited",
                f"daily write quota of the {plan} plan is used up ({used}/{limit}); it resets at midnight UTC",
                headers={"Retry-After": str(retry_after)},
                reason="daily_quota",
                plan=plan,
                limits={"writesPerDay": limit},
                usage={"writesToday": used, "writesDay": day},
            )
        rt.db.run(
            "INSERT INTO quota (handle, day, writes) VALUES (?, ?, 1) "
            "ON CONFLICT (handle, day) DO UPDATE SET writes = writes + 1",
            (handle, day),
        )


def meters(rt: Runtime, handle: str) -> dict[str, Any]:
    plan = plan_of(rt, handle)
    now = rt.clock.now()
    return {
        "plan": plan,
        "writesPerDay": limit_of(rt, plan),
        "writesToday": writes_today(rt, handle, utc_day(now)),
        "resetsAt": rfc3339(next_midnight(now)),
    }


def refused_early(rt: Runtime, used: int) -> bool:
    """Fault quota_refused_early: a counted write refused although the day has writes left."""
    options = rt.faults.options(FaultName.QUOTA_REFUSED_EARLY)
    return options is not None and used >= options["after"] and rt.faults.hit(FaultName.QUOTA_REFUSED_EARLY) is not None
