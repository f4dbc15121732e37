"""The plugin's base fixtures: the run, its config and the platform client.
Registered by the plugin on an armed run; the reusable lifecycle fixtures build on
these (see the top-level `fixtures/` package)."""

from __future__ import annotations

import pytest

from preflight.config import RunConfig, TargetConfig
from preflight.harness.session import SESSION, PreflightSession
from preflight.http.client import PlatformClient
from preflight.lifecycle.model import Artifacts


@pytest.fixture(scope="session")
def preflight(request: pytest.FixtureRequest) -> PreflightSession:
    """The run: its runtime (run id, target URL), config, recorder."""
    return request.config.stash[SESSION]


@pytest.fixture(scope="session")
def run_config(preflight: PreflightSession) -> RunConfig:
    return preflight.run_config


@pytest.fixture(scope="session")
def run_id(preflight: PreflightSession) -> str:
    return preflight.runtime.run_id


@pytest.fixture(scope="session")
def target(run_config: RunConfig) -> TargetConfig:
    return run_config.target


@pytest.fixture(scope="session")
def platform(preflight: PreflightSession) -> PlatformClient:
    """The HTTP client for the target; every exchange lands in the running test's evidence."""
    return preflight.recording_client()


@pytest.fixture
def artifacts(preflight: PreflightSession) -> Artifacts:
    """This test's `artifacts` JSON (attached to the report when the test ends)."""
    return preflight.recorder.current.artifacts
