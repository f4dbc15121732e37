"""The pytest command `preflight run` builds, and the project's own pytest settings."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

from preflight.cli import run as runner

ROOT = Path(__file__).resolve().parents[2]


def test_plain_pytest_suites_blocks_the_same_plugins_as_preflight_run():
    """`pytest suites` in the project (pyproject.toml's addopts) leaves out what `preflight run` does."""
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    given = shlex.split(addopts)
    blocked = {
        given[i + 1].removeprefix("no:")
        for i, arg in enumerate(given[:-1])
        if arg == "-p" and given[i + 1].startswith("no:")
    }
    assert blocked == set(runner.UNUSED_PLUGINS), (
        f"pyproject.toml addopts {addopts!r} blocks {sorted(blocked)}, preflight run blocks "
        f"{sorted(runner.UNUSED_PLUGINS)}: keep them the same"
    )
