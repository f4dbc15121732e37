"""Usage meters: the plan and today's writes of a handle (the counting is core/quota.py)."""

from __future__ import annotations

from preflight.sandbox.core.quota import meters, plan_of, set_plan

__all__ = ["meters", "plan_of", "set_plan"]
