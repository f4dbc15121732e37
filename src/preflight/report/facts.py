"""What a run's outputs know of it besides its results: how many tests were planned, selected and
run, why it stopped, what it escalated and left enabled, its shard, browser and audit options.

Filled in by the finisher (report.finisher) from a run's controller or from a merge of shards; read
by the judgement (report.judgement) and every view of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIFECYCLE, AUDIT = "lifecycle", "audit"
# What an audit's PASS says it does not cover when it made no real click.
NO_CLICK_NOTE = "not checked without --click: one real click per variant (where it lands, its ctx)"


@dataclass
class RunFacts:
    """What the gate knows of the run besides its results."""

    planned: int | None = None  # tests the suites hold
    selected: int | None = None  # tests the invocation selected (-k, -m, paths)
    selection: str | None = None  # the selecting arguments, when any
    problem: str | None = None  # why the run could not start or had to stop before its tests
    problem_category: str | None = None
    stopped: str | None = None  # why it stopped early (a signal, -x, a lost worker, an auth failure)
    unfinished: list[str] = field(default_factory=list)  # tests stopped before their outcome
    escalations: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[dict[str, Any]] = field(default_factory=list)
    cleanup: dict[str, Any] = field(default_factory=dict)
    write_plan: dict[str, Any] | None = None
    pacing: dict[str, Any] | None = None  # the pace the run used (http.pacing.describe)
    since_last_pass: dict[str, Any] | None = None
    shard: dict[str, Any] | None = None  # this run's shard: index, total, campaigns, configured
    shards: list[dict[str, Any]] | None = None  # a merged gate's shards (preflight merge)
    shards_problem: str | None = None  # a merge that lacks a shard, or joins an ERROR one: no verdict
    browser: dict[str, Any] | None = None  # the shopper's journey: ran, skipped (why), off; what it blocked
    mode: str = LIFECYCLE  # AUDIT: the live campaigns, read only (preflight audit)
    audit: dict[str, Any] | None = None  # an audit's options: click, writes, what is left out without --click
    notes: list[str] = field(default_factory=list)  # what a PASS does not cover (e.g. no real click)
    # Checks in scope the run could not judge beyond its tests' own (check, campaign, variant, why, fix)
    unjudged: list[dict[str, Any]] = field(default_factory=list)
    # Checks left out by choice beyond its tests' own skips (check, why, wouldCatch): browser off, -k, a shard
    not_checked: list[dict[str, Any]] = field(default_factory=list)
