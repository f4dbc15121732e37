"""`preflight audit`: the live campaigns the ads point at, read without writing.

Runs the audit's suites (suites/live) as `preflight run` runs the lifecycle's: the same gate
(PASS / FAIL / ERROR / HOLD, exit 0 / 1 / 2 / 3), summary, Allure report and escalations (for platform
defects only; a finding the marketer fixes in the dashboard names the fix and is not escalated).
Only GET and HEAD reach the API: no throwaway campaign, no write, no opt-in needed, any plan
(FREE included). `--click` follows each live link once as a declared bot, and with `--browser` in a
real browser on every viewport too (the shopper's journey, no lead sent); `--allow-writes` lets
route-preview confirm each routing evaluation (a POST: it counts as a write). Its reports go to
reports/audit/ (its own history too), apart from the run's: `preflight gate --audit` reads them.
"""

from __future__ import annotations

import argparse

from preflight.cli import run as runner
from preflight.cli.common import fail

# The audit's own reports (and history), beside the lifecycle run's in reports/: an audit at T−1h
# leaves the T−1d run's gate, summary, report and landing pages as they were.
REPORTS = "reports/audit"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "audit",
        help="audit the live campaigns with reads only (zero writes): links, lifetime, tags, routing, trust, funnel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default="config/preflight.yaml", help="the run's YAML config")
    parser.add_argument("--target", help="target name in config/targets/ or a target YAML path")
    parser.add_argument(
        "--click",
        action="store_true",
        help="follow each live short link once, as a declared bot (a bot click, never a qualified one)",
    )
    parser.add_argument(
        "--browser",
        action="store_true",
        help="with --click: also follow each live link in a real browser on every viewport (the shopper's "
        "journey, screenshots in the report); no lead is sent",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="let route-preview (a POST that counts as a write) confirm each routing evaluation",
    )
    parser.add_argument("--escalate", action="store_true", help="send one support report per platform root cause")
    runner.add_common(parser, reports=REPORTS)
    parser.set_defaults(handler=audit)


def audit(args: argparse.Namespace) -> int:
    if args.browser and not args.click:
        return fail(
            "audit",
            "--browser needs --click (each browser visit is a real click on a live link): run "
            "`preflight audit --click --browser`",
        )
    extra = ("--audit", *(("--click",) if args.click else ()), *(("--browser",) if args.browser else ()))
    return runner.execute(args, "audit", ["suites/live"], extra)
