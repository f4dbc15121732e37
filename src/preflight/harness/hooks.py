"""What the plugin's hooks do: start and finish a run, check the plan before the first test,
and wrap each test with its evidence."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from preflight.core import paste
from preflight.core.categories import STOP_CATEGORIES, Category
from preflight.core.redact import redact_text
from preflight.harness import collect, options, results
from preflight.harness.session import PreflightSession
from preflight.harness.xdist_adapter import has_workers, is_worker
from preflight.lifecycle.failures import NotChecked, PreflightFailure, Unjudged
from preflight.ops import quota

RECORD = pytest.StashKey[results.TestRecord]()
PLANNED = pytest.StashKey[Any]()


def session_for(config: pytest.Config) -> PreflightSession:
    """This process's part of the run: the controller's, or a worker's."""
    from preflight.harness.controller import Controller
    from preflight.harness.worker import Worker

    session = (Worker if is_worker(config) else Controller)(config)
    session.armed = options.given(config, "preflight_config") or session.default_config().is_file()
    session.audit = session.armed and collect.is_audit(config)
    return session


# -- collection ------------------------------------------------------------------------------------


def census_before_selection(preflight: PreflightSession, config: pytest.Config, items: list[pytest.Item]) -> None:
    if preflight.start_problem or (preflight.runtime is None and not preflight.collect_only):
        items.clear()  # the run could not start: nothing to run (the gate says why)
        return
    collect.drop_browser_checks(items, preflight.run_config)
    collect.order(items)
    config.stash[PLANNED] = collect.census(items)
    collect.keep_shard(config, items, preflight.shard)


def after_selection(config: pytest.Config, items: list[pytest.Item]) -> None:
    collect.skip_unmet_needs(items, config.stash.get(PLANNED, collect.census(items)))


def collection_finished(preflight: PreflightSession, session: pytest.Session) -> None:
    planned = session.config.stash.get(PLANNED, None)
    collection = {
        "planned": sum(planned.values()) if planned else len(session.items),
        "selected": collect.selected(session.items),
    }
    target = options.get(session.config, "preflight_collect_to")
    if target and preflight.collect_only:
        Path(target).write_text(json.dumps(collection))
    elif not preflight.collect_only:
        preflight.keep_collection(collection)


def before_first_test(preflight: PreflightSession, session: pytest.Session) -> bool | None:
    """Without xdist: True (the tests are skipped) when the plan check stops the run."""
    if preflight.is_worker or has_workers(session) or preflight.start_problem or preflight.runtime is None:
        return None
    return None if preflight.before_first_test() else True


# -- the end ---------------------------------------------------------------------------------------


class Stop:
    """Why pytest stopped early, as a person would say it."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def keyboard_interrupt(self, excinfo: pytest.ExceptionInfo) -> None:
        text = str(excinfo.value).strip()
        if text and text not in ("SIGINT", "SIGTERM"):
            self.reason = f"stopped: {text}"


STOP = pytest.StashKey[Stop]()


def finish(preflight: PreflightSession, session: pytest.Session) -> None:
    if preflight.armed and not preflight.is_worker:
        preflight.end(session, _stopped(preflight, session))
    preflight.finish()


def _stopped(preflight: PreflightSession, session: pytest.Session) -> str | None:
    signals = preflight.interrupts.signals
    if signals:
        return f"interrupted by {signals[0]}"
    if session.shouldstop or session.shouldfail:
        return f"stopped: {session.shouldstop or session.shouldfail}"
    stop = session.config.stash.get(STOP, None)
    return stop.reason if stop else None


def progress_line(campaign: str, done: list[dict]) -> str:
    """A campaign's line once its last test is done, as report.judgement judges it."""
    from preflight.report import judgement, matrix

    judged = judgement.campaign(matrix.build(done).get(campaign, {}))
    head = f"campaign {campaign}: {len(done)} tests"
    if judged.failed:
        failed = [r for r in done if judgement.is_bad(r)]
        categories = ", ".join(dict.fromkeys(judgement.category(r) or "?" for r in failed))
        return f"{head}, {len(failed)} failed in step(s) {' '.join(judged.failed)} ({categories})"
    passed = f"steps {' '.join(judged.passed)} passed" if judged.passed else "nothing passed"
    chosen = f"; {' '.join(judged.not_checked)} not checked, by choice" if judged.not_checked else ""
    if judged.held:
        return (
            f"{head}, not proven ready (HOLD): step(s) {' '.join(judged.unjudged)} could not judge ({passed}{chosen})"
        )
    if judged.ready:
        return f"{head}, ready ({passed})"
    if judged.passed:
        return f"{head}, no finding where checked ({passed}{chosen})"
    return f"{head}, nothing judged ({passed}{chosen})"


def header(preflight: PreflightSession) -> list[str]:
    if not preflight.armed or preflight.runtime is None or preflight.run_config is None:
        return []
    target, runtime = preflight.run_config.target, preflight.runtime
    what = " (an audit of the live campaigns: reads only)" if preflight.audit else ""
    lines = [
        f"preflight: run {runtime.run_id}{what}, target {target.name} ({runtime.base_url}), handle {target.handle}, "
        f"{len(preflight.run_config.campaigns)} campaign(s)"
    ]
    if runtime.embedded and options.get(preflight.pytest_config, "preflight_run_id"):
        lines.append(
            f"preflight: --run-id {runtime.run_id} on the embedded sandbox: it starts empty with each run, so "
            "nothing of an earlier run is adopted (a rerun adopts on a remote target)"
        )
    lines += [f"preflight readiness: {row.status} {row.item}: {row.detail}" for row in preflight.readiness]
    return lines


def terminal_summary(preflight: PreflightSession, reporter: Any) -> None:
    gate = getattr(preflight, "gate", None)
    if not gate:
        return
    staged = str(preflight.reports_dir())
    # Under `preflight run` the outputs are staged, then moved where the user looks for them.
    final = str(paste.final_reports() or staged)

    def shown(path: str) -> str:
        return str(path).replace(staged, final, 1)

    reporter.section("campaign preflight", sep="=", bold=True)
    where = ", ".join(part for part in (f"run {gate['runId']}", gate["target"] and f"target {gate['target']}") if part)
    reason = (
        gate["reason"]
        if not gate.get("problem")
        else f"the run could not start its tests ({gate.get('problemCategory')}; nothing was written):"
    )
    reporter.line(
        f"verdict: {gate['verdict']}  ({where}): {reason}",
        green=gate["verdict"] == "PASS",
        red=gate["verdict"] != "PASS",
    )
    for line in (gate.get("problem") or "").splitlines():
        reporter.line(f"  {line}")
    tests = gate.get("tests") or {}
    if tests.get("selected") is not None:
        reporter.line(
            f"tests: {tests['ran']} of {tests['selected']} selected ran ({tests['planned']} planned"
            + (f", selection {tests['selection']}" if tests.get("selection") else "")
            + ")"
        )
    for result in gate["results"]:
        if result["outcome"] in ("failed", "error"):
            reporter.line(f"  [{result['category']}] {result['nodeid']}")
    for esc in gate.get("escalations", []):
        sent = f", ticket {esc['ticketId']}" if esc.get("ticketId") else ""
        if esc.get("sendError"):
            sent = f", NOT SENT: {esc['sendError']}"
        reporter.line(
            f"root cause [{esc['category']}] {esc['cause']}: {len(esc['tests'])} test(s), "
            f"payload {shown(esc['file'])}{sent}",
            yellow=bool(esc.get("sendError")),
        )
    cleanup = gate.get("cleanup") or {}
    if cleanup.get("skipped"):
        reporter.line(f"warning: clean-up skipped ({cleanup['skipped']})", yellow=True)
    for left in gate.get("leftovers", []):
        for link in left.get("linksLeftEnabled", []):
            reporter.line(
                f"warning: link {link['slug']} of {left['campaignId']} may still be enabled"
                + (f": {link['error']}" if link.get("error") else ""),
                yellow=True,
            )
    if cleanup.get("command"):
        reporter.line(f"retire them later with: {cleanup['command']}", yellow=True)
    elif cleanup.get("check"):
        reporter.line(f"nothing it enabled is left enabled by its journal's account; to check: {cleanup['check']}")
    if cleanup.get("note") and gate.get("leftovers"):
        reporter.line(f"note: {cleanup['note']}")
    reporter.line(f"gate: {Path(final) / 'gate.json'}")
    reporter.line(f"summary: {Path(final) / 'summary.md'}")


class RuntestHooks:
    """Registered only on an armed run: per-test evidence, failure classification."""

    def __init__(self, preflight: PreflightSession) -> None:
        self.preflight = preflight
        # Counted as the tests end (not rescanned at each one: a 100-campaign run has ~3,000 tests).
        self._planned: tuple[Any, Counter] | None = None  # (the collection counted, tests per campaign)
        self._done: dict[str, dict[str, dict]] = {}  # campaign -> nodeid -> result, in the order they ended

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        self._begin(item)
        return (yield from _categorized("setup", self._judged, item.stash[RECORD]))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        return (yield from _categorized("call", self._judged, item.stash[RECORD]))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        record = item.stash.get(RECORD, None)
        if record is None:
            return report
        evidence = None
        if report.failed and call.excinfo is not None:
            evidence = results.evidence_for(call.excinfo.value, call.when, record)
            if evidence.category != Category.HARNESS_ERROR:
                # The platform's failure is in the message; the harness's stack would only hide it.
                report.longrepr = f"{item.nodeid}\n{evidence.message}"
            else:  # keep the stack for a harness bug, but never a token from its locals
                report.longrepr = redact_text(report.longreprtext)
            if evidence.category in STOP_CATEGORIES and not item.session.shouldstop:
                item.session.shouldstop = (
                    f"{item.nodeid} failed with {evidence.category}; every later test would fail the same way"
                )
        if report.skipped and record.skip is None:
            record.skip = results.skip_of_mark(item.get_closest_marker(collect.BY_CHOICE_MARK), report)
        if call.when == "call" or report.failed or report.skipped:
            from preflight.report import allure

            # After allure-pytest named the test (at the end of its setup): the title in words.
            info = record.info
            allure.describe_test(
                collect.title(item), info.stem if info else None, info.variant if info else None, item.nodeid
            )
            allure.attach_json("artifacts", record.artifacts_json())
            if record.skip is not None:
                allure.set_skip_kind(record.skip.kind)
            props = results.properties(record, evidence)
            report.user_properties.extend(props)
            # junit.xml reads the teardown report's properties, which pytest copies from the item.
            item.user_properties.extend(props)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.preflight.is_worker:
            return
        # A passed report's text is never read (and pytest renders it through a new TerminalWriter).
        longrepr = "" if report.passed else report.longreprtext
        self.preflight.collector.add(report.nodeid, report.when, report.outcome, report.user_properties, longrepr)
        if report.when == "teardown":
            self._progress(report.nodeid)

    def _progress(self, nodeid: str) -> None:
        """A line per campaign once its last test is done, so a long run reads as campaigns, not dots."""
        config = self.preflight.pytest_config
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        collection = self.preflight.collection
        result = self.preflight.collector.results.get(nodeid)
        if reporter is None or config.getoption("verbose") < 0 or not collection or not result:
            return
        campaign = result.get("campaign")
        if not campaign or result["outcome"] == results.UNFINISHED:
            return
        done = self._done.setdefault(campaign, {})
        done[nodeid] = result
        planned = self._planned_per_campaign(collection)[campaign]
        if planned and len(done) == planned:
            # On a line of its own, between pytest's progress dots.
            reporter.write("\n" + progress_line(campaign, list(done.values())) + "\n")

    def _planned_per_campaign(self, collection: dict[str, Any]) -> Counter:
        if self._planned is None or self._planned[0] is not collection:
            self._planned = (collection, Counter(item.get("stem") for item in collection.get("selected", [])))
        return self._planned[1]

    def _judged(self, failure: PreflightFailure) -> PreflightFailure:
        if quota.refused_for_quota(failure) is None or self.preflight.runtime is None:
            return failure
        return quota.second_opinion(self.preflight.client(), failure, self.preflight.runtime.scratch)

    def _begin(self, item: pytest.Item) -> None:
        from preflight.report import allure

        runtime = self.preflight.runtime
        info = collect.item_info(item)
        record = self.preflight.recorder.begin(
            item.nodeid, info, runtime.run_id if runtime else "", self.preflight.names(info)
        )
        item.stash[RECORD] = record
        if info is not None:
            allure.set_labels(info.step, info.stem, info.variant, campaign_id=record.campaign_id, slug=record.slug)


def _categorized(when: str, judge: Callable[[PreflightFailure], PreflightFailure], record: results.TestRecord):
    """The body of a hook wrapper that gives any exception from a test its category (and lets
    `judge` look twice at a failure, e.g. a quota refusal the platform's own meters contradict); a
    check that could not judge, or was left out by choice, is skipped and says which."""
    try:
        return (yield)
    except PreflightFailure as failure:
        judged = judge(failure)
        if judged is failure:
            raise
        raise judged from failure
    except Unjudged as exc:
        record.skip = results.Skip(results.UNJUDGED, exc.reason, fix=exc.fix)
        pytest.skip(exc.reason)
    except NotChecked as exc:
        record.skip = results.Skip(results.BY_CHOICE, exc.reason, would_catch=exc.would_catch)
        pytest.skip(exc.reason)
    except Exception as exc:  # skips and xfails are BaseException, and pass through
        raise as_failure(exc, when) from exc


def as_failure(exc: Exception, when: str = "call") -> PreflightFailure:
    """Any exception from a step gets a category, so every failure names one."""
    if isinstance(exc, PreflightFailure):
        return exc
    from preflight.lifecycle import classify

    verdict = classify.classify(exc, when)
    return PreflightFailure(category=verdict.category, summary=verdict.summary, next_step=verdict.next_step)
