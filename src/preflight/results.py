"""Per-test evidence and outcomes.

On the process that runs a test: record every exchange, turn a failure into its
category and escalation payload, and attach it all to the report. On the controller:
collect each test's outcome (from `report.user_properties`, which xdist carries) and
write the gate, the summary and the Allure environment at the end.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from preflight.exchange import Exchange
from preflight.failures import PreflightFailure
from preflight.lifecycle import STEPS, Artifacts, campaign_id_for, live_slug

PROP = "preflight."


@dataclass
class ItemInfo:
    step: str
    stem: str | None
    variant: str | None

    @property
    def feature(self) -> str:
        return STEPS[self.step].feature

    def story(self) -> str:
        return ":".join(part for part in (self.stem, self.variant) if part) or self.step


@dataclass
class TestRecord:
    nodeid: str
    info: ItemInfo | None
    run_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    artifacts: Artifacts = field(default_factory=Artifacts)

    @property
    def campaign_id(self) -> str | None:
        return campaign_id_for(self.run_id, self.info.stem) if self.info and self.info.stem else None

    @property
    def slug(self) -> str | None:
        return live_slug(self.run_id, self.info.variant) if self.info and self.info.variant else None

    def artifacts_json(self) -> dict[str, Any]:
        base = {"runId": self.run_id, "campaignId": self.campaign_id, "slug": self.slug,
                "requestIds": [ex.request_id for ex in self.exchanges if ex.request_id]}
        return {**base, **self.artifacts}


class Recorder:
    """Holds the test that is running on this process and its evidence."""

    def __init__(self) -> None:
        self.current: TestRecord | None = None

    def begin(self, nodeid: str, info: ItemInfo | None, run_id: str) -> TestRecord:
        self.current = TestRecord(nodeid=nodeid, info=info, run_id=run_id)
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
    escalation: str | None = None
    ticket_id: str | None = None


def evidence_for(exc: BaseException, when: str, record: TestRecord, *, target: Any, reports_dir: Path,
                 send: Callable[[dict], str | None] | None) -> FailureEvidence:
    """Classify a failure, write (and maybe send) its escalation, attach both."""
    from preflight import classify, escalation
    from preflight.report import allure

    failure = exc if isinstance(exc, PreflightFailure) else None
    verdict = classify.classify(exc, when)
    message = str(exc) if failure else f"[{verdict.category}] {verdict.summary}"
    ids = failure.request_ids if failure else []
    evidence = FailureEvidence(category=verdict.category, message=message,
                               request_ids=ids or [ex.request_id for ex in record.exchanges[-1:] if ex.request_id])
    allure.set_category(verdict.category)  # the label allurerc.mjs also matches on
    if not escalation.should_escalate(verdict.category) or failure is None or failure.duplicate_of:
        return evidence
    payload = escalation.build_payload(
        failure, handle=target.handle, run_id=record.run_id, environment=target.name, role=target.role,
        nodeid=record.nodeid, step=record.info.step if record.info else when,
        campaign_id=record.campaign_id, slug=record.slug)
    if send is not None:
        evidence.ticket_id = send(payload)
        payload = {**payload, "ticketId": evidence.ticket_id}
    evidence.escalation = str(escalation.write_payload(payload, reports_dir, record.nodeid))
    allure.attach_json("escalation payload (POST /v2/support/report)", payload)
    return evidence


def properties(record: TestRecord, evidence: FailureEvidence | None) -> list[tuple[str, Any]]:
    """What travels to the controller (and into junit.xml) for this test."""
    info = record.info
    props: list[tuple[str, Any]] = [
        (PROP + "step", info.step if info else None),
        (PROP + "campaignId", record.campaign_id),
        (PROP + "slug", record.slug),
        (PROP + "requestIds", " ".join(ex.request_id for ex in record.exchanges if ex.request_id)),
    ]
    if evidence is not None:
        props += [(PROP + "category", evidence.category), (PROP + "message", evidence.message),
                  (PROP + "failingRequestIds", " ".join(evidence.request_ids)),
                  (PROP + "escalation", evidence.escalation), (PROP + "ticketId", evidence.ticket_id)]
    return [(name, value) for name, value in props if value not in (None, "")]


class Collector:
    """The controller's view: one result per test, merged over setup/call/teardown."""

    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def add(self, nodeid: str, when: str, outcome: str, user_properties: list, longrepr: str) -> None:
        props = {name[len(PROP):]: value for name, value in user_properties if str(name).startswith(PROP)}
        result = self.results.setdefault(nodeid, {
            "nodeid": nodeid, "step": None, "campaignId": None, "slug": None, "outcome": "passed",
            "message": "", "category": None, "requestIds": [], "escalation": None, "ticketId": None})
        result.update({k: props[k] for k in ("step", "campaignId", "slug") if k in props})
        result["requestIds"] = _merge_ids(result["requestIds"], props.get("requestIds", ""))
        if outcome == "skipped" and when != "teardown":
            result.update(outcome="skipped", message=_skip_reason(longrepr))
        elif outcome == "failed":
            result.update(outcome="failed" if when == "call" else "error",
                          message=props.get("message") or _last_line(longrepr),
                          category=props.get("category") or "harness_error",
                          escalation=props.get("escalation"), ticketId=props.get("ticketId"))
            if props.get("failingRequestIds"):
                result["failingRequestIds"] = props["failingRequestIds"].split()

    def ordered(self) -> list[dict[str, Any]]:
        return list(self.results.values())


def _merge_ids(known: list[str], more: str) -> list[str]:
    return known + [rid for rid in more.split() if rid not in known]


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _skip_reason(longrepr: str) -> str:
    text = longrepr.strip()
    return text.split("Skipped: ", 1)[-1].rstrip("')") if "Skipped" in text else text


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_outputs(results: list[dict[str, Any]], *, runtime: Any, target: Any, reports_dir: Path,
                  alluredir: str | None, finished_at: str, start_problem: str | None = None,
                  run_id: str | None = None, html_report: str | None = "allure-report/index.html") -> dict[str, Any]:
    from preflight import __version__
    from preflight.report import allure, gate

    reports_dir.mkdir(parents=True, exist_ok=True)
    report_path = str(reports_dir / html_report) if html_report and html_report != "none" else None
    run_id = runtime.run_id if runtime else run_id
    target_name = target.name if target else None
    leftovers = [json.loads(p.read_text()) for p in sorted((reports_dir / "leftovers").glob("*.json"))]
    gate.write_gate(reports_dir / "gate.json", run_id=run_id, target=target_name,
                    started_at=runtime.started_at if runtime else finished_at, finished_at=finished_at,
                    results=results, report_path=report_path, problem=start_problem, leftovers=leftovers)
    gate.write_summary(reports_dir / "summary.md", run_id=run_id, target=target_name, results=results,
                       report_path=report_path, problem=start_problem)
    if alluredir and runtime and target:
        props = {"target": target.name, "handle": target.handle, "plan": target.plan, "role": target.role,
                 "base_url": runtime.base_url, "run_id": runtime.run_id, "harness_version": __version__}
        allure.write_environment(alluredir, props)
        allure.write_executor(alluredir, {"name": "campaign-preflight", "type": "campaign-preflight",
                                          "buildName": runtime.run_id, "reportName": f"preflight {runtime.run_id}"})
    return json.loads((reports_dir / "gate.json").read_text())
