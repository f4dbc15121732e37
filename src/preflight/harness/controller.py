"""The controller: the only process of a run without xdist, or xdist's controller.

It reads the config (a config error starts no test), starts the embedded sandbox and mints its
tokens, checks the target and the tokens with reads (readiness), hands workers the run
(`RunContext`, through `workerinput`), checks the write plan of the selected tests before the
first one runs, and at the end retires what the run enabled and writes the gate (harness.wrapup).
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from contextlib import closing
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from preflight.core import paste
from preflight.core.categories import Category
from preflight.core.clock import now_iso
from preflight.harness import collect, interrupts, options, prewrite, wrapup
from preflight.harness.session import PreflightSession, RunContext, StartError
from preflight.harness.xdist_adapter import no_workers, will_have_workers
from preflight.http import readiness
from preflight.http.connect import Opened, TargetError, open_target_once
from preflight.http.pacing import IN_PROCESS
from preflight.lifecycle.model import check_run_id, new_run_id
from preflight.report.facts import RunFacts


class Controller(PreflightSession):
    opened: Opened | None = None  # the target, opened (and the embedded sandbox, when this run started one)

    # -- start-up ---------------------------------------------------------------------------
    def configure(self, config: pytest.Config) -> None:
        options.check_no_clean_alluredir(config)
        dist = config.getoption("dist", "no")
        if config.getoption("numprocesses", None) and dist in collect.REFUSED_DIST:
            raise pytest.UsageError(collect.REFUSED_DIST[dist])
        try:
            self.load_config()
        except StartError as exc:
            self.cannot_start(exc)
            no_workers(config)  # a run that cannot start starts no worker
        if config.getoption("maxworkerrestart", None) is None and hasattr(config.option, "maxworkerrestart"):
            # A lost worker takes its campaign's remaining steps with it: the gate reports the
            # shortfall (ERROR) rather than a replacement worker running half a lifecycle.
            config.option.maxworkerrestart = "0"
        self.interrupts.on_first = lambda: interrupts.pass_on(self.worker_pids())
        self.interrupts.install()

    def load_config(self) -> None:
        """The run id and the config, read before anything starts (no request, no process)."""
        self.started_at = now_iso()
        run_id = self.run_id = options.get(self.pytest_config, "preflight_run_id") or new_run_id()
        problem = check_run_id(run_id)
        if problem:
            raise StartError(problem)
        self.load_run_config(self.config_path(), options.get(self.pytest_config, "preflight_target"))

    def start(self, worker_payload: str | None = None) -> None:
        """Start the run. A start that fails (config, target, tokens) stops nothing abruptly: the
        gate says ERROR with one line per problem, no test is collected, the exit status is 2."""
        if self.start_problem or self.collect_only:
            return  # nothing to start to list the tests (`preflight plan`, `doctor`, --collect-only)
        try:
            self.start_run()
        except StartError as exc:
            self.cannot_start(exc)

    def start_run(self) -> None:
        for previous in ("escalations", "landing"):  # a previous run's
            shutil.rmtree(self.reports_dir() / previous, ignore_errors=True)
        target = self.run_config.target
        seed = self._seed_live if self.audit and target.sandbox is not None and target.sandbox.seed_live else None
        try:
            self.opened = open_target_once(target, faults=True, seed=seed)
        except TargetError as exc:
            raise StartError(str(exc)) from None
        base_url, jwt, pat = self.opened.base_url, self.opened.jwt, self.opened.pat
        self.know_base_url(base_url)
        scratch = tempfile.mkdtemp(prefix="preflight-run-")
        self.runtime = RunContext(
            run_id=self.run_id,
            config_path=str(self.config_path()),
            target_override=options.get(self.pytest_config, "preflight_target"),
            base_url=base_url,
            jwt=jwt,
            pat=pat,
            reports_dir=str(self.reports_dir()),
            journal_root=str(self.journal_root()),
            escalate=bool(options.get(self.pytest_config, "preflight_escalate")),
            started_at=self.started_at,
            scratch=scratch,
            # Shared through a file by the workers and this controller; a run in one process keeps it in memory.
            limiter_db=str(Path(scratch) / "pace.sqlite") if will_have_workers(self.pytest_config) else IN_PROCESS,
            sandbox=target.kind == "sandbox",  # embedded or attached: both have /__sandbox/ routes
            embedded=self.opened.sandbox is not None,
        )
        self._check_readiness()

    def cannot_start(self, exc: StartError) -> None:
        self.start_problem, self.problem_category = str(exc), exc.category
        if not self.collect_only:  # listing tests never replaces a run's gate
            facts = RunFacts(problem=self.start_problem, problem_category=self.problem_category)
            self.gate = wrapup.write_outputs(self.run_end(), [], facts)
        self.finish()

    def _seed_live(self, admin, base_url: str) -> None:
        """A sandbox target's live campaigns: the configured ones, set up healthy through /__sandbox/
        (never the API, so the audit's request log holds only its own reads); existing ones are kept."""
        from preflight.audit.live import seed_body

        landing = self.run_config.target.with_base_url(base_url).landing_url
        admin.seed_live(self.run_config.target.handle, [seed_body(c, landing) for c in self.run_config.campaigns])

    def _check_readiness(self) -> None:
        """Read-only checks before anything else: a FAIL stops the run with ERROR, no write made."""
        from preflight.http.connect import make_client

        target, runtime = self.run_config.target, self.runtime
        # A client of its own, outside the shared pace: a handful of reads before anything starts.
        with closing(make_client(self.run_config, runtime.base_url, runtime.jwt, runtime.pat)) as client:
            rows = readiness.check(
                client,
                jwt_token=runtime.jwt,
                pat_token=runtime.pat,
                handle=target.handle,
                role=target.role,
                where=target.source,
                scopes=self.pat_scopes(),
            )
        self.readiness = rows
        self.describe_credentials()
        failed = readiness.failed(rows)
        if failed:
            raise StartError("\n".join(row.line() for row in failed), failed[0].category)

    def pat_scopes(self) -> list[str]:
        return readiness.scopes_needed(audit=self.audit, publish_via=self.run_config.run.publish_via)

    def worker_payload(self) -> str:
        assert self.runtime is not None
        return json.dumps(asdict(self.runtime))

    def worker_pids(self) -> list[int]:
        if self.runtime is None:
            return []
        return [int(p.read_text()) for p in Path(self.runtime.scratch).glob("*.pid") if p.read_text().isdigit()]

    # -- between collection and the first test ---------------------------------------------
    def read_collection(self, nodeids: list[str]) -> dict[str, Any]:
        """The controller's view of a worker's collection (the selected ids are xdist's own)."""
        for path in sorted(Path(self.runtime.scratch).glob("collection-*.json")):
            data = json.loads(path.read_text())
            chosen = set(nodeids)
            data["selected"] = [item for item in data["selected"] if item["nodeid"] in chosen]
            self.collection = data
            return data
        self.collection = {"planned": len(nodeids), "selected": [{"nodeid": n} for n in nodeids]}
        return self.collection

    def before_first_test(self) -> bool:
        """The write plan of the selected tests against the quota; False stops the run (ERROR)."""
        self.tests_started = True
        problem = self._browser_problem()
        if problem is None:
            checked = prewrite.check(self.write_check())
            self.write_plan, self.quota_fit = checked.write_plan, checked.quota_fit
            self.readiness += checked.rows
            problem = (checked.problem, checked.category) if checked.problem else None
        if problem is None:
            return True
        self.start_problem, self.problem_category = problem
        return False

    def write_check(self) -> prewrite.WriteCheck:
        from preflight.ops import plan

        return prewrite.WriteCheck(
            run_config=self.run_config,
            runtime=self.runtime,
            items=plan.selected_from(self.collection or {}),
            client=self.client(),
            pat_scopes=self.pat_scopes(),
            audit=self.audit,
            previews="route_preview" in self.audit_writes(),
            allow_writes=bool(options.get(self.pytest_config, "preflight_allow_writes")),
            allow_peak=bool(options.get(self.pytest_config, "preflight_allow_peak")),
            given={
                name: options.get(self.pytest_config, f"preflight_{name}") for name in ("config", "target", "run_id")
            },
        )

    def _browser_problem(self) -> tuple[str, Category] | None:
        """`browser.use: required` and a browser check selected: a browser must start here, before any
        write (else ERROR, nothing written). `auto` leaves it to the checks, which skip saying why."""
        settings = self.run_config.browser
        selected = (self.collection or {}).get("selected") or []
        if not settings.required or not any(item.get("step") == "landing" for item in selected):
            return None
        from preflight.browser.launch import BrowserUnavailable, probe

        try:
            probe(settings)
        except BrowserUnavailable as exc:
            return (
                f"browser.use: required in {self.config_path().name}, but no browser runs here: {exc}; "
                "or set browser.use: auto to skip the browser checks where none runs",
                Category.CONFIG,
            )
        return None

    def xdist_before_first_test(self, nodeids: list[str]) -> bool:
        """Asked by the campaign scheduler once every worker collected: may tests be sent?"""
        if self.start_problem or self.runtime is None:
            return False
        self.read_collection(nodeids)
        return self.before_first_test()

    # -- the end ------------------------------------------------------------------------------
    def ending(self) -> None:
        self.interrupts.phase = "ending"

    def end(self, session: pytest.Session, stopped: str | None) -> None:
        """Every worker is gone: retire, escalate, write the gate, and exit by the verdict."""
        if self.runtime is not None and not self.gate:
            self.gate = wrapup.finish(self.run_end(session, stopped))
        if self.gate:
            session.exitstatus = wrapup.exit_code(self.gate)

    def run_end(self, session: pytest.Session | None = None, stopped: str | None = None) -> wrapup.RunEnd:
        """What the end of the run reads of it (harness.wrapup)."""
        html = options.get(self.pytest_config, "preflight_html_report")
        return wrapup.RunEnd(
            reports=self.reports_dir(),
            run_id=self.run_id,
            started_at=self.started_at,
            runtime=self.runtime,
            run_config=self.run_config,
            html_report=html if html and html != "none" else None,
            alluredir=self.pytest_config.getoption("allure_report_dir", None),
            collection=self.collection,
            start_problem=self.start_problem,
            problem_category=self.problem_category,
            stopped=stopped,
            results=self.collector.ordered(),
            unfinished=self.collector.unfinished(),
            selection=collect.selection(session.config) if session is not None else None,
            audit=self.audit,
            click=self.clicks_live,
            browser=self.browser_live,
            previews="route_preview" in self.audit_writes(),
            write_plan=self.write_plan,
            quota_fit=self.quota_fit,
            shard=self.shard,
            cleanup_command=self.cleanup_command() if self.runtime is not None else None,
            interrupts=self.interrupts,
            recorder=self.recorder,
            client=self.client,
            journal_writer=self.journal,
        )

    def cleanup_command(self) -> str:
        """The command that retires what this run left enabled, as it pastes from the folder the
        run was started in: the journal named where it is once the run is over."""
        journal = self.journal_root()
        reports = paste.final_reports() or self.reports_dir()
        at_home = journal == reports / "journal"
        return paste.command(
            "cleanup",
            run_id=self.runtime.run_id,
            config=paste.config_option(options.get(self.pytest_config, "preflight_config")),
            target=paste.target_option(options.get(self.pytest_config, "preflight_target")),
            reports=paste.shown(reports) if at_home and paste.shown(reports) != "reports" else None,
            journal=None if at_home else paste.shown(journal),
            yes=True,
        )

    def finish(self) -> None:
        super().finish()
        if self.opened is not None:
            self.opened.close()
            self.opened = None
        if self.runtime is not None and self.runtime.scratch:
            # At exit, not now: a worker may still hold the shared pace file open.
            atexit.register(shutil.rmtree, self.runtime.scratch, True)
