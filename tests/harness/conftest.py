"""Fixtures for the harness's own end-to-end tests: a copy of the project in a temp
folder, pointed at a real sandbox process, run the way a user runs it."""

from __future__ import annotations

import pytest
from harness_helpers import PreflightProject, make_project

from preflight.sandbox.process import SandboxProcess


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    """One sandbox for the harness tests; each project run resets it first."""
    with SandboxProcess(db=tmp_path_factory.mktemp("sandbox") / "sandbox.db") as sb:
        yield sb


@pytest.fixture
def project(tmp_path, sandbox) -> PreflightProject:
    """The project's suites, fixtures and config, targeting the shared sandbox (reset, no faults)."""
    sandbox.reset()
    return make_project(tmp_path / "project", sandbox=sandbox)


@pytest.fixture
def embedded_project(tmp_path) -> PreflightProject:
    """The project as shipped: its default target starts its own embedded sandbox."""
    return make_project(tmp_path / "project")
