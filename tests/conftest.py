"""How the harness's own tests share two workers (`make test` runs them with -n 2).

A module with a module-scoped fixture (a whole `preflight run`, a built report, a browser) runs on one
worker, so that fixture is made once; every other test is a scope of its own. xdist's loadscope
scheduling sends the module scopes first (most tests first), then the single tests in collection
order, which fill both workers to the end.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from preflight.harness.xdist_adapter import scope_scheduler

TESTS = Path(__file__).resolve().parent


@functools.cache
def has_module_fixture(module: str) -> bool:
    """Whether tests/<module> declares a fixture with scope="module" (read from its source)."""
    path = TESTS / module
    if not path.is_file():
        return False
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and any(
            k.arg == "scope" and isinstance(k.value, ast.Constant) and k.value.value == "module" for k in node.keywords
        ):
            return True
    return False


def module_scope(nodeid: str) -> str | None:
    module = nodeid.split("::", 1)[0]
    return module if has_module_fixture(module) else None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    return scope_scheduler(config, log, module_scope)
