"""The end of a run, on the controller: retire what it enabled, one escalation per root
cause, the gate and the summary, and the exit status that follows from the verdict.

It runs once every worker is gone, whether the run finished, failed, was stopped by `-x`,
lost a worker or was interrupted (the first Ctrl-C or SIGTERM lets it run; a second one
skips the rest of the clean-up, and the gate says so).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from preflight.harness import collect, options
from preflight.harness.interrupts import CleanupSkipped
from preflight.lifecycle import journal
from preflight.ops import cleanup
from preflight.report import escalation, history, landing, matrix
from preflight.report.gate import EXIT_CODES, NO_CLICK_NOTE, RunFacts

if TYPE_CHECKING:
    from preflight.harness.controller import Controller


def finish(preflight: Controller, session: pytest.Session, stopped: str | None) -> dict[str, Any]:
    facts = _facts(preflight, session, stopped)
    results = preflight.collector.ordered()
    if preflight.runtime is not None:
        facts.cleanup, facts.leftovers = _retire(preflight)
        facts.escalations = _escalate(preflight, results)
        past = history.read(history_path(preflight))
        facts.since_last_pass = history.since_last_pass(past, matrix.build(results))
    if preflight.run_config is not None:
        facts.browser = _browser(preflight, results)
    preflight.gate = write_outputs(preflight, results, facts)
    if preflight.runtime is not None:
        gate_doc = preflight.gate
        history.append(
            history_path(preflight),
            {
                key: gate_doc.get(key)
                for key in ("runId", "target", "verdict", "reason", "startedAt", "finishedAt", "matrix")
            },
        )
    return preflight.gate


def _browser(preflight: Controller, results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Did the shopper's journey run (and what did it block); the side-by-side page of its screenshots."""
    folder = preflight.reports_dir() / landing.FOLDER
    use = preflight.run_config.browser.use
    if preflight.audit:  # the audit opens a browser only when asked, whatever browser.use says
        if not preflight.browser_live:
            return None
        use = "--browser"
    facts = landing.browser_facts(results, folder, use=use)
    if facts is not None and facts.get("screenshots"):
        overview = landing.write_overview(folder)
        facts["overview"] = str(overview) if overview else None
    return facts


def history_path(preflight: Controller) -> Path:
    """Per target and per reports folder: beside the journal, which outlives every run too. An
    audit's history is its own (its matrix has the audit's columns, not the lifecycle's)."""
    runtime = preflight.runtime
    name = preflight.run_config.target.name + (".audit" if preflight.audit else "")
    return history.path_for(Path(runtime.journal_root).parent / "history", name)


def _facts(preflight: Controller, session: pytest.Session, stopped: str | None) -> RunFacts:
    collection = preflight.collection or {}
    selected = collection.get("selected")
    return RunFacts(
        planned=collection.get("planned"),
        selected=len(selected) if selected is not None else None,
        selection=_selection(session.config),
        problem=preflight.start_problem,
        problem_category=preflight.problem_category,
        stopped=stopped,
        unfinished=preflight.collector.unfinished(),
        write_plan=_plan_json(preflight),
        pacing=_pacing(preflight),
        **_audit_facts(preflight),
    )


def _audit_facts(preflight: Controller) -> dict[str, Any]:
    """An audit says so, and what it leaves out without --click."""
    if not preflight.audit:
        return {}
    from preflight.audit.live_click import NOT_ASKED

    click = preflight.clicks_live
    previews = "route_preview" in preflight.audit_writes()
    audit = {"click": click, "writes": previews, "leftOut": None if click else NOT_ASKED}
    notes = [] if click else [NO_CLICK_NOTE]
    return {"mode": "audit", "audit": audit, "notes": notes}


def _selection(config: pytest.Config) -> str | None:
    parts = []
    if config.getoption("keyword", ""):
        parts.append(f"-k {config.getoption('keyword')!r}")
    if config.getoption("markexpr", ""):
        parts.append(f"-m {config.getoption('markexpr')!r}")
    if options.get(config, "preflight_shard"):
        parts.append(f"--shard {options.get(config, 'preflight_shard')}")
    suites = ("suites", ".", "/".join(collect.AUDIT_SUITES))  # the suites themselves select nothing
    args = [a for a in config.args if a.rstrip("/") not in suites]
    if args:
        parts.append(" ".join(args))
    return " ".join(parts) or None


def _pacing(preflight: Controller) -> dict[str, Any] | None:
    from preflight.http.pacing import describe

    runtime = preflight.runtime
    return describe(preflight.run_config.run, embedded=runtime.embedded) if runtime and runtime.limiter_db else None


def _plan_json(preflight: Controller) -> dict[str, Any] | None:
    plan = preflight.write_plan
    if plan is None:
        return None
    fit = getattr(preflight, "quota_fit", None)
    return {
        "writesTotal": plan.total,
        "writesLeft": fit.writes_left if fit else None,
        "byCampaign": plan.by_campaign(),
        "lines": plan.to_json(),
        "split": fit.split if fit else [],
    }


# -- retiring what the run enabled --------------------------------------------------------------


def _retire(preflight: Controller) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    runtime, target = preflight.runtime, preflight.run_config.target
    links = cleanup.live_links(runtime.journal_root, runtime.run_id, runtime.base_url, target.handle)
    info: dict[str, Any] = {"retired": 0, "failed": 0, "writes": 0}
    interrupts = preflight.interrupts
    if links and interrupts.skip_cleanup:
        info["skipped"] = f"a second {interrupts.signals[-1]} came before the clean-up"
    elif links:
        interrupts.phase = "cleanup"
        outcome = cleanup.Outcome()
        try:
            with preflight.recorder.detached():
                cleanup.retire(
                    preflight.client(), links, writer=preflight.journal(), session=runtime.session_id, outcome=outcome
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
        info["command"] = cleanup_command(preflight)
    return info, left


def cleanup_command(preflight: Controller) -> str:
    runtime = preflight.runtime
    target = options.get(preflight.pytest_config, "preflight_target")
    parts = ["preflight cleanup", f"--run-id {runtime.run_id}"]
    config = options.get(preflight.pytest_config, "preflight_config")
    if config and Path(config) != Path("config/preflight.yaml"):
        parts.append(f"--config {config}")
    if target:
        parts.append(f"--target {target}")
    reports = options.get(preflight.pytest_config, "preflight_reports") or "reports"
    if reports != "reports":
        parts.append(f"--reports {reports}")
    return " ".join(parts) + " --yes"


# -- one escalation per root cause ---------------------------------------------------------------


def _escalate(preflight: Controller, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runtime, target = preflight.runtime, preflight.run_config.target
    _link_consequences(results)
    drafts = [r["draft"] for r in results if r.get("draft") and not r.get("consequenceOf")]
    if not drafts:
        return []
    rollback = rollback_intent(runtime.journal_root, runtime.run_id)
    role = _token_role(preflight) or target.role
    send = sender(preflight) if runtime.escalate else None
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


def _token_role(preflight: Controller) -> str | None:
    from preflight.http.readiness import jwt_facts

    facts = jwt_facts(preflight.runtime.jwt) if preflight.runtime.jwt else None
    return facts.role_on(preflight.run_config.target.handle) if facts else None


def sender(preflight: Controller):
    """POST /v2/support/report with the JWT, or the PAT (the contract takes either) when there is
    no JWT or it is refused (e.g. it expired during the run)."""
    runtime = preflight.runtime
    surfaces = [surface for surface, token in (("jwt", runtime.jwt), ("pat", runtime.pat)) if token]
    if not surfaces:
        return lambda payload: (None, "not sent: the run has neither a JWT nor a PAT")
    from preflight.http.client import idempotency_key

    client = preflight.client()

    def send(payload: dict[str, Any]) -> tuple[str | None, str | None]:
        ticket, why = None, None
        for surface in surfaces:
            key = idempotency_key(runtime.run_id, "escalation", surface, "", payload["summary"])
            with preflight.recorder.detached():
                ex = client.call("support_report", step="escalation", key=key, json_body=payload, surface=surface)
            ticket, why = escalation.answer_of(ex)
            if ticket or ex.status not in (401, 403):
                break
        return ticket, why and f"not sent: {why}"

    return send


# -- the files -------------------------------------------------------------------------------------


def write_outputs(preflight: Controller, results: list[dict[str, Any]], facts: RunFacts) -> dict[str, Any]:
    from preflight import __version__
    from preflight.core.clock import now_iso
    from preflight.report import allure, gate

    reports_dir = preflight.reports_dir()
    reports_dir.mkdir(parents=True, exist_ok=True)
    html = options.get(preflight.pytest_config, "preflight_html_report")
    report_path = str(reports_dir / html) if html and html != "none" else None
    runtime, run_config = preflight.runtime, preflight.run_config
    target = run_config.target if run_config else None
    run_id = runtime.run_id if runtime else preflight.run_id
    if preflight.shard is not None and facts.shard is None:  # also on a gate that says the run could not start
        facts.shard = preflight.shard.describe([c.stem for c in run_config.campaigns] if run_config else None)
    finished = now_iso()
    common = dict(
        run_id=run_id, target=target.name if target else None, results=results, report_path=report_path, facts=facts
    )
    started = runtime.started_at if runtime else preflight.started_at or finished
    gate.write_gate(reports_dir / "gate.json", started_at=started, finished_at=finished, **common)
    gate.write_summary(reports_dir / "summary.md", **common)
    alluredir = preflight.pytest_config.getoption("allure_report_dir", None)
    if alluredir and runtime and target:
        props = {
            "target": target.name,
            "handle": target.handle,
            "plan": target.plan,
            "role": target.role,
            "base_url": runtime.base_url,
            "run_id": runtime.run_id,
            "harness_version": __version__,
        }
        allure.write_environment(alluredir, props)
        allure.write_executor(
            alluredir,
            {
                "name": "campaign-preflight",
                "type": "campaign-preflight",
                "buildName": runtime.run_id,
                "reportName": f"preflight {runtime.run_id}",
            },
        )
    return json.loads((reports_dir / "gate.json").read_text())


def exit_code(gate_doc: dict[str, Any]) -> int:
    return EXIT_CODES.get(gate_doc.get("verdict"), 2)
