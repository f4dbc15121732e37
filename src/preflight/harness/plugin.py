"""The pytest11 entry point: hooks only. What they do is in controller, worker, hooks and wrapup."""

from __future__ import annotations

import pytest

from preflight.harness import collect, fixtures, hooks, options
from preflight.harness.session import SESSION, WORKER_KEY
from preflight.harness.xdist_adapter import scope_scheduler
from preflight.report import allure


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in collect.MARKERS:
        config.addinivalue_line("markers", line)
    session = config.stash[SESSION] = hooks.session_for(config)
    config.stash[hooks.STOP] = hooks.Stop()
    if session.armed:
        config.pluginmanager.register(fixtures, "preflight-fixtures")
        config.pluginmanager.register(hooks.RuntestHooks(session), "preflight-runtest")
        config.pluginmanager.register(ArmedHooks(session), "preflight-run")
        session.configure(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    preflight = session.config.stash[SESSION]
    if preflight.armed:
        allure.write_compactly(session.config)
        preflight.start(getattr(session.config, "workerinput", {}).get(WORKER_KEY))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    preflight = node.config.stash[SESSION]
    if preflight.armed and preflight.runtime is not None and not preflight.start_problem:
        node.workerinput[WORKER_KEY] = preflight.worker_payload()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    preflight = config.stash[SESSION]
    if preflight.armed and preflight.run_config is not None:
        stems = [c.stem for c in preflight.run_config.campaigns]
        return scope_scheduler(
            config,
            log,
            lambda nodeid: collect.campaign_of(nodeid, stems),
            before_first_test=preflight.xdist_before_first_test,
        )
    return None


def pytest_ignore_collect(collection_path, config: pytest.Config) -> bool | None:
    preflight = config.stash.get(SESSION, None)
    if preflight is not None and preflight.armed:
        return collect.ignored(collection_path, config, preflight.audit)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    preflight = metafunc.config.stash[SESSION]
    if preflight.armed and preflight.run_config is not None:
        collect.parametrize(metafunc, preflight.run_config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return hooks.header(config.stash[SESSION])


def pytest_unconfigure(config: pytest.Config) -> None:
    preflight = config.stash[SESSION]
    preflight.finish()  # idempotent; covers a start-up that failed half-way
    preflight.interrupts.restore()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    hooks.terminal_summary(config.stash[SESSION], terminalreporter)


class ArmedHooks:
    """Hooks of an armed run only (the project's config was found or given)."""

    def __init__(self, preflight) -> None:
        self.preflight = preflight

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        hooks.census_before_selection(self.preflight, config, items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        hooks.after_selection(session.config, session.items)
        hooks.collection_finished(self.preflight, session)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        return hooks.before_first_test(self.preflight, session)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo) -> None:
        self.preflight.pytest_config.stash[hooks.STOP].keyboard_interrupt(excinfo)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        if not self.preflight.is_worker:
            self.preflight.ending()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    allure.drain_results()  # before an xdist worker says it is done, and before the run's end reads them
    hooks.finish(session.config.stash[SESSION], session)
