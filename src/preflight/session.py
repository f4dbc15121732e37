"""One preflight run inside pytest: config, target, sandbox, tokens, client, results.

The controller (the only process without xdist, or xdist's controller) loads the
config, starts the embedded sandbox when the target is `sandbox`, mints its tokens,
and hands workers what they need through `workerinput`. Workers rebuild the same
session from it. The controller collects each test's result and writes the gate.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from preflight import options, redact
from preflight.client import Credentials, PlatformClient, RetryPolicy
from preflight.lifecycle import check_run_id, new_run_id
from preflight.results import Collector, Recorder, now_iso

WORKER_KEY = "preflight"
SESSION = pytest.StashKey["PreflightSession"]()
PAT_SCOPES = ["analytics.read", "pages.read", "pages.write"]


class StartError(Exception):
    """The run cannot start; the message is one line per problem, for the user."""


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
    escalate: bool
    started_at: str
    limiter_db: str | None = None
    sandbox: bool = False
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
    gate: dict[str, Any] | None = None
    run_id: str | None = None  # known before the runtime, so a failed start still names it
    collector: Collector = field(default_factory=Collector)
    recorder: Recorder = field(default_factory=Recorder)
    _client: PlatformClient | None = None
    _scratch: str | None = None

    # -- start-up -------------------------------------------------------------------
    @classmethod
    def from_pytest(cls, config: pytest.Config) -> "PreflightSession":
        session = cls(config)
        session.armed = options.given(config, "preflight_config") or session._default_config().is_file()
        return session

    @property
    def is_worker(self) -> bool:
        return hasattr(self.pytest_config, "workerinput")

    def config_path(self) -> Path:
        given = options.get(self.pytest_config, "preflight_config")
        path = Path(given) if given else self._default_config()
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def _default_config(self) -> Path:
        return self.pytest_config.rootpath / "config" / "preflight.yaml"

    def start_controller(self) -> None:
        started = now_iso()
        run_id = self.run_id = options.get(self.pytest_config, "preflight_run_id") or new_run_id()
        problem = check_run_id(run_id)
        if problem:
            raise StartError(problem)
        self.run_config = _load(self.config_path(), options.get(self.pytest_config, "preflight_target"))
        for stale in ("escalations", "leftovers"):  # a previous run's, which this run's gate does not name
            shutil.rmtree(self.reports_dir() / stale, ignore_errors=True)
        target = self.run_config.target
        base_url, jwt, pat = self._connect(target)
        self._know_base_url(base_url)
        self._scratch = tempfile.mkdtemp(prefix="preflight-run-")
        self.runtime = Runtime(
            run_id=run_id, config_path=str(self.config_path()),
            target_override=options.get(self.pytest_config, "preflight_target"),
            base_url=base_url, jwt=jwt, pat=pat, reports_dir=str(self.reports_dir()),
            escalate=bool(options.get(self.pytest_config, "preflight_escalate")), started_at=started,
            limiter_db=str(Path(self._scratch) / "limiter.sqlite"),
            sandbox=target.kind == "sandbox",  # embedded or attached: both have /__sandbox/ routes
        )
        self._describe_credentials()

    def start_worker(self, payload: str) -> None:
        self.runtime = Runtime(**json.loads(payload))
        redact.register_secret(self.runtime.jwt)
        redact.register_secret(self.runtime.pat)
        self.run_config = _load(Path(self.runtime.config_path), self.runtime.target_override)
        self._know_base_url(self.runtime.base_url)
        self._describe_credentials()

    def _know_base_url(self, base_url: str) -> None:
        """An embedded sandbox's URL is known only once it runs: the target learns it here."""
        target = self.run_config.target.with_base_url(base_url)
        self.run_config = self.run_config.model_copy(update={"target": target})

    def _describe_credentials(self) -> None:
        from preflight.classify import describe_credentials

        target = self.run_config.target
        pat = (f"scopes {', '.join(PAT_SCOPES)}" if target.kind == "sandbox"
               else "the PAT in $PREFLIGHT_PAT (its scopes are not visible to the harness)")
        describe_credentials(jwt=f"a JWT with role {target.role} on handle {target.handle}", pat=pat)

    def worker_payload(self) -> str:
        assert self.runtime is not None
        return json.dumps(asdict(self.runtime))

    def reports_dir(self) -> Path:
        path = Path(options.get(self.pytest_config, "preflight_reports") or "reports")
        return path if path.is_absolute() else self.pytest_config.rootpath / path

    def _connect(self, target: Any) -> tuple[str, str | None, str | None]:
        if target.kind != "sandbox":
            _probe(target)
            jwt = _secret(target.credentials.jwt)
            pat = _secret(target.credentials.pat)
        else:
            from preflight.sandbox.process import SandboxClient, SandboxProcess

            if target.base_url:  # a sandbox already running (e.g. `preflight sandbox`): attach
                admin = SandboxClient(target.base_url)
            else:
                self.sandbox = SandboxProcess(port=0, plan=target.plan, ctx_ttl=target.sandbox.ctx_ttl_seconds)
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

    # -- the client -------------------------------------------------------------------
    def client(self) -> PlatformClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> PlatformClient:
        assert self.runtime is not None
        settings, target = self.run_config.run, self.run_config.target
        retry = RetryPolicy(attempts=settings.retry.attempts, backoff_seconds=settings.retry.backoff_seconds,
                            max_wait_seconds=settings.retry.max_wait_seconds,
                            timeout_seconds=settings.timeout_seconds)
        contract = target.contract
        return PlatformClient(
            base_url=self.runtime.base_url, handle=target.handle,
            credentials=Credentials(jwt=self.runtime.jwt, pat=self.runtime.pat), retry=retry,
            route_overrides=dict(contract.routes), request_id_headers=tuple(contract.request_id_headers),
            idempotency_key_in=contract.idempotency_key_in,
            acquire=_shared_bucket(self.runtime.limiter_db, settings.rate_limit_per_second),
        )

    def mint_stale_ctx(self, handle: str, slug: str) -> str:
        """A correctly signed ctx for a click a minute older than the sandbox's ctx TTL.

        The TTL is the sandbox's own (GET /__sandbox/info), not the config's: an attached
        sandbox may run with another --ctx-ttl. The shared clock is never moved."""
        from preflight.sandbox.process import SandboxClient

        with SandboxClient(self.runtime.base_url) as admin:
            return admin.mint_ctx(handle, slug, age_seconds=admin.info()["ctxTtlSeconds"] + 60)

    # -- results and the end ------------------------------------------------------------
    def finish(self) -> None:
        """Close what this process opened; safe to call more than once."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None


def _load(path: Path, target: str | None) -> Any:
    from preflight.config import ConfigError, load_run_config

    try:
        return load_run_config(path, target=target)
    except ConfigError as exc:
        raise StartError(str(exc)) from None


def _probe(target: Any) -> None:
    """Reach the target once before the run, so a wrong base_url is one line, not a retry storm."""
    import httpx

    url = f"{target.base_url}/v2/system/health"
    try:
        httpx.get(url, timeout=10)
    except httpx.HTTPError as exc:
        raise StartError(f"target {target.name}: base_url {target.base_url} does not answer ({type(exc).__name__}: "
                         f"{exc}); check base_url in its target file and the network") from None


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _shared_bucket(db_path: str | None, per_second: float | None):
    """A token bucket shared by every worker of the run, so together they keep the pace."""
    if not db_path or not per_second:
        return None
    from pyrate_limiter import Duration, limiter_factory

    # A rate below one a second is one request per 1/rate seconds.
    count, window_ms = (int(per_second), Duration.SECOND) if per_second >= 1 else (1, int(1000 / per_second))
    limiter = limiter_factory.create_sqlite_limiter(rate_per_duration=count, duration=window_ms,
                                                    db_path=db_path, use_file_lock=True)
    return lambda: limiter.try_acquire("platform", blocking=True)


