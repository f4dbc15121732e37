"""The one judgement of a run: each test's end, each cell (a campaign or a variant at one step),
each campaign, and the run's verdict.

Every view renders what this module decides and judges nothing itself: the progress line
(harness.hooks), the readiness matrix (report.matrix), summary.md (report.summary), gate.json
(report.gate), the Allure first screen (report.front) and the CI annotations (cli.gate).

Every check ends one of three ways: judged and fine, a finding, or unjudged with its reason (no
data, a route that answers 404/405, numbers lagging past the wait, a value it cannot read, a
missing tool). What the user left out on purpose (browser.use: off, no --click, a -k selection, a
shard) is "not checked, by choice", with what it would have caught: out of scope, not unjudged.

The verdict:
- PASS: every check in scope was made and none found anything (at least one passed).
- FAIL: the funnel is broken: a check found a platform problem (each root cause has one
  support-report payload), the customer's site or the marketer's settings. A finding wins.
- HOLD: nothing broken was found, and at least one check in scope could not judge: not broken,
  not proven (Argo Rollouts' Inconclusive, Kayenta's NODATA). Each says what makes it judgeable.
- ERROR: no verdict on the funnel: the run could not start or complete (config, a token or
  plan of the user's, a harness bug, an interruption, a `-x` stop, a lost worker), or
  nothing was checked. Never escalated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from preflight.core.categories import CUSTOMER_SITE, NO_VERDICT, Category, party
from preflight.lifecycle.classify import NEXT_STEPS
from preflight.lifecycle.playbook import STEPS
from preflight.report.facts import RunFacts

PASS, FAIL, ERROR, HOLD = "PASS", "FAIL", "ERROR", "HOLD"
EXIT_CODES = {PASS: 0, FAIL: 1, ERROR: 2, HOLD: 3}
BAD_OUTCOMES = frozenset({"failed", "error"})
# A skipped test's kind (harness.results writes it): could not judge, or left out on purpose.
UNJUDGED_SKIP, BY_CHOICE_SKIP = "unjudged", "by choice"
# A cell's state: a campaign (or a variant) at one step.
PASSED, FAILED, UNJUDGED, NOT_CHECKED, PARTLY = "passed", "failed", "unjudged", "not checked", "partly not checked"

Result = Mapping[str, Any]


# -- one test ---------------------------------------------------------------------------------------


def category(result: Result) -> str | None:
    # A failure nobody classified is a gap in the harness's own plumbing, so it counts as ours.
    if result.get("outcome") in BAD_OUTCOMES and not result.get("category"):
        return Category.HARNESS_ERROR
    return result.get("category")


def result_party(result: Result) -> str:
    """Who must act on a failed result: its own party when the finding said, else its category's."""
    return result.get("party") or party(category(result))


def next_step(result: Result) -> str:
    """A failure's next step, as the step that raised it said (carried as data), else its category's."""
    return result.get("nextStep") or NEXT_STEPS.get(category(result) or "", "")


def is_bad(result: Result) -> bool:
    return result.get("outcome") in BAD_OUTCOMES


def is_unjudged(result: Result) -> bool:
    """A check in scope that could not judge: a skip that does not say it was by choice."""
    return result.get("outcome") == "skipped" and result.get("skip") != BY_CHOICE_SKIP


def is_by_choice(result: Result) -> bool:
    return result.get("outcome") == "skipped" and result.get("skip") == BY_CHOICE_SKIP


# -- one cell -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """The tests of one campaign (or variant) at one step, judged together."""

    state: str
    passed: int
    unjudged: int
    not_checked: int
    failed: tuple[Result, ...]

    @property
    def failing_slugs(self) -> list[str]:
        return sorted({r["slug"] for r in self.failed if r.get("slug")})


def cell(results: Iterable[Result]) -> Cell:
    """Failed if any failed; else unjudged if any could not judge; else not checked if every test was
    left out by choice, partly if some were; else passed."""
    results = list(results)
    failed = tuple(r for r in results if is_bad(r))
    unjudged = sum(is_unjudged(r) for r in results)
    chosen = sum(is_by_choice(r) for r in results)
    passed = len(results) - len(failed) - unjudged - chosen
    if failed:
        state = FAILED
    elif unjudged:
        state = UNJUDGED
    elif chosen == len(results):
        state = NOT_CHECKED
    else:
        state = PARTLY if chosen else PASSED
    return Cell(state, passed, unjudged, chosen, failed)


def rows(results: Iterable[Result]) -> dict[str, dict[str, Cell]]:
    """{"spring-ab": {"1": Cell, …}, "spring-ab · spring-a": {…}}: rows in result order, step keys
    (the matrix's columns: "1"…"9", "A1"…) in playbook order."""
    grouped: dict[str, dict[str, list[Result]]] = {}
    for result in results:
        step = STEPS.get(result.get("step") or "")
        campaign = result.get("campaign") or result.get("campaignId")
        if step is None or not campaign:
            continue
        names = [campaign] + ([f"{campaign} · {result['variant']}"] if result.get("variant") else [])
        for name in names:
            grouped.setdefault(name, {}).setdefault(step.key, []).append(result)
    return {
        name: {key: cell(found) for key, found in sorted(steps.items(), key=_in_order)}
        for name, steps in grouped.items()
    }


# The matrix's columns in playbook order: the audit's checks (A1…), then the lifecycle's steps
# (the readiness re-checks share one column).
COLUMNS = list({step.key: step.title for step in STEPS.values()}.items())
_ORDER = {key: index for index, (key, _) in enumerate(COLUMNS)}


def _in_order(item: tuple[str, Any]) -> int:
    return _ORDER[item[0]]


# -- one campaign -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    """A campaign's steps, judged: ready only when every step it ran passed in full. A step left out by
    choice is out of the run's scope (no HOLD) but leaves the campaign "no finding where checked",
    never ready."""

    failed: tuple[str, ...]  # step keys with a failure
    unjudged: tuple[str, ...]  # step keys where a check could not judge (HOLD)
    not_checked: tuple[str, ...]  # step keys left out by choice, in full or in part
    passed: tuple[str, ...]  # step keys that passed in full

    @property
    def ready(self) -> bool:
        return not self.failed and not self.unjudged and not self.not_checked and bool(self.passed)

    @property
    def held(self) -> bool:
        return not self.failed and bool(self.unjudged)


def campaign(states: Mapping[str, str]) -> Campaign:
    """`states`: a campaign's row of the matrix (step key -> cell state)."""
    return Campaign(
        failed=tuple(k for k, s in states.items() if s == FAILED),
        unjudged=tuple(k for k, s in states.items() if s == UNJUDGED),
        not_checked=tuple(k for k, s in states.items() if s in (NOT_CHECKED, PARTLY)),
        passed=tuple(k for k, s in states.items() if s in (PASSED, PARTLY)),
    )


def campaigns(matrix: Mapping[str, Mapping[str, str]]) -> dict[str, Campaign]:
    """Each campaign of a matrix (its variant rows, "campaign · variant", left out), judged."""
    return {name: campaign(states) for name, states in matrix.items() if " · " not in name}


# -- the run --------------------------------------------------------------------------------------------


def verdict(results: Iterable[Result], facts: RunFacts | None = None) -> tuple[str, str]:
    """(verdict, the reason in one line)."""
    results = list(results)
    facts = facts or RunFacts()
    bad = [r for r in results if is_bad(r)]
    theirs = [r for r in bad if category(r) in NO_VERDICT]
    if facts.shards_problem:
        return ERROR, facts.shards_problem
    if facts.problem:
        return ERROR, f"the run could not start its tests: {_first(facts.problem)}"
    if theirs:
        first = theirs[0]
        return ERROR, (
            f"{len(theirs)} test(s) could not check the platform ({category(first)}, "
            f"{party(category(first))} side): {_first(first.get('message'))}"
        )
    if facts.selected is not None and len(results) < facts.selected:
        why = facts.stopped or "tests went missing (a worker was lost?)"
        return ERROR, f"{why}: {len(results)} of {facts.selected} selected tests ran"
    if facts.stopped and not bad:
        return ERROR, facts.stopped
    if bad:
        return FAIL, _fail_reason(bad, facts)
    if not results and _empty_shard(facts):
        shard = facts.shard
        return PASS, (
            f"shard {shard['index']}/{shard['total']} holds none of the config's "
            f"{len(shard.get('configured') or [])} campaign(s): nothing to run here, "
            "the other shards run them"
        )
    if not results:
        return ERROR, "nothing was checked: no test was selected"
    held = unjudged(results, facts)
    if held:
        first = held[0]
        return HOLD, (
            f"nothing broken was found, but {len(held)} check(s) in scope could not judge (not proven ready): "
            f"{first['why']}" + (f"; to judge it: {first['fix']}" if first.get("fix") else "")
        )
    if not any(r.get("outcome") == "passed" for r in results):
        return ERROR, "nothing was checked: every selected test was left out by choice"
    chosen = not_checked(results, facts)
    return PASS, (
        f"all {len(results)} selected tests ran"
        + (f"; {len(chosen)} check(s) not checked, by choice (notChecked says what each would catch)" if chosen else "")
        + _browser_note(facts.browser)
        + "".join(f"; {note}" for note in facts.notes)
    )


def unjudged(results: Iterable[Result], facts: RunFacts | None = None) -> list[dict[str, Any]]:
    """Every check in scope that could not judge: why, and the one thing that makes it judgeable."""
    found = [_entry(r, why_key="fix") for r in results if is_unjudged(r)]
    return found + list((facts or RunFacts()).unjudged)


def not_checked(results: Iterable[Result], facts: RunFacts | None = None) -> list[dict[str, Any]]:
    """Every check the user left out on purpose, and what it would have caught."""
    results = list(results)
    found = [_entry(r, why_key="wouldCatch") for r in results if is_by_choice(r)]
    for result in results:  # the parts a judged test's config leaves out
        for part in result.get("notChecked") or []:
            entry = _entry(result, why_key="wouldCatch")
            entry.update(
                check=f"{entry['check']}: {part.get('what') or '?'}",
                why=part.get("why") or "",
                wouldCatch=part.get("wouldCatch") or "",
            )
            found.append(entry)
    return found + list((facts or RunFacts()).not_checked)


def _entry(result: Result, *, why_key: str) -> dict[str, Any]:
    step = STEPS.get(result.get("step") or "")
    return {
        "check": f"{step.key} · {step.title}" if step else (result.get("step") or "?"),
        "test": result.get("nodeid"),
        "campaign": result.get("campaign") or result.get("campaignId"),
        "variant": result.get("variant"),
        "why": _first(result.get("message")) or "no reason given",
        why_key: result.get(why_key) or "",
    }


def exit_code(verdict_name: str | None) -> int:
    return EXIT_CODES.get(verdict_name or "", 2)


def _browser_note(browser: dict[str, Any] | None) -> str:
    """A PASS whose browser checks were left out says so in its reason (one that could not run is HOLD)."""
    if browser and browser.get("status") == "off":
        return "; the browser checks are off (browser.use: off)"
    return ""


# The findings that are not the platform's, counted apart from its root causes: who fixes them.
FIXED_BY = {
    "marketer": "to fix in the campaign (marketer side, not escalated)",
    CUSTOMER_SITE: "to fix on the customer's site (not escalated)",
}


def _fail_reason(bad: list[Result], facts: RunFacts) -> str:
    """One platform defect is one root cause (escalated); the marketer's and the customer site's
    findings are counted apart."""
    categories = ", ".join(dict.fromkeys(category(r) or "?" for r in bad))
    platform = [r for r in bad if result_party(r) not in FIXED_BY]
    parts = []
    if platform:
        roots = len(facts.escalations) or len({r.get("cause") or r.get("nodeid") for r in platform})
        parts.append(f"from {roots} root cause(s)")
    for side, fix in FIXED_BY.items():
        theirs = [r for r in bad if result_party(r) == side]
        if theirs:
            found = len({(r.get("cause") or r.get("nodeid"), r.get("slug")) for r in theirs})
            parts.append(f"{found} finding(s) (one per cause and variant) {fix}")
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + f" and {parts[-1]}"
    return f"{len(bad)} test(s) failed{' ' if joined.startswith('from') else ': '}{joined}: {categories}"


def _empty_shard(facts: RunFacts) -> bool:
    """A shard that no campaign hashes to (`--shard I/N` of a small config): it has nothing to run,
    which must not fail a CI matrix; `preflight merge` judges the whole run."""
    return bool(facts.shard) and facts.shard.get("campaigns") == [] and not facts.selected


def _first(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""
