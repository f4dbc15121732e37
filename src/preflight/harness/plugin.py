"""The pytest11 entry point: hooks only. The work is in session, collect, runtest and wrapup."""

from __future__ import annotations

import pytest

from preflight.harness import collect, options, fixtures as pytest_fixtures, hooks as runtest
from preflight.report import allure as allure_report
from preflight.harness.session import SESSION, WORKER_KEY, PreflightSession


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in collect.MARKERS:
        config.addinivalue_line("markers", line)
    session = PreflightSession.from_pytest(config)
    config.stash[SESSION] = session
    config.stash[runtest.STOP] = runtest.Stop()
    if session.armed:
        config.pluginmanager.register(pytest_fixtures, "preflight-fixtures")
        config.pluginmanager.register(runtest.RuntestHooks(session), "preflight-runtest")
        config.pluginmanager.register(ArmedHooks(session), "preflight-run")
        runtest.configure(session, config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.stash[SESSION].armed:
        allure_report.write_compactly(session.config)
    runtest.start(session.config.stash[SESSION], getattr(session.config, "workerinput", {}).get(WORKER_KEY))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    preflight = node.config.stash[SESSION]
    if preflight.armed and preflight.runtime is not None and not preflight.start_problem:
        node.workerinput[WORKER_KEY] = preflight.worker_payload()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    preflight = config.stash[SESSION]
    if preflight.armed and preflight.run_config is not None:
        return collect.campaign_scheduler(config, log, [c.stem for c in preflight.run_config.campaigns],
                                          before_first_test=runtest.xdist_before_first_test(preflight))
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    preflight = metafunc.config.stash[SESSION]
    if preflight.armed and preflight.run_config is not None:
        collect.parametrize(metafunc, preflight.run_config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return runtest.header(config.stash[SESSION])


def pytest_unconfigure(config: pytest.Config) -> None:
    preflight = config.stash[SESSION]
    preflight.finish()  # idempotent; covers a start-up that failed half-way
    preflight.interrupts.restore()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    runtest.terminal_summary(config.stash[SESSION], terminalreporter)


class ArmedHooks:
    """Hooks of an armed run only (the project's config was found or given)."""

    def __init__(self, preflight: PreflightSession) -> None:
        self.preflight = preflight

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        runtest.census_before_selection(self.preflight, config, items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        runtest.after_selection(session.config, session.items)
        runtest.collection_finished(self.preflight, session)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        return runtest.before_first_test(self.preflight, session)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo) -> None:
        self.preflight.pytest_config.stash[runtest.STOP].keyboard_interrupt(excinfo)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        runtest.ending(self.preflight)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    runtest.finish(session.config.stash[SESSION], session)
