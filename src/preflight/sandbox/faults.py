"""The registry that routes and the middleware consult: which faults are on, and whether this
request is hit. The catalogue itself (names, options) is preflight.core.faults.

Rates are deterministic and evenly spread: the n-th eligible request is hit when
floor(n*rate) > floor((n-1)*rate), so a 30% storm never hits one retry loop many times in a row.
"""

from __future__ import annotations

import fnmatch
import math
from contextvars import ContextVar
from fractions import Fraction
from typing import Any

from preflight.core.faults import CATALOGUE, RESHAPING, TRAFFIC_TAGS, TRANSPORT, FaultName, FaultSpecError
from preflight.core.faults import validate as validate_spec
from preflight.sandbox.core.errors import ApiError

__all__ = ["CATALOGUE", "RESHAPING", "TRAFFIC_TAGS", "TRANSPORT", "FaultName", "Faults", "validate"]


def validate(spec: Any) -> dict[str, dict[str, Any]]:
    """The catalogue's check, answered as the API answers a bad body (400 validation_error)."""
    try:
        return validate_spec(spec)
    except FaultSpecError as exc:
        raise ApiError(
            400, "validation_error", str(exc), fields=[{"field": exc.field, "message": exc.problem}]
        ) from None


# The faults that hit the request being answered (the middleware starts a list per request; the
# request log shows it), so a test can tell which request a fault hit without timing anything.
_HITS: ContextVar[list[str] | None] = ContextVar("sandbox_fault_hits", default=None)


def collect_hits() -> list[str]:
    """Start recording the faults that hit this request (in this context: the request's task)."""
    hits: list[str] = []
    _HITS.set(hits)
    return hits


class Faults:
    """The sandbox's switched-on faults. A route asks `hit(FaultName.X, campaign_id, slug)` for
    each request the fault could break: the fault's options when this one is hit (its `rate`
    spread evenly, limited to its `campaignId`/`slug`), else None. A name outside the catalogue
    raises, whether or not any fault is on."""

    def __init__(self) -> None:
        self.active: dict[str, dict[str, Any]] = {}
        self._counts: dict[str, int] = {}
        self._rates: dict[str, Fraction] = {}

    def replace(self, active: dict[str, dict[str, Any]]) -> None:
        self.active = active
        self._counts = {name: 0 for name in active}
        self._rates = {name: Fraction(str(opts["rate"])) for name, opts in active.items()}

    def clear(self) -> None:
        self.replace({})

    def wants(self, name: FaultName, campaign_id: str | None = None, slug: str | None = None) -> bool:
        """Whether a fault would apply to this target, without counting a request."""
        opts = self.active.get(FaultName(name))  # a name outside the catalogue fails here, never silently
        if opts is None:
            return False
        return _matches(opts.get("campaignId"), campaign_id) and _matches(opts.get("slug"), slug)

    def options(self, name: FaultName) -> dict[str, Any] | None:
        """A switched-on fault's options (None when it is off), without counting a request."""
        return self.active.get(FaultName(name))

    def hit(self, name: FaultName, campaign_id: str | None = None, slug: str | None = None) -> dict[str, Any] | None:
        """Count one eligible request for the fault; its options when this one is hit."""
        if not self.wants(name, campaign_id, slug):
            return None
        n = self._counts[name] = self._counts[name] + 1
        rate = self._rates[name]
        if math.floor(n * rate) > math.floor((n - 1) * rate):
            hits = _HITS.get()
            if hits is not None:
                hits.append(str(name))
            return self.active[name]
        return None

    def listing(self) -> dict[str, Any]:
        return {
            "available": [{"name": f.name, "description": f.description} for f in CATALOGUE.values()],
            "active": self.active,
        }


def _matches(pattern: str | None, value: str | None) -> bool:
    """A fault's campaignId/slug option: the id itself, or a glob (`spring-b-*`: a run's own slug,
    whose suffix is the run's)."""
    if pattern is None:
        return True
    if value is None:
        return False
    return fnmatch.fnmatchcase(value, pattern) if any(c in pattern for c in "*?[") else value == pattern
