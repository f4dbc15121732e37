"""Fixtures for the sandbox's own tests: one real sandbox process per session, reset per test.

Everything goes over real HTTP; nothing is mocked.
"""

from __future__ import annotations

import pytest
from sandbox_helpers import Api

from preflight.sandbox.process import SandboxProcess


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    with SandboxProcess(db=db) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: SandboxProcess) -> SandboxProcess:
    """The session sandbox, with all data and faults cleared."""
    sandbox.reset()
    return sandbox


@pytest.fixture
def api(sb: SandboxProcess):
    client = Api(sb)
    yield client
    client.close()
