"""A target outside a pytest run, for the `preflight` commands (doctor, plan, cleanup).

A remote target takes its tokens from the environment, as a run does. A sandbox target
that names a running sandbox (`base_url`) gets tokens minted by it. The embedded sandbox
exists only during a run: a command that needs one starts a private copy for itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.config import ConfigError, RunConfig, load_run_config
from preflight.core import redact
from preflight.http.client import Credentials, PlatformClient, RetryPolicy

PAT_SCOPES = ("analytics.read", "pages.read", "pages.write")


class TargetError(Exception):
    """One line for the user: the config or the target cannot be used."""


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
    """`embedded_ok`: the embedded sandbox is acceptable (started for the command when
    `start_embedded`, else a connection to nothing: only its config is of use)."""
    run_config = load(config, target)
    spec = run_config.target
    sandbox = None
    try:
        if spec.kind == "remote":
            jwt = spec.credentials.jwt.get_secret_value() if spec.credentials else None
            pat = spec.credentials.pat.get_secret_value() if spec.credentials else None
            base_url = spec.base_url
        else:
            from preflight.sandbox.process import SandboxClient, SandboxProcess

            if spec.base_url:
                admin = SandboxClient(spec.base_url)
            elif embedded_ok and not start_embedded:
                client = make_client(run_config, "http://127.0.0.1:9", None, None)
                try:
                    yield Connection(run_config, client, None, None, embedded=True)
                finally:
                    client.close()
                return
            elif embedded_ok:
                admin = sandbox = SandboxProcess(
                    plan=spec.plan, ctx_ttl=spec.sandbox.ctx_ttl_seconds, writes_per_day=spec.sandbox.writes_per_day
                ).start()
            else:
                raise TargetError(
                    f"target {spec.name} is the embedded sandbox, which lives only during a run; "
                    "nothing of an earlier run is left on it"
                )
            try:
                jwt = admin.mint_jwt(spec.handle, role=spec.role)
                pat = admin.mint_pat(spec.handle, scopes=list(PAT_SCOPES))
            except Exception as exc:
                raise TargetError(
                    f"the sandbox at {spec.base_url or 'the embedded sandbox'} is not usable: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            base_url = spec.base_url or admin.url
            run_config = run_config.model_copy(update={"target": spec.with_base_url(base_url)})
        redact.register_secret(jwt)
        redact.register_secret(pat)
        client = make_client(run_config, base_url, jwt, pat)
        try:
            yield Connection(run_config, client, jwt, pat, embedded=sandbox is not None)
        finally:
            client.close()
    finally:
        if sandbox is not None:
            sandbox.close()


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
