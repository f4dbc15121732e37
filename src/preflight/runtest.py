"""What the plugin's hooks do: start and finish a run, wrap each test with its evidence."""

from __future__ import annotations

from typing import Any

import pytest

from preflight import collect, options, results
from preflight.client import idempotency_key
from preflight.failures import PreflightFailure
from preflight.redact import redact_text
from preflight.session import PreflightSession, StartError

RECORD = pytest.StashKey[results.TestRecord]()


def start(preflight: PreflightSession, worker_payload: str | None) -> None:
    if not preflight.armed:
        return
    try:
        if worker_payload:
            preflight.start_worker(worker_payload)
        else:
            preflight.start_controller()
    except StartError as exc:
        preflight.start_problem = str(exc)
        if not preflight.is_worker:
            _write_outputs(preflight, None)
        preflight.finish()
        raise pytest.UsageError(str(exc)) from None


def finish(preflight: PreflightSession, session: pytest.Session) -> None:
    if preflight.armed and not preflight.is_worker and preflight.runtime is not None:
        _write_outputs(preflight, session.config.getoption("allure_report_dir", None))
    preflight.finish()


def _write_outputs(preflight: PreflightSession, alluredir: str | None) -> None:
    run_config = preflight.run_config
    preflight.gate = results.write_outputs(
        preflight.collector.ordered(), runtime=preflight.runtime,
        target=run_config.target if run_config else None, reports_dir=preflight.reports_dir(),
        alluredir=alluredir, finished_at=results.now_iso(), start_problem=preflight.start_problem,
        run_id=preflight.run_id, html_report=options.get(preflight.pytest_config, "preflight_html_report"))


def header(preflight: PreflightSession) -> list[str]:
    if not preflight.armed or preflight.runtime is None or preflight.run_config is None:
        return []
    target, runtime = preflight.run_config.target, preflight.runtime
    return [f"preflight: run {runtime.run_id}, target {target.name} ({runtime.base_url}), handle {target.handle}, "
            f"{len(preflight.run_config.campaigns)} campaign(s)"]


def terminal_summary(preflight: PreflightSession, reporter: Any) -> None:
    gate = getattr(preflight, "gate", None)
    if not gate:
        return
    reports = preflight.reports_dir()
    failures = [r for r in gate["results"] if r["outcome"] in ("failed", "error")]
    reporter.section("campaign preflight", sep="=", bold=True)
    reporter.line(f"verdict: {gate['verdict']}  (run {gate['runId']}, target {gate['target']})",
                  green=gate["verdict"] == "PASS", red=gate["verdict"] != "PASS")
    for result in failures:
        reporter.line(f"  [{result['category']}] {result['nodeid']}")
    for left in gate.get("leftovers", []):
        for link in left.get("linksNotRetired", []):
            reporter.line(f"warning: link {link['slug']} of {left['campaignId']} is still enabled: {link['error']}",
                          yellow=True)
    reporter.line(f"gate: {reports / 'gate.json'}")
    reporter.line(f"summary: {reports / 'summary.md'}")
    escalations = [r["escalation"] for r in failures if r.get("escalation")]
    if escalations:
        reporter.line(f"escalation payloads: {len(escalations)} in {reports / 'escalations'}")


class RuntestHooks:
    """Registered only on an armed run: per-test evidence, failure classification."""

    def __init__(self, preflight: PreflightSession) -> None:
        self.preflight = preflight

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        self._begin(item)
        return (yield from _categorized("setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        return (yield from _categorized("call"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        record = item.stash.get(RECORD, None)
        if record is None:
            return report
        evidence = None
        if report.failed and call.excinfo is not None:
            evidence = results.evidence_for(call.excinfo.value, call.when, record,
                                            target=self.preflight.run_config.target,
                                            reports_dir=self.preflight.reports_dir(), send=self._sender(record))
            if evidence.category != "harness_error":
                # The platform's failure is in the message; the harness's stack would only hide it.
                report.longrepr = f"{item.nodeid}\n{evidence.message}"
            else:  # keep the stack for a harness bug, but never a token from its locals
                report.longrepr = redact_text(report.longreprtext)
        if call.when == "call" or report.failed or report.skipped:
            from preflight.report import allure

            allure.attach_json("artifacts", record.artifacts_json())
            props = results.properties(record, evidence)
            report.user_properties.extend(props)
            # junit.xml reads the teardown report's properties, which pytest copies from the item.
            item.user_properties.extend(props)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.preflight.is_worker:
            return
        self.preflight.collector.add(report.nodeid, report.when, report.outcome, report.user_properties,
                                     report.longreprtext)

    def _begin(self, item: pytest.Item) -> None:
        from preflight.report import allure

        runtime = self.preflight.runtime
        info = collect.item_info(item)
        record = self.preflight.recorder.begin(item.nodeid, info, runtime.run_id if runtime else "")
        item.stash[RECORD] = record
        if info is not None:
            allure.set_labels(feature=info.feature, story=info.story(), step=info.step,
                              campaign_id=record.campaign_id, slug=record.slug)

    def _sender(self, record: results.TestRecord):
        runtime = self.preflight.runtime
        if runtime is None or not runtime.escalate:
            return None
        from preflight import escalation

        client = self.preflight.client()

        def post(body: dict) -> Any:
            key = idempotency_key(runtime.run_id, "escalation", record.campaign_id or "", record.slug or "",
                                  record.nodeid)
            return client.call("support_report", step="escalation", key=key, json_body=body)

        return lambda payload: escalation.send_payload(post, payload)


def _categorized(when: str):
    """The body of a hook wrapper that gives any exception from a test its category."""
    try:
        return (yield)
    except PreflightFailure:
        raise
    except Exception as exc:  # skips and xfails are BaseException, and pass through
        raise as_failure(exc, when) from exc


def as_failure(exc: Exception, when: str = "call") -> PreflightFailure:
    """Any exception from a step gets a category, so every failure names one."""
    if isinstance(exc, PreflightFailure):
        return exc
    from preflight import classify

    verdict = classify.classify(exc, when)
    return PreflightFailure(category=verdict.category, summary=verdict.summary, next_step=verdict.next_step)
