"""`preflight gate`: the verdict of a finished run, as a CI step's result.

Reads gate.json (of reports/, the lifecycle run's; --audit: of reports/audit/, the latest audit's),
says the verdict and why, and exits 0 on PASS, 1 on FAIL, 2 on ERROR (or when
there is no gate: the run never got far enough to write one), 3 on HOLD (nothing broken found, but
a check in scope could not judge: not proven ready). On GitHub Actions (or with --github) each
failure also becomes an `::error::` annotation with its category and next step, each check that
could not judge a `::warning::` with what makes it judgeable, and `--step-summary` appends
summary.md to $GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from preflight.cli.audit import REPORTS
from preflight.cli.common import fail, one_line_errors
from preflight.report import judgement


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "gate",
        help="a finished run's verdict as an exit code (and CI annotations)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--reports", help="the run's reports folder (default: reports)")
    which.add_argument(
        "--audit",
        action="store_true",
        help="the latest audit's verdict (reports/audit: where `preflight audit` writes)",
    )
    parser.add_argument(
        "--github",
        action="store_true",
        default=os.environ.get("GITHUB_ACTIONS") == "true",
        help="print GitHub Actions annotations (on by default inside GitHub Actions)",
    )
    parser.add_argument(
        "--step-summary", action="store_true", help="append summary.md to the file $GITHUB_STEP_SUMMARY names"
    )
    one_line_errors(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    reports = Path(args.reports or (REPORTS if args.audit else "reports"))
    path = reports / "gate.json"
    if not path.is_file():
        line = f"no gate at {path}: the run stopped before it could write one (see its output)"
        if args.github:
            print(f"::error title=preflight ERROR::{_escape(line)}")
        return fail("gate", line)
    gate = json.loads(path.read_text())
    if args.step_summary:
        _step_summary(reports / "summary.md")
    verdict = gate.get("verdict", "ERROR")
    target = f", target {gate['target']}" if gate.get("target") else ""
    print(f"preflight verdict: {verdict} (run {gate.get('runId')}{target}): {gate.get('reason')}")
    for entry in gate.get("unjudged") or []:
        print(f"  could not judge: {_unjudged_text(entry)}")
    if args.github:
        for line in annotations(gate):
            print(line)
    return judgement.exit_code(verdict)


def _step_summary(summary: Path) -> None:
    """Append summary.md to $GITHUB_STEP_SUMMARY; say so in one line on stderr when it cannot."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        print(
            "preflight gate: --step-summary: $GITHUB_STEP_SUMMARY is not set (it is inside GitHub Actions); "
            f"nothing appended, the summary is {summary}",
            file=sys.stderr,
        )
    elif not summary.is_file():
        print(f"preflight gate: --step-summary: no {summary} to append", file=sys.stderr)
    else:
        try:
            with open(target, "a", encoding="utf-8") as out:
                out.write(summary.read_text() + "\n")
        except OSError as exc:
            print(f"preflight gate: --step-summary: {target}: {exc.strerror or exc}", file=sys.stderr)


def annotations(gate: dict) -> list[str]:
    """One `::error::` per failure (with its category and next step) and for an ERROR's reason; one
    `::warning::` per check that could not judge (a HOLD: not broken, not proven)."""
    out = []
    if gate.get("verdict") == "ERROR":
        out.append(f"::error title=preflight ERROR::{_escape(gate.get('reason') or '')}")
    for entry in gate.get("unjudged") or []:
        where = (entry.get("test") or "").split("::")[0]
        out.append(
            f"::warning {f'file={where},' if where else ''}title=preflight HOLD: could not judge "
            f"{_escape_property(entry.get('check') or '?')}::{_escape(_unjudged_text(entry))}"
        )
    for result in gate.get("results", []):
        if not judgement.is_bad(result):
            continue
        category = judgement.category(result)
        first = (result.get("message") or "").strip().splitlines()[:1]
        text = f"{first[0] if first else result['nodeid']} | next step: {judgement.next_step(result)}"
        out.append(
            f"::error file={result['nodeid'].split('::')[0]},title=[{category}] "
            f"{_escape_property(result['nodeid'].split('::')[-1])}::{_escape(text)}"
        )
    return out


def _unjudged_text(entry: dict) -> str:
    where = " · ".join(name for name in (entry.get("campaign"), entry.get("variant")) if name)
    return f"{entry.get('check')}{f' ({where})' if where else ''}: {entry.get('why')}" + (
        f" | to judge it: {entry['fix']}" if entry.get("fix") else ""
    )


def _escape(text: str) -> str:
    # GitHub's workflow-command escaping of a message.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")
