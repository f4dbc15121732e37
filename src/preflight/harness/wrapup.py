"""The end of a run, on the controller: retire what it enabled, one escalation per root
cause, the gate and the summary, and the exit status that follows from the verdict.

It runs once every worker is gone, whether the run finished, failed, was stopped by `-x`,
lost a worker or was interrupted (the first Ctrl-C or SIGTERM lets it run; a second one
skips the rest of the clean-up, and the gate says so).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.config import RunConfig
from preflight.core import paste
from preflight.harness.interrupts import CleanupSkipped, Interrupts
from preflight.harness.results import Recorder
from preflight.harness.session import RunContext
from preflight.http.client import PlatformClient
from preflight.lifecycle import journal
from preflight.lifecycle.shard import Shard
from preflight.ops import cleanup
from preflight.report import escalation, finisher, judgement
from preflight.report.facts import AUDIT, NO_CLICK_NOTE, RunFacts


@dataclass
class RunEnd:
    """What the end of a run reads of it: the controller fills it in (Controller.run_end)."""

    reports: Path  # where the gate and summary go (a staging folder under `preflight run`)
    run_id: str | None
    started_at: str | None
    runtime: RunContext | None = None  # None: the run never started
    run_config: RunConfig | None = None
    html_report: str | None = None  # the HTML report the gate names, relative to `reports`
    alluredir: str | None = None
    collection: dict[str, Any] | None = None
    start_problem: str | None = None
    problem_category: str | None = None
    stopped: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    selection: str | None = None
    audit: bool = False
    click: bool = False  # an audit's --click
    browser: bool = False  # an audit's --click --browser
    previews: bool = False  # an audit's route-previews (--allow-writes)
    write_plan: Any = None  # ops.plan.WritePlan
    quota_fit: Any = None  # ops.plan.Fit
    shard: Shard | None = None
    cleanup_command: str | None = None  # the command that retires what the run left enabled
    interrupts: Interrupts = field(default_factory=Interrupts)
    recorder: Recorder = field(default_factory=Recorder)
    client: Callable[[], PlatformClient] | None = None
    journal_writer: Callable[[], journal.Journal] | None = None


def finish(end: RunEnd) -> dict[str, Any]:
    """Retire what the run enabled, one escalation per root cause, then the outputs."""
    facts = _facts(end)
    if end.runtime is not None:
        facts.cleanup, facts.leftovers = _retire(end)
        facts.escalations = _escalate(end, end.results)
    return write_outputs(end, end.results, facts)


def write_outputs(end: RunEnd, results: list[dict[str, Any]], facts: RunFacts) -> dict[str, Any]:
    """The run's outputs through the one finisher (also for a run that could not start)."""
    from preflight import __version__

    runtime, run_config = end.runtime, end.run_config
    target = run_config.target if run_config else None
    if end.shard is not None and facts.shard is None:  # also on a gate that says the run could not start
        facts.shard = end.shard.describe([c.stem for c in run_config.campaigns] if run_config else None)
    ending = finisher.Ending(
        out=end.reports,
        run_id=runtime.run_id if runtime else end.run_id,
        target=target.name if target else None,
        started_at=runtime.started_at if runtime else end.started_at,
        report_path=str(end.reports / end.html_report) if end.html_report else None,
        notify=run_config.notify if run_config else None,
        shown_at=_final_reports(),
    )
    if runtime is not None:
        ending.history = finisher.history_file(Path(runtime.journal_root).parent / "history", target.name, facts.mode)
        ending.browser_use = _browser_use(end)
        if end.alluredir:
            ending.alluredir = Path(end.alluredir)
            ending.environment = {
                "target": target.name,
                "handle": target.handle,
                "plan": target.plan,
                "role": target.role,
                "base_url": runtime.base_url,
                "run_id": runtime.run_id,
                "harness_version": __version__,
            }
            ending.executor = {
                "name": "campaign-preflight",
                "type": "campaign-preflight",
                "buildName": runtime.run_id,
                "reportName": f"preflight {runtime.run_id}",
            }
    end.reports.mkdir(parents=True, exist_ok=True)
    return finisher.finish(ending, results, facts)


def _final_reports() -> Path | None:
    """Where `preflight run` moves the staged outputs once the run is done (None: they stay)."""
    return paste.final_reports()


def _browser_use(end: RunEnd) -> str | None:
    """How the browser was asked for; None: an audit that did not ask (whatever browser.use says)."""
    if end.audit:
        return "--browser" if end.browser else None
    return end.run_config.browser.use


def _facts(end: RunEnd) -> RunFacts:
    collection = end.collection or {}
    selected = collection.get("selected")
    return RunFacts(
        planned=collection.get("planned"),
        selected=len(selected) if selected is not None else None,
        selection=end.selection,
        problem=end.start_problem,
        problem_category=end.problem_category,
        stopped=end.stopped,
        unfinished=end.unfinished,
        write_plan=_plan_json(end),
        pacing=_pacing(end),
        not_checked=_left_out(end, collection),
        **_audit_facts(end),
    )


# What the shopper's journey would have caught, had browser.use not been off.
JOURNEY_CATCHES = (
    "a landing page that does not load, loses the click's ctx or tags, is another variant's page or lacks its "
    "lead form; a detail page without its login gate"
)


def _left_out(end: RunEnd, collection: dict[str, Any]) -> list[dict[str, Any]]:
    """What the user left out on purpose beyond the tests' own skips: the browser, a selection."""
    found = []
    if end.run_config is not None and not end.audit and end.run_config.browser.use == "off":
        found.append({"check": "7 · Shopper's journey", "why": "browser.use: off", "wouldCatch": JOURNEY_CATCHES})
    planned, selected = collection.get("planned"), collection.get("selected")
    if planned and selected is not None and len(selected) < planned:
        found.append(
            {
                "check": "tests left out by the selection",
                "why": f"{planned - len(selected)} of {planned} planned tests left out by "
                f"{end.selection or 'the selection'}",
                "wouldCatch": "what those tests check: run without the selection to judge them",
            }
        )
    return found


def _audit_facts(end: RunEnd) -> dict[str, Any]:
    """An audit says so, and what it leaves out without --click."""
    if not end.audit:
        return {}
    from preflight.audit.live_click import NOT_ASKED

    audit = {"click": end.click, "writes": end.previews, "leftOut": None if end.click else NOT_ASKED}
    notes = [] if end.click else [NO_CLICK_NOTE]
    return {"mode": AUDIT, "audit": audit, "notes": notes}


def _pacing(end: RunEnd) -> dict[str, Any] | None:
    from preflight.http.pacing import describe

    runtime = end.runtime
    return describe(end.run_config.run, embedded=runtime.embedded) if runtime and runtime.limiter_db else None


def _plan_json(end: RunEnd) -> dict[str, Any] | None:
    plan, fit = end.write_plan, end.quota_fit
    if plan is None:
        return None
    return {
        "writesTotal": plan.total,
        "writesLeft": fit.writes_left if fit else None,
        "byCampaign": plan.by_campaign(),
        "lines": plan.to_json(),
        "split": fit.split if fit else [],
    }


# -- retiring what the run enabled --------------------------------------------------------------


def _retire(end: RunEnd) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    runtime, target = end.runtime, end.run_config.target
    links = cleanup.live_links(runtime.journal_root, runtime.run_id, runtime.base_url, target.handle)
    info: dict[str, Any] = {"retired": 0, "failed": 0, "writes": 0}
    interrupts = end.interrupts
    if links and interrupts.skip_cleanup:
        info["skipped"] = f"a second {interrupts.signals[-1]} came before the clean-up"
    elif links:
        interrupts.phase = "cleanup"
        outcome = cleanup.Outcome()
        try:
            with end.recorder.detached():
                cleanup.retire(
                    end.client(), links, writer=end.journal_writer(), session=runtime.session_id, outcome=outcome
                )
        except CleanupSkipped as exc:
            info["skipped"] = f"stopped by {exc}"
        finally:
            interrupts.phase = "final"
        info.update(
            retired=len(outcome.retired), failed=len(outcome.failed), writes=outcome.writes, errors=outcome.failed
        )
    left = journal.leftovers(r for r in journal.read(runtime.journal_root, runtime.run_id).values())
    if runtime.embedded:
        # Nothing outlives the run's own sandbox: its journal would only mislead a later rerun.
        shutil.rmtree(Path(runtime.journal_root) / runtime.run_id, ignore_errors=True)
        if left:
            info["note"] = "the embedded sandbox stops with the run, and these with it"
    elif left:
        info["command"] = end.cleanup_command
    elif interrupts.interrupted:
        info["check"] = end.cleanup_command  # an interrupted run: the same command says nothing is left
    return info, left


# -- one escalation per root cause ---------------------------------------------------------------


def _escalate(end: RunEnd, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runtime, target = end.runtime, end.run_config.target
    _link_consequences(results)
    drafts = [r["draft"] for r in results if r.get("draft") and not r.get("consequenceOf")]
    if not drafts:
        return []
    rollback = rollback_intent(runtime.journal_root, runtime.run_id)
    role = _token_role(end) or target.role
    send = sender(end) if runtime.escalate else None
    out = []
    for gid, members in escalation.group(drafts).items():
        later = [r for r in results if r.get("consequenceOf") == gid]
        payload = escalation.build_payload(
            members,
            handle=target.handle,
            run_id=runtime.run_id,
            environment=target.name,
            role=role,
            rollback=rollback,
            consequences=[_as_draft(r) for r in later],
        )
        entry = {
            "id": gid,
            "category": members[0]["category"],
            "cause": members[0]["cause"],
            "step": members[0]["step"],
            "seenBy": len(members),  # the tests that saw it first-hand (merge adds the shards' up)
            "tests": [m["nodeid"] for m in members] + [r["nodeid"] for r in later],
            "campaigns": sorted({m["campaignId"] for m in members if m.get("campaignId")}),
            "slugs": sorted({m["slug"] for m in members if m.get("slug")}),
            "requestIds": payload["reproArtifact"]["requestIds"],
            "ticketId": None,
            "sendError": None,
        }
        if send is not None:
            entry["ticketId"], entry["sendError"] = send(payload)
            payload = {**payload, "ticketId": entry["ticketId"]}
        entry["file"] = str(escalation.write_payload(payload, runtime.reports_dir, gid))
        for result in results:
            if result["nodeid"] in entry["tests"]:
                result.update(escalation=entry["file"], ticketId=entry["ticketId"])
        out.append(entry)
    return out


def _link_consequences(results: list[dict[str, Any]]) -> None:
    """A failure that follows from an earlier one joins that root cause's report instead of
    opening its own: a test the step marked as a repeat (a campaign whose setup failed, a
    schema fetch with nothing published), or a lagging health check when a step that feeds
    it failed earlier in the same campaign. Results are in the order they ran, a campaign's
    in UC-07 order."""
    for index, result in enumerate(results):
        repeat, follows = bool(result.get("consequenceOf")), result.get("follows") or []
        if not repeat and not follows:
            continue
        earlier = [r for r in results[:index] if r.get("draft") and _explains(r, result, repeat, follows)]
        if earlier:
            result["consequenceOf"] = earlier[0]["draft"]["group"]
            result["draft"] = None


def _explains(earlier: dict[str, Any], result: dict[str, Any], repeat: bool, follows: list[str]) -> bool:
    """Whether an earlier failure is the root cause of this one: for a repeat, any earlier failure
    of its campaign, or the same failure elsewhere (a campaign's setup re-raised for another
    campaign's test that borrows its click); for a lagging check, a step it follows from, earlier
    in its campaign."""
    same_campaign = earlier.get("campaignId") == result.get("campaignId")
    if repeat:
        same = (earlier.get("category"), earlier.get("cause")) == (result.get("category"), result.get("cause"))
        return same_campaign or same
    return same_campaign and earlier.get("step") in follows


def _as_draft(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeid": result["nodeid"],
        "step": result.get("step"),
        "campaignId": result.get("campaignId"),
        "slug": result.get("slug"),
        "requestIds": result.get("failingRequestIds") or result.get("requestIds") or [],
        "summary": (result.get("message") or "").splitlines()[0] if result.get("message") else "",
    }


def rollback_intent(journal_root: str, run_id: str) -> str:
    """What the run really created and what it retired, from its journal."""
    records = list(journal.read(journal_root, run_id).values())
    created = [r for r in records if r.created]
    adopted = [r for r in records if r.created is False]
    parts = []
    if created:
        parts.append(
            "created throwaway campaign(s) "
            + "; ".join(f"{r.campaign_id} (links {', '.join(sorted(r.links))})" for r in created)
        )
    if adopted:
        parts.append(
            "reused campaign(s) an earlier session of this run created: " + ", ".join(r.campaign_id for r in adopted)
        )
    if not parts:
        return "this run created nothing on the platform"
    retired = sorted(s for r in records for s, link in r.links.items() if link.state == journal.RETIRED)
    live = sorted(s for r in records for s, link in r.links.items() if link.may_be_live)
    parts.append(f"links retired (enabled: false): {', '.join(retired) or 'none'}")
    if live:
        parts.append(f"still enabled: {', '.join(live)}")
    parts.append("the contract has no campaign delete, so the campaigns stay; no production campaign was touched")
    return "; ".join(parts)


def _token_role(end: RunEnd) -> str | None:
    from preflight.http.readiness import jwt_facts

    facts = jwt_facts(end.runtime.jwt) if end.runtime.jwt else None
    return facts.role_on(end.run_config.target.handle) if facts else None


def sender(end: Any):
    """POST /v2/support/report with the JWT, or the PAT (the contract takes either) when there is
    no JWT or it is refused (e.g. it expired during the run)."""
    runtime = end.runtime
    surfaces = [surface for surface, token in (("jwt", runtime.jwt), ("pat", runtime.pat)) if token]
    if not surfaces:
        return lambda payload: (None, "not sent: the run has neither a JWT nor a PAT")
    from preflight.http.client import idempotency_key

    client = end.client()

    def send(payload: dict[str, Any]) -> tuple[str | None, str | None]:
        ticket, why = None, None
        for surface in surfaces:
            key = idempotency_key(runtime.run_id, "escalation", surface, "", payload["summary"])
            with end.recorder.detached():
                ex = client.call("support_report", step="escalation", key=key, json_body=payload, surface=surface)
            ticket, why = escalation.answer_of(ex)
            if ticket or ex.status not in (401, 403):
                break
        return ticket, why and f"not sent: {why}"

    return send


def exit_code(gate_doc: dict[str, Any]) -> int:
    return judgement.exit_code(gate_doc.get("verdict"))
