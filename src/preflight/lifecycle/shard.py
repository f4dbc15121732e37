"""Which campaigns a shard runs: `--shard I/N` gives each campaign to exactly one of N shards.

A campaign's shard follows from its campaignId alone (sha256, mod N), so it is the same on
every machine and every rerun, whatever the order of the config or the run id, and adding or
removing a campaign moves no other one. Changing N reassigns campaigns. A hash does not
balance small configs: a shard may hold no campaign at all, and then runs nothing and says so.
A test of no campaign (a suite of your own) runs on shard 1 only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

USAGE = "give I/N, the shard's number I from 1 to N and the number of shards N, e.g. --shard 1/3"
SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1 to total
    total: int

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def holds(self, stem: str | None) -> bool:
        return shard_of(stem, self.total) == self.index if stem else self.index == 1

    def campaigns(self, stems: Iterable[str]) -> list[str]:
        return [stem for stem in stems if self.holds(stem)]

    def describe(self, stems: Iterable[str] | None) -> dict[str, Any]:
        """The gate's `shard`: which shard, its campaigns and every configured one (so a merge can
        tell that each campaign ran on exactly one shard)."""
        stems = list(stems) if stems is not None else None
        return {
            "index": self.index,
            "total": self.total,
            "campaigns": self.campaigns(stems) if stems is not None else None,
            "configured": stems,
        }


def parse(text: str) -> Shard:
    """`I/N`; a ValueError saying what is wrong and how to write it otherwise."""
    match = SPEC.match(str(text))
    if not match:
        raise ValueError(f"--shard {text!r} is not I/N; {USAGE}")
    index, total = int(match.group(1)), int(match.group(2))
    if total < 1:
        raise ValueError(f"--shard {text!r}: there must be at least one shard; {USAGE}")
    if not 1 <= index <= total:
        raise ValueError(f"--shard {text!r}: shard {index} of {total} does not exist; {USAGE}")
    return Shard(index, total)


def shard_of(stem: str, total: int) -> int:
    """The shard (1 to total) of a campaignId."""
    digest = hashlib.sha256(stem.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def assign(stems: Iterable[str], total: int) -> dict[int, list[str]]:
    """Every shard's campaigns, in the order given (a shard with none has an empty list)."""
    out: dict[int, list[str]] = {index: [] for index in range(1, total + 1)}
    for stem in stems:
        out[shard_of(stem, total)].append(stem)
    return out
