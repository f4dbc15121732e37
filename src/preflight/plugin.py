"""The pytest11 entry point: hooks only. The work is in session, collect and results."""

from __future__ import annotations

import pytest

from preflight import collect, options, pytest_fixtures, runtest
from preflight.session import SESSION, WORKER_KEY, PreflightSession


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in collect.MARKERS:
        config.addinivalue_line("markers", line)
    session = PreflightSession.from_pytest(config)
    config.stash[SESSION] = session
    if session.armed:
        config.pluginmanager.register(pytest_fixtures, "preflight-fixtures")
        config.pluginmanager.register(runtest.RuntestHooks(session), "preflight-runtest")
        if not hasattr(config, "workerinput"):
            options.check_no_clean_alluredir(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    runtest.start(session.config.stash[SESSION], getattr(session.config, "workerinput", {}).get(WORKER_KEY))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    preflight = node.config.stash[SESSION]
    if preflight.armed and preflight.runtime is not None:
        node.workerinput[WORKER_KEY] = preflight.worker_payload()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    preflight = config.stash[SESSION]
    if preflight.armed and preflight.run_config is not None and config.getvalue("dist") == "loadgroup":
        return collect.campaign_scheduler(config, log, [c.stem for c in preflight.run_config.campaigns])
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    preflight = metafunc.config.stash[SESSION]
    if preflight.armed and preflight.run_config is not None:
        collect.parametrize(metafunc, preflight.run_config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[SESSION].armed:
        collect.order(items)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return runtest.header(config.stash[SESSION])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    runtest.finish(session.config.stash[SESSION], session)


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[SESSION].finish()  # idempotent; covers a start-up that failed half-way


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    runtest.terminal_summary(config.stash[SESSION], terminalreporter)

