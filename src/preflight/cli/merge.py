"""`preflight merge DIR...`: the reports of a run's shards (`preflight run --shard I/N`) as one run's.

Writes gate.json, summary.md, junit.xml, allure-results/, escalations/ and the HTML report into
--out (default: reports; reports/audit for an audit's shards), as one run would, so `preflight gate`
reads them the same way. The verdict is ERROR when a shard is missing (how many there are comes
from the shards' gates, or --expect), given twice or ERROR itself, or when the shards do not add up
to the config; else FAIL when any test failed, else HOLD when a check could not judge, else PASS.
Exits 0 on PASS, 1 on FAIL, 2 on ERROR, 3 on HOLD.

The merge sends the run's message to the webhooks of the config's notify: block (--config), as a
single run does at its end; the shards never send one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from preflight.cli.common import fail, one_line_errors
from preflight.config.errors import ConfigError

DEFAULT_CONFIG = "config/preflight.yaml"


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "merge",
        help="join the reports of a run's shards into one verdict and report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folders", nargs="+", metavar="DIR", help="a shard's reports folder (one per shard)")
    parser.add_argument(
        "--out",
        help="where the merged reports go (default: reports, or reports/audit when the shards are an audit's)",
    )
    parser.add_argument(
        "--expect",
        type=_count,
        metavar="N",
        help="the number of shards the run had (a shard whose folder is missing entirely is then "
        "still counted); default: as the shards' gates say",
    )
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help="the run's YAML config, for its notify: block (who hears the verdict; default: "
        f"{DEFAULT_CONFIG}, when it exists)",
    )
    parser.add_argument("--no-html", action="store_true", help="skip building the Allure HTML report")
    parser.add_argument(
        "--single-file",
        action="store_true",
        help="build the HTML report as single files (they open from disk, e.g. a CI artifact)",
    )
    one_line_errors(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from preflight.cli.run import build_html, print_outcome, replace_reports
    from preflight.report import merge

    args.out = args.out or default_out(args.folders)
    out = Path(args.out).resolve()
    if any(Path(folder).resolve() == out for folder in args.folders):
        return fail(
            "merge",
            f"--out {args.out} is one of the shard folders; give the merged reports a folder of "
            "their own, e.g. --out reports",
        )
    try:
        settings = _notify_settings(args.config)
    except ConfigError as exc:
        return fail("merge", str(exc))
    staging = out / f".incoming-{os.getpid()}"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    except OSError as exc:
        return fail("merge", f"--out {args.out}: {exc.strerror or exc}; pass a folder path")
    try:
        html = None if args.no_html else str(out / "allure-report" / "index.html")
        telling = merge.Telling(settings, shown_at=out, html=html) if settings is not None else None
        merged = merge.merge(args.folders, staging, expect=args.expect, history_dir=out / "history", telling=telling)
        report = (
            None
            if args.no_html
            else build_html(
                "merge",
                staging,
                project_root=Path.cwd(),
                history_dir=out / "history",
                gate=merged.gate,
                single_file=args.single_file,
            )
        )
        merge.set_report_path(staging, str(staging / "allure-report" / "index.html") if report else None)
        replace_reports(out, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for problem in merged.problems:
        print(f"preflight merge: {problem}", file=sys.stderr)
    gate = json.loads((out / "gate.json").read_text())
    print_outcome(gate, out, report and out / "allure-report", single_file=args.single_file)
    from preflight.report.judgement import exit_code

    return exit_code(gate.get("verdict"))


def default_out(folders: list[str]) -> str:
    """reports/audit when every shard's gate is an audit's (as `preflight audit` keeps its own), else reports."""
    from preflight.cli.audit import REPORTS
    from preflight.report.facts import AUDIT

    modes = set()
    for folder in folders:
        try:
            modes.add(json.loads((Path(folder) / "gate.json").read_text()).get("mode"))
        except (OSError, ValueError, AttributeError):
            continue
    return REPORTS if modes == {AUDIT} else "reports"


def _notify_settings(config: str):
    """The config's notify: block (None when the default config is not there: nobody to tell)."""
    from preflight.config.loader import load_notify

    if config == DEFAULT_CONFIG and not Path(config).is_file():
        return None
    return load_notify(config)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"--expect {text!r}: the number of shards, 1 or more")
    return int(text)
