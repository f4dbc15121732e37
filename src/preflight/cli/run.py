"""`preflight run`: the whole preflight as one command.

Runs the suites on xdist workers into a staging folder, builds the Allure 3 report there,
and only then replaces the previous run's outputs (a run that writes no gate leaves the
previous reports as they were). Ctrl-C and SIGTERM are passed to the run exactly once each:
the first stops it cleanly (what it enabled is retired, the gate says ERROR), a second skips
the clean-up. Exits 0 on PASS, 1 on FAIL, 2 on ERROR, 3 on HOLD (not proven ready).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from preflight.core import paste
from preflight.lifecycle import journal

# Pytest plugins every suites run leaves out, as pyproject.toml's addopts does for plain `pytest
# suites`: the dev extras' hypothesis and schemathesis, which the suites never use and which
# autoload into every pytest process (xdist workers too) at ~1 s of start-up each. pytest's cache
# stays (in reports/.pytest_cache), so `--lf` reruns what failed.
UNUSED_PLUGINS = ("hypothesispytest", "schemathesis")
# A run's own outputs; history/ and journal/ outlive runs (trends, and what to clean up).
OUTPUTS = ("allure-results", "allure-report", "escalations", "landing", "gate.json", "summary.md", "junit.xml")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run",
        help="run the lifecycle suites and build the report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default="config/preflight.yaml", help="the run's YAML config")
    parser.add_argument("--target", help="target name in config/targets/ or a target YAML path")
    parser.add_argument(
        "--run-id",
        help="reuse a run id: on a remote target, what it created is adopted with reads, not created again "
        "(the embedded sandbox starts empty: nothing to adopt)",
    )
    parser.add_argument("--escalate", action="store_true", help="send one support report per root cause")
    parser.add_argument(
        "--allow-writes", action="store_true", help="let the run write on a target other than the embedded sandbox"
    )
    parser.add_argument(
        "--allow-peak",
        action="store_true",
        help="let the run write inside a peak window of the config (run.peak_windows)",
    )
    add_common(parser)
    parser.set_defaults(handler=run)


def add_common(parser: argparse.ArgumentParser, reports: str = "reports") -> None:
    """The options `preflight run` and `preflight audit` share: workers, outputs, shards, pytest's own."""
    parser.add_argument("-n", "--workers", type=_workers, default=2, help="xdist workers (0: none; default 2)")
    parser.add_argument("--reports", default=reports, help=f"output folder (default: {reports})")
    parser.add_argument("--no-html", action="store_true", help="skip building the Allure HTML report")
    parser.add_argument(
        "--single-file",
        action="store_true",
        help="build the HTML report as single files (they open from disk, e.g. a CI artifact)",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="run shard I of N: each campaign runs on exactly one shard (stable across reruns and "
        "config order); join the shards' reports with `preflight merge`",
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments")


def run(args: argparse.Namespace) -> int:
    return execute(args, "run", ["suites"])


def execute(args: argparse.Namespace, command: str, suites: list[str], extra: tuple[str, ...] = ()) -> int:
    """Run `suites` (with `extra` plugin options) into a staging folder, build the report, replace
    the previous outputs, exit by the verdict: what `preflight run` and `preflight audit` share."""
    root = Path.cwd()
    if not all((root / suite).is_dir() for suite in suites):
        print(
            f"preflight {command}: no {' or '.join(suites)} folder in {root}; run it from the campaign-preflight "
            "project root",
            file=sys.stderr,
        )
        return 2
    if args.shard:
        from preflight.lifecycle.shard import parse

        try:
            parse(args.shard)
        except ValueError as exc:
            print(f"preflight {command}: {exc}", file=sys.stderr)
            return 2
    reports = (root / args.reports).resolve()
    staging = reports / f".incoming-{os.getpid()}"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    except OSError as exc:
        print(
            f"preflight {command}: --reports {args.reports}: {exc.strerror or exc}; pass a folder path", file=sys.stderr
        )
        return 2
    journals = set(journal.run_ids(reports / "journal"))
    try:
        code = _pytest(_pytest_command(args, staging, reports, suites, extra), root, reports)
        if not (staging / "gate.json").is_file():
            print(
                f"preflight {command}: pytest exited {code} without writing a gate; the previous reports in {reports} "
                "are untouched; see the output above",
                file=sys.stderr,
            )
            _left_enabled(args, reports / "journal", journals)
            return 2
        report = (
            None
            if args.no_html
            else build_html(
                command,
                staging,
                project_root=root,
                history_dir=reports / "history",
                gate=json.loads((staging / "gate.json").read_text()),
                single_file=args.single_file,
            )
        )
        replace_reports(reports, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    gate = json.loads((reports / "gate.json").read_text())
    print_outcome(gate, reports, report and reports / "allure-report", single_file=args.single_file)
    from preflight.report.judgement import exit_code

    return exit_code(gate.get("verdict"))


def _left_enabled(args: argparse.Namespace, root: Path, before: set[str]) -> None:
    """A run that ended without its gate (pytest killed): what its journal says may still be live,
    and the command that retires it."""
    for run_id in sorted(set(journal.run_ids(root)) - before):
        left = journal.leftovers(journal.read(root, run_id).values())
        if not left:
            continue
        count = sum(len(entry["linksLeftEnabled"]) for entry in left)
        reports = paste.shown(root.parent)
        retire = paste.command(
            "cleanup",
            run_id=run_id,
            config=paste.config_option(args.config),
            target=paste.target_option(args.target),
            reports=None if reports == "reports" else reports,
            yes=True,
        )
        print(f"run {run_id} may have left {count} link(s) enabled; retire them later with: {retire}", file=sys.stderr)


def _pytest(command: list[str], root: Path, reports: Path) -> int:
    """Run pytest in its own session, passing it each SIGINT/SIGTERM we get, exactly once; it gets a
    SIGTERM of its own when this process is killed (it then stops as on one, and says where its
    outputs stayed)."""
    env = {**os.environ, paste.FINAL_REPORTS: str(reports), paste.RUN_PID: str(os.getpid())}
    child = subprocess.Popen(command, cwd=root, start_new_session=True, env=env, preexec_fn=_die_with_parent)

    def forward(signum: int, frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _die_with_parent() -> None:
    """In the child, before pytest starts (Linux): SIGTERM when `preflight run` dies, a SIGKILL too."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _pytest_command(
    args: argparse.Namespace, staging: Path, reports: Path, suites: list[str], extra: tuple[str, ...] = ()
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        *suites,
        *extra,
        *blocked_plugins(),
        "--preflight-config",
        args.config,
        "--preflight-reports",
        str(staging),
        "--preflight-journal",
        str(reports / "journal"),
        "--preflight-html-report",
        "none" if args.no_html else "allure-report/index.html",
        "--alluredir",
        str(staging / "allure-results"),
        "--junitxml",
        str(staging / "junit.xml"),
        "-o",
        "junit_family=xunit1",
    ]
    if args.workers:
        command += ["-n", str(args.workers)]
    if args.target:
        command += ["--target", args.target]
    if getattr(args, "run_id", None):
        command += ["--run-id", args.run_id]
    if args.escalate:
        command.append("--escalate")
    if args.allow_writes:
        command.append("--allow-writes")
    if getattr(args, "allow_peak", False):
        command.append("--allow-peak")
    if args.shard:
        command += ["--shard", args.shard]
    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    return command + extra


def blocked_plugins() -> list[str]:
    """`-p no:<name>` for each plugin a suites run leaves out (a name that is not installed is harmless)."""
    return [arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")]


def replace_reports(reports: Path, staging: Path) -> None:
    """The new run's outputs take the previous run's place; paths inside them are rewritten."""
    for name in OUTPUTS:
        old = reports / name
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
    for name in OUTPUTS:
        new = staging / name
        if new.exists():
            os.replace(new, reports / name)
    for name in ("gate.json", "summary.md"):
        path = reports / name
        if path.is_file():
            path.write_text(path.read_text().replace(str(staging), str(reports)))


def build_html(
    command: str, staging: Path, *, project_root: Path, history_dir: Path, gate: dict, single_file: bool
) -> Path | None:
    """The Allure HTML report of the results in staging (`preflight run` and `preflight merge`).
    A failed or interrupted build is one line on stderr: the gate and summary stand without it."""
    from preflight.report import history
    from preflight.report.build import ReportBuildError, build_report

    history_path = history.path_for(history_dir, f"{gate.get('target') or 'unknown'}.allure")
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return build_report(
            staging / "allure-results",
            staging / "allure-report",
            project_root=project_root,
            gate=gate,
            history_path=history_path,
            single_file=single_file,
        )
    except ReportBuildError as exc:
        print(f"preflight {command}: the HTML report was not built: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(
            f"preflight {command}: interrupted: the HTML report was not built (the gate and summary are kept)",
            file=sys.stderr,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return None


def print_outcome(gate: dict, reports: Path, report: Path | None, *, single_file: bool = False) -> None:
    print()
    target = f", target {gate['target']}" if gate.get("target") else ""  # none when the config could not be read
    print(f"preflight verdict: {gate.get('verdict')}  (run {gate.get('runId')}{target})")
    if gate.get("reason"):
        print(f"  why:     {gate['reason']}")
    print(f"  gate:    {reports / 'gate.json'}")
    print(f"  summary: {reports / 'summary.md'}")
    if (reports / "junit.xml").is_file():
        print(f"  junit:   {reports / 'junit.xml'}")
    if report is not None:
        how = (
            f"open {report / 'index.html'} from disk"
            if single_file
            else f"serve it over http: npx allure open {report}"
        )
        print(f"  report:  {report}  ({how})")
    for sent in gate.get("notified") or []:  # the run's message (report.notify)
        print(f"  message: {sent['format']} to {sent['webhook']}: {sent['status']}" + _error(sent))


def _error(sent: dict) -> str:
    return f" ({sent['error']})" if sent.get("error") else ""


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers; use 0, 1, 2, …") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"{value!r}: the number of workers cannot be negative")
    return count
