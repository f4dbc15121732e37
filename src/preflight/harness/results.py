"""Per-test evidence and outcomes.

On the process that runs a test: record every exchange, turn a failure into its
category and escalation payload, and attach it all to the report. On the controller:
collect each test's outcome (from `report.user_properties`, which xdist carries) and
write the gate, the summary and the Allure environment at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.model import NOT_CHECKED, Artifacts
from preflight.lifecycle.playbook import STEPS

PROP = "preflight."
UNFINISHED = "unfinished"  # set up, but stopped before its outcome
# A skipped test's kind: a check in scope that could not judge (HOLD), or one left out on purpose.
UNJUDGED, BY_CHOICE = "unjudged", "by choice"


@dataclass
class Skip:
    """Why a test did not judge: its kind, the reason, and what makes it judgeable (or what it would
    have caught)."""

    kind: str
    why: str
    fix: str = ""
    would_catch: str = ""


def skip_of_mark(mark: Any, report: Any) -> Skip:
    """A skip no check announced: by choice when the test carries the by-choice mark (a selection
    that left out what it builds on), else a check that could not judge (never a quiet skip)."""
    reason = _skip_reason(report.longreprtext)
    if mark is not None:
        return Skip(BY_CHOICE, reason, would_catch=mark.kwargs.get("would_catch", ""))
    return Skip(UNJUDGED, reason)


@dataclass
class ItemInfo:
    step: str
    stem: str | None
    variant: str | None

    @property
    def feature(self) -> str:
        return STEPS[self.step].group

    def story(self) -> str:
        return ":".join(part for part in (self.stem, self.variant) if part) or self.step


@dataclass
class TestRecord:
    nodeid: str
    info: ItemInfo | None
    run_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    artifacts: Artifacts = field(default_factory=Artifacts)
    # The platform's ids of the test's campaign and variant: the run's throwaway copy, or the live one
    campaign_id: str | None = None
    slug: str | None = None
    skip: Skip | None = None  # why it did not judge, when it was skipped

    def artifacts_json(self) -> dict[str, Any]:
        base = {
            "runId": self.run_id,
            "campaignId": self.campaign_id,
            "slug": self.slug,
            "requestIds": [ex.request_id for ex in self.exchanges if ex.request_id],
        }
        return {**base, **self.artifacts}


class Recorder:
    """Holds the test that is running on this process and its evidence."""

    def __init__(self) -> None:
        self.current: TestRecord | None = None

    def begin(
        self, nodeid: str, info: ItemInfo | None, run_id: str, names: tuple[str | None, str | None] = (None, None)
    ) -> TestRecord:
        """`names`: the campaign id and slug on the platform (PreflightSession.names)."""
        self.current = TestRecord(nodeid=nodeid, info=info, run_id=run_id, campaign_id=names[0], slug=names[1])
        return self.current

    def on_exchange(self, exchange: Exchange) -> None:
        from preflight.report import allure

        if self.current is not None:
            self.current.exchanges.append(exchange)
            allure.attach_exchange(exchange)

    @contextmanager
    def detached(self) -> Iterator[None]:
        """No test is running (e.g. session teardown): record nothing against the last one."""
        current, self.current = self.current, None
        try:
            yield
        finally:
            self.current = current


@dataclass
class FailureEvidence:
    category: str
    message: str
    request_ids: list[str]
    next_step: str = ""  # what to do, as the step that raised it said (or its category's default)
    cause: str = ""
    escalate: bool = False
    consequence_of: str | None = None  # an earlier failure this one follows from
    follows: tuple[str, ...] = ()  # the steps whose failure would explain this one
    draft: dict[str, Any] | None = None  # its part of the root cause's support report
    party: str | None = None  # who must act: platform, marketer, customer site, user or harness


def evidence_for(exc: BaseException, when: str, record: TestRecord) -> FailureEvidence:
    """Classify a failure; a platform failure also gets its escalation draft, attached."""
    from preflight.lifecycle import classify
    from preflight.report import allure, escalation

    failure = exc if isinstance(exc, PreflightFailure) else None
    verdict = classify.classify(exc, when)
    message = str(exc) if failure else f"[{verdict.category}] {verdict.summary}"
    ids = failure.request_ids if failure else []
    evidence = FailureEvidence(
        category=verdict.category,
        message=message,
        next_step=verdict.next_step,
        request_ids=ids or [ex.request_id for ex in record.exchanges[-1:] if ex.request_id],
    )
    allure.set_category(verdict.category)  # the label allurerc.mjs also matches on
    if failure is None:
        return evidence
    evidence.party = failure.party
    evidence.cause = escalation.cause_of(failure)
    evidence.consequence_of = failure.duplicate_of
    evidence.follows = failure.follows
    evidence.escalate = failure.escalate and escalation.should_escalate(failure.category)
    if evidence.escalate and not failure.duplicate_of:
        evidence.draft = escalation.draft(
            failure,
            nodeid=record.nodeid,
            step=record.info.step if record.info else when,
            campaign_id=record.campaign_id,
            slug=record.slug,
        )
        allure.attach_json(
            f"escalation draft (root cause {evidence.draft['group']}: one support report per "
            "root cause, in escalations/)",
            evidence.draft,
        )
    return evidence


def properties(record: TestRecord, evidence: FailureEvidence | None) -> list[tuple[str, Any]]:
    """What travels to the controller (and into junit.xml) for this test."""
    info = record.info
    props: list[tuple[str, Any]] = [
        (PROP + "step", info.step if info else None),
        (PROP + "campaign", info.stem if info else None),
        (PROP + "variant", info.variant if info else None),
        (PROP + "campaignId", record.campaign_id),
        (PROP + "slug", record.slug),
        (PROP + "requestIds", " ".join(ex.request_id for ex in record.exchanges if ex.request_id)),
        (PROP + "worker", os.environ.get("PYTEST_XDIST_WORKER", "main")),
    ]
    if record.artifacts.get("liveFunnel"):
        props.append((PROP + "funnel", json.dumps(record.artifacts["liveFunnel"])))
    if record.artifacts.get(NOT_CHECKED):
        props.append((PROP + "notChecked", json.dumps(record.artifacts[NOT_CHECKED])))
    if record.skip is not None:
        props += [
            (PROP + "skip", record.skip.kind),
            (PROP + "fix", record.skip.fix),
            (PROP + "wouldCatch", record.skip.would_catch),
        ]
    if evidence is not None:
        props += [
            (PROP + "category", evidence.category),
            (PROP + "party", evidence.party),
            (PROP + "message", evidence.message),
            (PROP + "nextStep", evidence.next_step),
            (PROP + "failingRequestIds", " ".join(evidence.request_ids)),
            (PROP + "cause", evidence.cause),
            (PROP + "consequenceOf", evidence.consequence_of),
            (PROP + "follows", " ".join(evidence.follows)),
            (PROP + "escalate", "yes" if evidence.escalate else "no"),
            (PROP + "draft", json.dumps(evidence.draft) if evidence.draft else None),
        ]
    # Plain str: xdist's wire format (execnet) takes the builtin types only, not a StrEnum.
    return [
        (name, value if type(value) in (str, int, float, bool) else str(value))
        for name, value in props
        if value not in (None, "")
    ]


class Collector:
    """The controller's view: one result per test, merged over setup/call/teardown."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def add(self, nodeid: str, when: str, outcome: str, user_properties: list, longrepr: str) -> None:
        props = {name[len(PROP) :]: value for name, value in user_properties if str(name).startswith(PROP)}
        result = self.results.setdefault(
            nodeid,
            {
                "nodeid": nodeid,
                "step": None,
                "campaignId": None,
                "slug": None,
                "outcome": UNFINISHED,
                "message": "",
                "category": None,
                "requestIds": [],
                "escalation": None,
                "ticketId": None,
            },
        )
        result.update(
            {k: props[k] for k in ("step", "campaign", "variant", "campaignId", "slug", "worker") if k in props}
        )
        if props.get("funnel"):
            result["funnel"] = json.loads(props["funnel"])
        if props.get("notChecked"):
            result["notChecked"] = json.loads(props["notChecked"])
        result["requestIds"] = _merge_ids(result["requestIds"], props.get("requestIds", ""))
        if outcome == "passed" and when == "call" and result["outcome"] == UNFINISHED:
            result["outcome"] = "passed"
        elif outcome == "skipped" and when != "teardown":
            # A skip nobody said the kind of could not judge: never a quiet skip.
            result.update(outcome="skipped", message=_skip_reason(longrepr), skip=props.get("skip") or UNJUDGED)
            result.update({key: props[key] for key in ("fix", "wouldCatch") if props.get(key)})
        elif outcome == "failed" and result["outcome"] not in ("failed", "error"):
            # The first failure of a test is its finding; a teardown error after it adds nothing.
            result.update(
                outcome="failed" if when == "call" else "error",
                message=props.get("message") or _last_line(longrepr),
                category=props.get("category") or Category.HARNESS_ERROR,
                party=props.get("party"),
                nextStep=props.get("nextStep"),
                cause=props.get("cause"),
                consequenceOf=props.get("consequenceOf"),
                follows=(props.get("follows") or "").split(),
                escalate=props.get("escalate") == "yes",
                draft=json.loads(props["draft"]) if props.get("draft") else None,
            )
            if props.get("failingRequestIds"):
                result["failingRequestIds"] = props["failingRequestIds"].split()

    def ordered(self) -> list[dict[str, Any]]:
        """The tests that ran to an outcome (a test stopped mid-way, e.g. by Ctrl-C, did not)."""
        return [r for r in self.results.values() if r["outcome"] != UNFINISHED]

    def unfinished(self) -> list[str]:
        return [r["nodeid"] for r in self.results.values() if r["outcome"] == UNFINISHED]


def _merge_ids(known: list[str], more: str) -> list[str]:
    return known + [rid for rid in more.split() if rid not in known]


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _skip_reason(longrepr: str) -> str:
    """The reason of a skip's `(path, line, 'Skipped: …')` (quoted either way by repr)."""
    text = longrepr.strip()
    if "Skipped: " not in text:
        return text
    # pytest's skip longrepr is the repr of (path, line, "Skipped: …"): quoted with ' or, when the
    # reason holds a ', with "
    reason = text.split("Skipped: ", 1)[1]
    return reason[:-2] if reason.endswith(("')", '")')) else reason
