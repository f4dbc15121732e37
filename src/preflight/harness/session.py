"""One preflight run inside one pytest process: what the controller and the workers share.

The controller (harness.controller: the only process without xdist, or xdist's controller)
loads the config, starts the embedded sandbox, mints its tokens, checks readiness, checks the
write plan before the first test and writes the gate at the end. A worker (harness.worker)
rebuilds the same run from the `RunContext` the controller hands it and runs tests. Both keep
the run's client, journal and per-test evidence here, as pytest-xdist keeps its controller
(`dsession`) and worker (`remote`) apart.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from preflight.config import ConfigError, RunConfig, load_run_config
from preflight.core.categories import Category
from preflight.harness import options
from preflight.harness.interrupts import Interrupts
from preflight.harness.results import Collector, Recorder
from preflight.http import readiness
from preflight.http.client import PlatformClient
from preflight.lifecycle import journal
from preflight.lifecycle.shard import Shard, parse

if TYPE_CHECKING:
    from preflight.ops.plan import Fit, WritePlan

WORKER_KEY = "preflight"
SESSION = pytest.StashKey["PreflightSession"]()


class StartError(Exception):
    """The run cannot start; the message is one line per problem, for the user."""

    def __init__(self, message: str, category: Category = Category.CONFIG) -> None:
        super().__init__(message)
        self.category = category


@dataclass
class RunContext:
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
    """The run as one pytest process sees it. `plugin` keeps it in the config's stash, the
    `preflight` fixture hands it to tests; `Controller` and `Worker` say what each process does
    at each point of the run."""

    pytest_config: pytest.Config
    armed: bool = False  # the project's config was found or given: the plugin is on
    audit: bool = False  # an audit of the live campaigns (suites/live): reads only
    runtime: RunContext | None = None
    run_config: RunConfig | None = None
    start_problem: str | None = None
    problem_category: Category | None = None
    gate: dict[str, Any] | None = None
    run_id: str | None = None  # known before the runtime, so a failed start still names it
    shard: Shard | None = None  # `--shard I/N`, else None
    started_at: str | None = None
    readiness: list[readiness.Row] = field(default_factory=list)
    collection: dict[str, Any] | None = None  # planned and selected tests (see collect.selected)
    write_plan: WritePlan | None = None
    quota_fit: Fit | None = None
    tests_started: bool = False
    collector: Collector = field(default_factory=Collector)
    recorder: Recorder = field(default_factory=Recorder)
    interrupts: Interrupts = field(default_factory=Interrupts)
    _client: PlatformClient | None = None
    _journal: journal.Journal | None = None

    is_worker = False

    # -- what each process does at each point of the run (Controller and Worker) ------------
    def configure(self, config: pytest.Config) -> None:
        raise NotImplementedError

    def start(self, worker_payload: str | None) -> None:
        raise NotImplementedError

    def keep_collection(self, collection: dict[str, Any]) -> None:
        """On whichever process collected: keep what was selected."""
        self.collection = collection

    @property
    def collect_only(self) -> bool:
        return bool(self.pytest_config.getoption("collectonly", False))

    # -- where things are -----------------------------------------------------------------
    def config_path(self) -> Path:
        given = options.get(self.pytest_config, "preflight_config")
        path = Path(given) if given else self.default_config()
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def default_config(self) -> Path:
        return self.pytest_config.rootpath / "config" / "preflight.yaml"

    def reports_dir(self) -> Path:
        path = Path(options.get(self.pytest_config, "preflight_reports") or "reports")
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def journal_root(self) -> Path:
        given = options.get(self.pytest_config, "preflight_journal")
        if not given:
            return self.reports_dir() / "journal"
        path = Path(given)
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    # -- the target, the client and the journal ---------------------------------------------
    def load_run_config(self, path: Path, target: str | None) -> None:
        """The run's config (a shard's share of it on `--shard I/N`), pointed at `base_url` once known."""
        try:
            run_config = load_run_config(path, target=target)
        except ConfigError as exc:
            raise StartError(str(exc)) from None
        self.shard = shard_of(options.get(self.pytest_config, "preflight_shard"))
        self.run_config = run_config.on_shard(self.shard) if self.shard is not None else run_config

    def know_base_url(self, base_url: str) -> None:
        """An embedded sandbox's URL is known only once it runs: the target learns it here."""
        target = self.run_config.target.with_base_url(base_url)
        self.run_config = self.run_config.model_copy(update={"target": target})

    def client(self) -> PlatformClient:
        """The run's client: paced with every other process of the run, recording every exchange. An
        audit's client refuses, before sending, anything but GET and HEAD (`writes_allowed`)."""
        if self._client is None:
            from preflight.http.connect import make_client
            from preflight.http.pacing import make_pacer

            runtime = self.runtime
            self._client = make_client(self.run_config, runtime.base_url, runtime.jwt, runtime.pat)
            self._client.pacer = make_pacer(runtime.limiter_db, self.run_config.run, embedded=runtime.embedded)
            if self.audit:
                self._client.writes_allowed = self.audit_writes()
        return self._client

    def recording_client(self) -> PlatformClient:
        """client(), with every exchange landing in the running test's evidence (its recorder)."""
        client = self.client()
        if self.recorder.on_exchange not in client.observers:
            client.observers.append(self.recorder.on_exchange)
        return client

    def audit_writes(self) -> frozenset[str]:
        """The only routes an audit may send other than GET: route-preview when this invocation says
        --allow-writes (a target's allow_writes opts the lifecycle in, not the audit), and the support
        reports --escalate asks for."""
        allowed = set()
        if self.pytest_config.getoption("preflight_allow_writes"):
            allowed.add("route_preview")
        if options.get(self.pytest_config, "preflight_escalate"):
            allowed.add("support_report")
        return frozenset(allowed)

    @property
    def clicks_live(self) -> bool:
        return bool(options.get(self.pytest_config, "preflight_click"))

    @property
    def browser_live(self) -> bool:
        """--browser: the audit's live links in a real browser too (real clicks: only with --click)."""
        return self.clicks_live and bool(options.get(self.pytest_config, "preflight_browser"))

    def names(self, info: Any) -> tuple[str | None, str | None]:
        """The platform's campaign id and slug of a test's campaign and variant: the live ones in an
        audit, else this run's throwaway copy's."""
        from preflight.lifecycle.model import campaign_id_for, live_slug

        stem = getattr(info, "stem", None)
        variant = getattr(info, "variant", None)
        if not stem:
            return None, None
        if self.audit and self.run_config is not None:
            config = next((c for c in self.run_config.campaigns if c.stem == stem), None)
            if config is not None:
                return config.live_campaign_id, config.live_slug(variant) if variant else None
        run_id = self.runtime.run_id if self.runtime else self.run_id or ""
        return campaign_id_for(run_id, stem), live_slug(run_id, variant) if variant else None

    def journal(self) -> journal.Journal:
        if self._journal is None:
            writer = os.environ.get("PYTEST_XDIST_WORKER", "controller") + "-" + self.runtime.session_id
            self._journal = journal.Journal(
                self.runtime.journal_root, self.runtime.run_id, writer, base_url=self.runtime.base_url
            )
        return self._journal

    def mint_stale_ctx(self, handle: str, slug: str) -> str:
        """A correctly signed ctx for a click a minute older than the sandbox's ctx TTL.

        The TTL is the sandbox's own (GET /__sandbox/info), not the config's: an attached
        sandbox may run with another --ctx-ttl. The shared clock is never moved."""
        from preflight.sandbox.process import SandboxClient

        with SandboxClient(self.runtime.base_url) as admin:
            return admin.mint_ctx(handle, slug, age_seconds=admin.info()["ctxTtlSeconds"] + 60)

    def describe_credentials(self) -> None:
        """What the tokens really carry, for auth failure messages (never the configured role as if it were)."""
        from preflight.lifecycle.classify import describe_credentials

        target = self.run_config.target
        facts = readiness.jwt_facts(self.runtime.jwt) if self.runtime.jwt else None
        jwt = (
            f"a JWT with {facts.describe(target.handle, time.time())}"
            if facts
            else "a JWT whose claims are not readable"
        )
        pat = (
            f"scopes {', '.join(readiness.PAT_SCOPES)} (minted by the run)"
            if target.kind == "sandbox" and not target.base_url
            else "the PAT in $PREFLIGHT_PAT (the platform does not show its scopes)"
        )
        describe_credentials(jwt=jwt, pat=pat)

    # -- the end ------------------------------------------------------------------------------
    def finish(self) -> None:
        """Close what this process opened; safe to call more than once."""
        if self._client is not None:
            self._client.close()
            self._client = None


def shard_of(text: str | None) -> Shard | None:
    try:
        return parse(text) if text else None
    except ValueError as exc:
        raise StartError(str(exc)) from None
