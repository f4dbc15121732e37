"""One way to open a target, for a run, an audit and every `preflight` command (doctor, plan,
cleanup): its base URL and tokens, and the client that speaks to it.

A remote target takes its tokens from the environment. A sandbox target that names a running
sandbox (`base_url`) gets tokens minted by it. The embedded sandbox exists only during a run: it is
started for the run (or for a command that needs one) and stops with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.config import ConfigError, RunConfig, TargetConfig, load_run_config
from preflight.core import redact
from preflight.http.client import Credentials, PlatformClient, RetryPolicy
from preflight.http.readiness import PAT_SCOPES


class TargetError(Exception):
    """One line for the user: the config or the target cannot be used."""


@dataclass
class Opened:
    """A target, opened: where it answers and the tokens to use there."""

    base_url: str
    jwt: str | None = field(repr=False)
    pat: str | None = field(repr=False)
    sandbox: Any = None  # the embedded sandbox started for this (a SandboxProcess), else None

    def close(self) -> None:
        """Stop the embedded sandbox (and drop its logs); an attached or remote target stays as it is."""
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None


def open_target_once(
    target: TargetConfig,
    *,
    faults: bool = False,
    seed: Callable[[Any, str], None] | None = None,
) -> Opened:
    """Open `target`: a remote one's tokens from its credentials; a sandbox attached to (its
    `base_url`) or started (the embedded one), with tokens minted for the handle. `faults`: switch on
    the target's `sandbox.faults`; `seed(admin, base_url)`: set up what the sandbox must hold first."""
    if target.kind != "sandbox":
        jwt = target.credentials.jwt.get_secret_value() if target.credentials else None
        pat = target.credentials.pat.get_secret_value() if target.credentials else None
        opened = Opened(target.base_url, jwt, pat)
    else:
        opened = _open_sandbox(target, faults=faults, seed=seed)
    redact.register_secret(opened.jwt)
    redact.register_secret(opened.pat)
    return opened


def _open_sandbox(target: TargetConfig, *, faults: bool, seed: Callable[[Any, str], None] | None) -> Opened:
    from preflight.sandbox.process import SandboxClient, SandboxProcess

    sandbox = None
    if target.base_url:  # a sandbox already running (e.g. `preflight sandbox`): attach
        admin = SandboxClient(target.base_url)
    else:
        admin = sandbox = SandboxProcess(
            port=0,
            plan=target.plan,
            ctx_ttl=target.sandbox.ctx_ttl_seconds,
            writes_per_day=target.sandbox.writes_per_day,
            analytics_lag_seconds=target.sandbox.analytics_lag_seconds,
        )
    try:
        if sandbox is not None:
            sandbox.start()
        base_url = target.base_url or sandbox.url
        jwt = admin.mint_jwt(target.handle, role=target.role)
        pat = admin.mint_pat(target.handle, scopes=list(PAT_SCOPES))
        if faults and target.sandbox.faults:
            admin.set_faults(target.sandbox.faults)
        if seed is not None:
            seed(admin, base_url)
    except Exception as exc:  # the sandbox's trouble is reported in one line
        if sandbox is not None:
            sandbox.close()
        raise TargetError(
            f"the sandbox at {target.base_url or 'the embedded sandbox'} is not usable: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        if sandbox is None:
            admin.close()  # the attached sandbox's control client: the run's own client is made apart
    return Opened(base_url, jwt, pat, sandbox)


@dataclass
class Connection:
    run_config: RunConfig
    client: PlatformClient
    jwt: str | None = field(repr=False)
    pat: str | None = field(repr=False)
    embedded: bool = False  # a private sandbox started for this command

    @property
    def target(self) -> Any:
        return self.run_config.target


def load(config: str, target: str | None) -> Any:
    try:
        return load_run_config(Path(config), target=target)
    except ConfigError as exc:
        raise TargetError(str(exc)) from None


@contextmanager
def open_target(
    config: str, target: str | None, *, embedded_ok: bool = True, start_embedded: bool = True
) -> Iterator[Connection]:
    """A command's connection. `embedded_ok`: the embedded sandbox is acceptable (started for the
    command when `start_embedded`, else a connection to nothing: only its config is of use)."""
    run_config = load(config, target)
    spec = run_config.target
    embedded = spec.kind == "sandbox" and not spec.base_url
    if embedded and not embedded_ok:
        raise TargetError(
            f"target {spec.name} is the embedded sandbox, which lives only during a run; "
            "nothing of an earlier run is left on it"
        )
    if embedded and not start_embedded:
        client = make_client(run_config, "http://127.0.0.1:9", None, None)
        try:
            yield Connection(run_config, client, None, None, embedded=True)
        finally:
            client.close()
        return
    opened = open_target_once(spec)
    try:
        if spec.kind == "sandbox":
            run_config = run_config.model_copy(update={"target": spec.with_base_url(opened.base_url)})
        client = make_client(run_config, opened.base_url, opened.jwt, opened.pat)
        try:
            yield Connection(run_config, client, opened.jwt, opened.pat, embedded=opened.sandbox is not None)
        finally:
            client.close()
    finally:
        opened.close()


def make_client(run_config: RunConfig, base_url: str, jwt: str | None, pat: str | None) -> PlatformClient:
    settings, contract = run_config.run, run_config.target.contract
    retry = RetryPolicy(
        attempts=settings.retry.attempts,
        backoff_seconds=settings.retry.backoff_seconds,
        max_wait_seconds=settings.retry.max_wait_seconds,
        timeout_seconds=settings.timeout_seconds,
    )
    return PlatformClient(
        base_url=base_url,
        handle=run_config.target.handle,
        credentials=Credentials(jwt=jwt, pat=pat),
        retry=retry,
        route_overrides=dict(contract.routes),
        request_id_headers=tuple(contract.request_id_headers),
        idempotency_key_in=contract.idempotency_key_in,
    )
