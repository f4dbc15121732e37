"""Everything the harness asks of pytest-xdist, in one place.

Public API only (`xdist.is_xdist_worker`, `xdist.is_xdist_controller`, the
`pytest_xdist_make_scheduler` hook and its scheduler classes, and xdist's documented command-line
options), with two exceptions xdist leaves no public way around:
- the campaign scheduler overrides `LoadScopeScheduling._split_scope`, the method xdist's own
  loadfile and loadgroup schedulers override to choose a scope; pyproject.toml bounds
  pytest-xdist below 4 and tests/unit/test_layout.py allows that one private name here only;
- a run that cannot start (a config error) starts no worker: xdist has no hook to cancel them,
  so `no_workers` sets its `--dist`/`--tx` options back to "none", as the command line would.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import xdist
from xdist.scheduler import LoadScopeScheduling


def is_worker(config: pytest.Config) -> bool:
    """Whether this pytest process is an xdist worker. xdist's test takes a request or a session,
    of which it reads only `.config`; at pytest_configure the config is all there is."""
    return xdist.is_xdist_worker(SimpleNamespace(config=config))


def has_workers(session: pytest.Session) -> bool:
    """Whether this process is the controller of xdist workers (False without -n, or -p no:xdist)."""
    return will_have_workers(session.config)


def will_have_workers(config: pytest.Config) -> bool:
    """Whether this process is (or, at pytest_sessionstart, will be) the controller of xdist workers."""
    return config.pluginmanager.has_plugin("xdist") and xdist.is_xdist_controller(SimpleNamespace(config=config))


def no_workers(config: pytest.Config) -> None:
    """Start no xdist worker for this session (call at pytest_configure, before xdist starts them)."""
    config.option.dist, config.option.tx = "no", []


def scope_scheduler(
    config: pytest.Config,
    log: Any,
    scope_of: Callable[[str], str | None],
    before_first_test: Callable[[list[str]], bool] | None = None,
) -> LoadScopeScheduling:
    """xdist's loadscope scheduling with the scopes `scope_of(nodeid)` names (None: the test is a
    scope of its own), whatever `--dist` says.

    A run scopes by campaign: every mode (load, loadscope, loadfile, worksteal, loadgroup) must keep
    a campaign's steps in UC-07 order on one worker, and xdist's own `loadgroup` stopped grouping on
    pytest 9.2 (pytest-xdist#1386: it rewrites `item._nodeid`, which no longer takes effect), so the
    grouping is done here, from the node ids alone. The harness's own tests scope a module whose
    module-scoped fixture is a whole run, so no two workers make it. `before_first_test(nodeids)` is
    asked once the collection is complete; when it answers False no test is sent to any worker.
    """

    class ScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid) or nodeid

        def schedule(self) -> None:
            if self.collection is None and before_first_test is not None:
                ids = list(next(iter(self.registered_collections.values()), []))
                if not before_first_test(ids):
                    self.collection = []  # nothing is sent; every worker is told to stop
                    for node in self.nodes:
                        node.shutdown()
                    return
            super().schedule()

    return ScopeScheduling(config, log)
