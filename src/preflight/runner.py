"""`preflight run`: the whole preflight as one command.

Empties the Allure results (never --clean-alluredir: under xdist each worker would
wipe the others' results), runs the suites on xdist workers, builds the Allure 3
report, and exits 0 only when the gate's verdict is PASS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

EXIT_BY_VERDICT = {"PASS": 0, "FAIL": 1, "ERROR": 2}
# Output of a previous run; history.jsonl is kept so Allure can show trends.
STALE_OUTPUTS = ("allure-results", "allure-report", "escalations", "leftovers", "gate.json", "summary.md",
                 "junit.xml")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("run", help="run the lifecycle suites and build the report",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config/preflight.yaml", help="the run's YAML config")
    parser.add_argument("--target", help="target name in config/targets/ or a target YAML path")
    parser.add_argument("--run-id", help="reuse a run id (its idempotency keys replay; nothing is done twice)")
    parser.add_argument("--escalate", action="store_true", help="send each failure's support report")
    parser.add_argument("-n", "--workers", type=_workers, default=2, help="xdist workers (0: none; default 2)")
    parser.add_argument("--reports", default="reports", help="output folder (default: reports)")
    parser.add_argument("--no-html", action="store_true", help="skip building the Allure HTML report")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = Path.cwd()
    if not (root / "suites").is_dir():
        print(f"preflight run: no suites/ folder in {root}; run it from the campaign-preflight project root",
              file=sys.stderr)
        return 2
    reports = (root / args.reports).resolve()
    try:
        _clear(reports)
    except OSError as exc:
        print(f"preflight run: --reports {args.reports}: {exc.strerror or exc}; pass a folder path", file=sys.stderr)
        return 2
    code = subprocess.call(_pytest_command(args, reports), cwd=root)
    gate_path = reports / "gate.json"
    if not gate_path.is_file():
        print(f"preflight run: pytest exited {code} without writing {gate_path}; see its output above",
              file=sys.stderr)
        return 2
    gate = json.loads(gate_path.read_text())
    report = None if args.no_html else _build_html(root, reports)
    _print_outcome(gate, reports, report)
    return EXIT_BY_VERDICT.get(gate.get("verdict"), 2)


def _pytest_command(args: argparse.Namespace, reports: Path) -> list[str]:
    command = [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider",
               "--preflight-config", args.config, "--preflight-reports", str(reports),
               "--alluredir", str(reports / "allure-results"), "--junitxml", str(reports / "junit.xml"),
               "-o", "junit_family=xunit1"]
    if args.workers:
        command += ["-n", str(args.workers), "--dist", "loadgroup"]
    if args.target:
        command += ["--target", args.target]
    if args.run_id:
        command += ["--run-id", args.run_id]
    if args.escalate:
        command.append("--escalate")
    if args.no_html:
        command += ["--preflight-html-report", "none"]
    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    return command + extra


def _clear(reports: Path) -> None:
    reports.mkdir(parents=True, exist_ok=True)
    for name in STALE_OUTPUTS:
        path = reports / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _build_html(root: Path, reports: Path) -> Path | None:
    from preflight.report.build import ReportBuildError, build_report

    try:
        return build_report(reports / "allure-results", reports / "allure-report", project_root=root)
    except ReportBuildError as exc:
        print(f"preflight run: the HTML report was not built: {exc}", file=sys.stderr)
        return None


def _print_outcome(gate: dict, reports: Path, report: Path | None) -> None:
    print()
    print(f"preflight verdict: {gate.get('verdict')}  (run {gate.get('runId')}, target {gate.get('target')})")
    print(f"  gate:    {reports / 'gate.json'}")
    print(f"  summary: {reports / 'summary.md'}")
    if (reports / "junit.xml").is_file():
        print(f"  junit:   {reports / 'junit.xml'}")
    if report is not None:
        print(f"  report:  {report}  (serve it over http: npx allure open {report})")


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers; use 0, 1, 2, …") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: the number of workers cannot be negative")
    return count
