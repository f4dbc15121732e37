"""Every pytest option of the plugin, defined once.

The CLI flag and the ini key are derived from the same entry, so their names,
defaults and help text cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Option:
    name: str  # the ini key and the `config.getoption` dest
    flag: str
    help: str
    default: Any = None
    is_flag: bool = False

    @property
    def ini_type(self) -> str:
        return "bool" if self.is_flag else "string"


OPTIONS: tuple[Option, ...] = (
    Option(
        "preflight_config",
        "--preflight-config",
        "the run's YAML config (default: config/preflight.yaml under the rootdir)",
    ),
    Option(
        "preflight_target",
        "--target",
        "target name in config/targets/ or a target YAML path; overrides the config's target",
    ),
    Option(
        "preflight_run_id",
        "--run-id",
        "run id (lowercase letters, digits, dashes); default: a fresh sortable id. "
        "Reusing one replays its idempotency keys, so no business action repeats",
    ),
    Option(
        "preflight_reports",
        "--preflight-reports",
        "folder for gate.json, summary.md and escalations",
        default="reports",
    ),
    Option(
        "preflight_journal",
        "--preflight-journal",
        "folder of the runs' journals (what each run enabled, so it can be retired even after an "
        "interrupted run); default: journal/ in the reports folder",
    ),
    Option(
        "preflight_html_report",
        "--preflight-html-report",
        "the HTML report the gate and summary name (relative to the reports folder); 'none' when no report is built",
        default="allure-report/index.html",
    ),
    Option(
        "preflight_allow_writes",
        "--allow-writes",
        "let the run write (create throwaway campaigns, conversions, leads) on a target other than the "
        "embedded sandbox; or set allow_writes: true in the target file",
        default=False,
        is_flag=True,
    ),
    Option(
        "preflight_allow_peak",
        "--allow-peak",
        "let a run that writes start inside one of the config's peak windows (run.peak_windows); without "
        "it such a run stops before its first write, saying when the window ends",
        default=False,
        is_flag=True,
    ),
    Option(
        "preflight_collect_to",
        "--preflight-collect-to",
        "with --collect-only: write the selected tests, as the write plan needs them, to this JSON file "
        "(what `preflight plan` and `preflight doctor` use); nothing is started",
    ),
    Option(
        "preflight_escalate",
        "--escalate",
        "send one support report per root cause (POST /v2/support/report) and record the ticket",
        default=False,
        is_flag=True,
    ),
    Option(
        "preflight_audit",
        "--audit",
        "audit the live campaigns the config names (suites/live): reads only, no throwaway campaign, no write "
        "(`preflight audit`); plain `pytest suites/live` is an audit too",
        default=False,
        is_flag=True,
    ),
    Option(
        "preflight_click",
        "--click",
        "with --audit: follow each live short link once as a declared bot (one bot click per variant, never a "
        "qualified one), to check where it lands and how long its ctx lives",
        default=False,
        is_flag=True,
    ),
    Option(
        "preflight_browser",
        "--browser",
        "with --audit --click: also follow each live short link in a real browser on every viewport (the "
        "shopper's journey: the landing page answers, keeps ctx and tags, is the variant's; screenshots in the "
        "report). Reads only: no lead is sent",
        default=False,
        is_flag=True,
    ),
    Option(
        "preflight_shard",
        "--shard",
        "I/N: run shard I of N, each campaign on exactly one shard (a stable hash of its campaignId); "
        "the others' tests are deselected. `preflight merge` joins the shards' reports",
    ),
)
_BY_NAME = {option.name: option for option in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("preflight", "campaign-preflight")
    for option in OPTIONS:
        if option.is_flag:
            group.addoption(option.flag, dest=option.name, action="store_true", default=None, help=option.help)
        else:
            group.addoption(option.flag, dest=option.name, default=None, help=option.help)
        parser.addini(option.name, option.help, type=option.ini_type, default=option.default)


def get(config: pytest.Config, name: str) -> Any:
    """The CLI value when given, else the ini value, else the default."""
    value = config.getoption(name)
    if value is not None:
        return value
    return config.getini(name)


def given(config: pytest.Config, name: str) -> bool:
    """Whether the user set the option at all (CLI or ini)."""
    if config.getoption(name) is not None:
        return True
    return bool(config.getini(name)) and config.getini(name) != _BY_NAME[name].default


def check_no_clean_alluredir(config: pytest.Config) -> None:
    """Refuse allure-pytest's --clean-alluredir together with xdist's -n."""
    # Under xdist every worker would wipe the folder and results would be lost.
    if config.getoption("clean_alluredir", False) and config.getoption("numprocesses", None):
        raise pytest.UsageError(
            "--clean-alluredir loses results under xdist (-n): empty the folder before "
            "pytest instead (`preflight run` does)"
        )
