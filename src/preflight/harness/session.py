"""One preflight run inside pytest: config, target, sandbox, tokens, readiness, client.

The controller (the only process without xdist, or xdist's controller) loads the config,
starts the embedded sandbox when the target is `sandbox`, mints its tokens, checks the
target and the tokens (readiness) and hands workers what they need through `workerinput`.
Workers rebuild the same session from it. Once the tests are collected, and before the
first one runs, the controller checks the run's write plan against the quota. At the end
it retires what the run enabled and writes the gate (see wrapup).
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import tempfile
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from preflight.lifecycle import journal
from preflight.harness import options
from preflight.http import readiness
from preflight.core import redact
from preflight.http.client import PlatformClient
from preflight.harness.interrupts import Interrupts
from preflight.lifecycle.model import check_run_id, new_run_id
from preflight.harness.results import Collector, Recorder, now_iso

WORKER_KEY = "preflight"
SESSION = pytest.StashKey["PreflightSession"]()
PAT_SCOPES = ["analytics.read", "pages.read", "pages.write"]


class StartError(Exception):
    """The run cannot start; the message is one line per problem, for the user."""

    def __init__(self, message: str, category: str = "config") -> None:
        super().__init__(message)
        self.category = category


@dataclass
class Runtime:
    """What every process of the run shares (sent to xdist workers as JSON)."""

    run_id: str
    config_path: str
    target_override: str | None
    base_url: str
    jwt: str | None = field(repr=False)
    pat: str | None = field(repr=False)
    reports_dir: str
    journal_root: str
    escalate: bool
    started_at: str
    scratch: str
    limiter_db: str | None = None
    sandbox: bool = False
    embedded: bool = False  # a sandbox started for this run alone: it (and what it holds) ends with the run
    # One pytest session of the run: a rerun of the same run id is another session.
    session_id: str = field(default_factory=lambda: secrets.token_hex(4))


@dataclass
class PreflightSession:
    pytest_config: pytest.Config
    armed: bool = False
    runtime: Runtime | None = None
    run_config: Any = None
    sandbox: Any = None
    start_problem: str | None = None
    problem_category: str | None = None
    gate: dict[str, Any] | None = None
    run_id: str | None = None  # known before the runtime, so a failed start still names it
    shard: Any = None  # preflight.lifecycle.shard.Shard of `--shard I/N`, else None
    started_at: str | None = None
    readiness: list[readiness.Row] = field(default_factory=list)
    collection: dict[str, Any] | None = None  # planned and selected tests (see collect.selected)
    write_plan: Any = None
    tests_started: bool = False
    collector: Collector = field(default_factory=Collector)
    recorder: Recorder = field(default_factory=Recorder)
    interrupts: Interrupts = field(default_factory=Interrupts)
    _client: PlatformClient | None = None
    _journal: journal.Journal | None = None

    # -- start-up -------------------------------------------------------------------
    @classmethod
    def from_pytest(cls, config: pytest.Config) -> "PreflightSession":
        session = cls(config)
        session.armed = options.given(config, "preflight_config") or session._default_config().is_file()
        return session

    @property
    def is_worker(self) -> bool:
        return hasattr(self.pytest_config, "workerinput")

    @property
    def collect_only(self) -> bool:
        return bool(self.pytest_config.getoption("collectonly", False))

    @property
    def uses_xdist(self) -> bool:
        return self.pytest_config.pluginmanager.has_plugin("dsession")

    def config_path(self) -> Path:
        given = options.get(self.pytest_config, "preflight_config")
        path = Path(given) if given else self._default_config()
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def _default_config(self) -> Path:
        return self.pytest_config.rootpath / "config" / "preflight.yaml"

    def load_config(self) -> None:
        """The run id and the config, read before anything starts (no request, no process)."""
        self.started_at = now_iso()
        run_id = self.run_id = options.get(self.pytest_config, "preflight_run_id") or new_run_id()
        self.shard = _shard(options.get(self.pytest_config, "preflight_shard"))  # a failed start still names it
        problem = check_run_id(run_id)
        if problem:
            raise StartError(problem)
        self.run_config = _on_shard(_load(self.config_path(), options.get(self.pytest_config, "preflight_target")),
                                    self.shard)

    def start_controller(self) -> None:
        run_id, started = self.run_id, self.started_at
        shutil.rmtree(self.reports_dir() / "escalations", ignore_errors=True)  # a previous run's
        target = self.run_config.target
        base_url, jwt, pat = self._connect(target)
        self._know_base_url(base_url)
        scratch = tempfile.mkdtemp(prefix="preflight-run-")
        self.runtime = Runtime(
            run_id=run_id, config_path=str(self.config_path()),
            target_override=options.get(self.pytest_config, "preflight_target"),
            base_url=base_url, jwt=jwt, pat=pat, reports_dir=str(self.reports_dir()),
            journal_root=str(self.journal_root()),
            escalate=bool(options.get(self.pytest_config, "preflight_escalate")), started_at=started,
            scratch=scratch, limiter_db=str(Path(scratch) / "pace.sqlite"),
            sandbox=target.kind == "sandbox",  # embedded or attached: both have /__sandbox/ routes
            embedded=self.sandbox is not None,
        )
        self._check_readiness()

    def start_worker(self, payload: str) -> None:
        self.runtime = Runtime(**json.loads(payload))
        worker = os.environ.get("PYTEST_XDIST_WORKER", "worker")
        (Path(self.runtime.scratch) / f"{worker}.pid").write_text(str(os.getpid()))
        redact.register_secret(self.runtime.jwt)
        redact.register_secret(self.runtime.pat)
        self.shard = _shard(options.get(self.pytest_config, "preflight_shard"))
        self.run_config = _on_shard(_load(Path(self.runtime.config_path), self.runtime.target_override), self.shard)
        self._know_base_url(self.runtime.base_url)
        self._describe_credentials()

    def _know_base_url(self, base_url: str) -> None:
        """An embedded sandbox's URL is known only once it runs: the target learns it here."""
        target = self.run_config.target.with_base_url(base_url)
        self.run_config = self.run_config.model_copy(update={"target": target})

    def _check_readiness(self) -> None:
        """Read-only checks before anything else: a FAIL stops the run with ERROR, no write made."""
        from preflight.http.connect import make_client

        target, runtime = self.run_config.target, self.runtime
        # A client of its own, outside the shared pace: a handful of reads before anything starts.
        with closing(make_client(self.run_config, runtime.base_url, runtime.jwt, runtime.pat)) as client:
            rows = [readiness.base_url(client, target.source)]
            if rows[0].status != readiness.FAIL:
                rows += readiness.jwt(client, runtime.jwt, handle=target.handle, role=target.role,
                                      where=target.source)
                rows += readiness.pat(client, runtime.pat, scopes=self.pat_scopes(), where=target.source,
                                      probe_write_scope=True)
        self.readiness = rows
        self._describe_credentials()
        failed = readiness.failed(rows)
        if failed:
            raise StartError("\n".join(row.line() for row in failed), failed[0].category)

    def pat_scopes(self) -> list[str]:
        """The PAT scopes this run needs: health, the schema fetch, and the publish when it goes via the PAT."""
        return [s for s in PAT_SCOPES if s != "pages.write" or self.run_config.run.publish_via == "pat"]

    def _describe_credentials(self) -> None:
        """What the tokens really carry, for auth failure messages (never the configured role as if it were)."""
        from preflight.lifecycle.classify import describe_credentials

        target = self.run_config.target
        facts = readiness.jwt_facts(self.runtime.jwt) if self.runtime.jwt else None
        jwt = f"a JWT with {facts.describe(target.handle, _now())}" if facts else "a JWT whose claims are not readable"
        pat = (f"scopes {', '.join(PAT_SCOPES)} (minted by the run)" if target.kind == "sandbox" and not target.base_url
               else "the PAT in $PREFLIGHT_PAT (the platform does not show its scopes)")
        describe_credentials(jwt=jwt, pat=pat)

    def worker_payload(self) -> str:
        assert self.runtime is not None
        return json.dumps(asdict(self.runtime))

    def reports_dir(self) -> Path:
        path = Path(options.get(self.pytest_config, "preflight_reports") or "reports")
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def journal_root(self) -> Path:
        given = options.get(self.pytest_config, "preflight_journal")
        if not given:
            return self.reports_dir() / "journal"
        path = Path(given)
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def _connect(self, target: Any) -> tuple[str, str | None, str | None]:
        if target.kind != "sandbox":
            jwt = _secret(target.credentials.jwt)
            pat = _secret(target.credentials.pat)
        else:
            from preflight.sandbox.process import SandboxClient, SandboxProcess

            if target.base_url:  # a sandbox already running (e.g. `preflight sandbox`): attach
                admin = SandboxClient(target.base_url)
            else:
                self.sandbox = SandboxProcess(port=0, plan=target.plan, ctx_ttl=target.sandbox.ctx_ttl_seconds,
                                              writes_per_day=target.sandbox.writes_per_day)
                admin = self.sandbox
            try:
                if self.sandbox is not None:
                    self.sandbox.start()
                jwt = admin.mint_jwt(target.handle, role=target.role)
                pat = admin.mint_pat(target.handle, scopes=PAT_SCOPES)
                if target.sandbox.faults:
                    admin.set_faults(target.sandbox.faults)
            except Exception as exc:  # the sandbox's trouble is reported in one line
                raise StartError(f"the sandbox at {target.base_url or 'the embedded sandbox'} is not usable: "
                                 f"{type(exc).__name__}: {exc}") from exc
        redact.register_secret(jwt)
        redact.register_secret(pat)
        return (target.base_url or self.sandbox.url), jwt, pat

    # -- the client and the journal ------------------------------------------------------
    def client(self) -> PlatformClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> PlatformClient:
        from preflight.http.connect import make_client
        from preflight.http.pacing import make_pacer

        assert self.runtime is not None
        client = make_client(self.run_config, self.runtime.base_url, self.runtime.jwt, self.runtime.pat)
        client.pacer = make_pacer(self.runtime.limiter_db, self.run_config.run)
        return client

    def journal(self) -> journal.Journal:
        if self._journal is None:
            writer = os.environ.get("PYTEST_XDIST_WORKER", "controller") + "-" + self.runtime.session_id
            self._journal = journal.Journal(self.runtime.journal_root, self.runtime.run_id, writer,
                                            base_url=self.runtime.base_url)
        return self._journal

    def mint_stale_ctx(self, handle: str, slug: str) -> str:
        """A correctly signed ctx for a click a minute older than the sandbox's ctx TTL.

        The TTL is the sandbox's own (GET /__sandbox/info), not the config's: an attached
        sandbox may run with another --ctx-ttl. The shared clock is never moved."""
        from preflight.sandbox.process import SandboxClient

        with SandboxClient(self.runtime.base_url) as admin:
            return admin.mint_ctx(handle, slug, age_seconds=admin.info()["ctxTtlSeconds"] + 60)

    def worker_pids(self) -> list[int]:
        if self.runtime is None:
            return []
        return [int(p.read_text()) for p in Path(self.runtime.scratch).glob("*.pid") if p.read_text().isdigit()]

    # -- between collection and the first test ---------------------------------------------
    def write_collection(self, collection: dict[str, Any]) -> None:
        """On whichever process collected: keep it, and leave it for the controller."""
        self.collection = collection
        if self.is_worker and self.runtime is not None:
            worker = os.environ.get("PYTEST_XDIST_WORKER", "worker")
            path = Path(self.runtime.scratch) / f"collection-{worker}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(collection))
            os.replace(tmp, path)

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
        from preflight.harness import prewrite

        self.tests_started = True
        problem = prewrite.check(self)
        if problem is None:
            return True
        self.start_problem, self.problem_category = problem
        return False

    # -- the end ------------------------------------------------------------------------
    def finish(self) -> None:
        """Close what this process opened; safe to call more than once."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self.runtime is not None and not self.is_worker and self.runtime.scratch:
            # At exit, not now: a worker may still hold the shared pace file open.
            atexit.register(shutil.rmtree, self.runtime.scratch, True)


def _now() -> float:
    import time

    return time.time()


def _load(path: Path, target: str | None) -> Any:
    from preflight.config import ConfigError, load_run_config

    try:
        return load_run_config(path, target=target)
    except ConfigError as exc:
        raise StartError(str(exc)) from None


def _shard(text: str | None) -> Any:
    from preflight.lifecycle import shard

    try:
        return shard.parse(text) if text else None
    except ValueError as exc:
        raise StartError(str(exc)) from None


def _on_shard(run_config: Any, shard: Any) -> Any:
    return run_config.on_shard(shard) if shard is not None else run_config


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
