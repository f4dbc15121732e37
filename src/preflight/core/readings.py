"""Values as an answer gives them, read in one place: numbers, booleans and times.

The contract writes numbers as JSON numbers, booleans as true/false and times as RFC 3339 UTC. A
deployment may answer in another representation that still means one thing: a numeric string
("100"), the string "true" or "false", a time as epoch seconds or milliseconds. Each reader
answers what the value means, None when the field is absent (or null), or an `Unreadable` that
names what it got. It never guesses and never reads a value it cannot read as "not set": the check
that meets one cannot judge (or, where the contract fixes the type, has found a contract violation).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# A plain decimal: "100", "-3", "12.5" (not "1e3", "nan", "1_000", which float() would also take).
DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
# A number this large is epoch milliseconds: as seconds it would be after the year 5000.
MILLISECONDS_FROM = 1e11


@dataclass(frozen=True)
class Unreadable:
    """A value a reader could not read: what it was, and what it should have been."""

    value: Any
    wanted: str  # "a number", "true or false", "an RFC 3339 time or epoch seconds"

    @property
    def shown(self) -> str:
        """The value as the answer wrote it (JSON)."""
        try:
            return json.dumps(self.value, ensure_ascii=False)
        except (TypeError, ValueError):
            return repr(self.value)

    def describe(self, name: str) -> str:
        """In words: maxClicks is "lots", not a number."""
        return f"{name} is {self.shown}, not {self.wanted}"


def read_number(value: Any) -> int | float | Unreadable | None:
    """A JSON number, or a numeric string ("100" is 100, "12.5" is 12.5)."""
    if value is None:
        return None
    if isinstance(value, bool):  # JSON true is no count
        return Unreadable(value, "a number")
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else Unreadable(value, "a number")
    if isinstance(value, str) and DECIMAL.match(value.strip()):
        text = value.strip()
        return float(text) if "." in text else int(text)
    return Unreadable(value, "a number")


def read_bool(value: Any) -> bool | Unreadable | None:
    """JSON true or false, or the string "true" or "false" (any case). A number is not read as one:
    1 may be a count as well as a yes."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return Unreadable(value, "true or false")


def read_time(value: Any) -> datetime | Unreadable | None:
    """An RFC 3339 time (Z or an offset; one without a zone is UTC, as the contract's times are), or
    epoch seconds or milliseconds, as a number or a numeric string."""
    if value is None:
        return None
    wanted = "an RFC 3339 time or epoch seconds"
    number = read_number(value)
    if isinstance(number, (int, float)):
        return _epoch(number, value, wanted)
    if not isinstance(value, str):
        return Unreadable(value, wanted)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return Unreadable(value, wanted)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _epoch(number: float, value: Any, wanted: str) -> datetime | Unreadable:
    seconds = number / 1000 if abs(number) >= MILLISECONDS_FROM else number
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return Unreadable(value, wanted)
