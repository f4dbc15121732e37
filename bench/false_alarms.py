"""False alarms: `preflight run` (or plain `pytest suites -n N`, with --plain) against a healthy
sandbox, N times in a row (default 30).

A false alarm is any run whose verdict is not PASS (or whose exit code is not 0) although no
fault is switched on. Each run uses the project's own suites and config, in a throwaway copy
attached to one sandbox process, reset before every run, with the default two xdist workers,
exactly as `make preflight` runs. The script prints one line per run and a total, and appends
a row (count, machine, date) to the `## False alarms` section of bench/RESULTS.md (other
sections are left alone; the file is created with just that section when absent).

    .venv/bin/python bench/false_alarms.py [--runs 30] [--workers 2] [--plain] [--no-write]

The harness's code is read live from src/ by every run: when it (or the suites, fixtures,
config) changes while the bench goes on, the bench stops without writing a row, since the runs
no longer measure one version. The load average before and after is recorded: the machine's
2 cores may be shared with other work, which is part of what a false alarm may come from.

Exit status: 0 when every run passed, 1 when any false alarm was seen, 2 when the bench broke
(or the code changed under it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests" / "harness"))
from harness_helpers import make_project  # noqa: E402 (tests/harness, on the path just above)

from preflight.sandbox.process import SandboxProcess  # noqa: E402

RESULTS = BENCH / "RESULTS.md"
SECTION = "## False alarms"
INTRO = (
    "Written by `bench/false_alarms.py`: `preflight run` against a healthy sandbox (no fault), N runs in a row,\n"
    "each on the default two xdist workers after a sandbox reset. A false alarm is a run whose verdict is not\n"
    "PASS. One row per invocation; rerun the script rather than editing by hand.\n"
    "\n"
    "| date (UTC) | runs | false alarms | verdicts | run time (s): median / max | command | nproc | python "
    "| load avg before → after | commit |\n"
    "|---|---|---|---|---|---|---|---|---|---|\n"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/false_alarms.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="runs in a row (default 30)")
    parser.add_argument("--workers", default="2", help="preflight run -n (default 2, as shipped)")
    parser.add_argument(
        "--plain", action="store_true", help="plain `pytest suites -n N` (the form CI configs use), not `preflight run`"
    )
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    verdicts: Counter[str] = Counter()
    alarms: list[str] = []
    durations: list[float] = []
    code_at_start = code_fingerprint()
    load_before = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="pf-false-alarms-") as tmp,
        SandboxProcess(db=Path(tmp) / "sandbox.db") as sandbox,
    ):
        project = make_project(Path(tmp) / "project", sandbox=sandbox)
        print(
            f"false alarms: {args.runs} runs of {command(args)} against a healthy sandbox at {sandbox.url} "
            f"(nproc {os.cpu_count()})",
            flush=True,
        )
        for index in range(1, args.runs + 1):
            if code_fingerprint() != code_at_start:
                print(
                    f"false alarms: the harness code changed after run {index - 1}; the runs no longer measure "
                    "one version: stopped, nothing written. Rerun on a quiet tree.",
                    file=sys.stderr,
                )
                return 2
            sandbox.reset()
            started = time.monotonic()
            run = plain_pytest(project, args.workers) if args.plain else project.run("-n", args.workers)
            durations.append(time.monotonic() - started)
            try:
                gate = run.gate
            except (OSError, ValueError):
                gate = {"verdict": "ERROR (no gate.json)", "results": []}
            verdict = gate.get("verdict")
            verdicts[verdict] += 1
            failed = [
                f"{r['nodeid']} [{r.get('category')}]"
                for r in gate.get("results", [])
                if r.get("outcome") in ("failed", "error")
            ]
            line = f"  run {index:2d}/{args.runs}: {verdict} (exit {run.code}) in {durations[-1]:.1f}s"
            if verdict != "PASS" or run.code != 0:
                alarms.append(f"run {index}: {verdict}, exit {run.code}: {'; '.join(failed) or run.stdout[-400:]}")
                line += "  <- FALSE ALARM: " + ("; ".join(failed) or "see output")
            print(line, flush=True)
    count = len(alarms)
    machine = machine_facts()
    durations.sort()
    median = durations[len(durations) // 2]
    print(
        f"false alarms: {count} of {args.runs} runs (verdicts {dict(verdicts)}); run time median "
        f"{median:.1f}s, max {durations[-1]:.1f}s; nproc {machine['nproc']}, python {machine['python']}, "
        f"{machine['date']}"
    )
    for alarm in alarms:
        print("  " + alarm)
    if not args.no_write:
        row = (
            f"| {machine['date']} | {args.runs} | {count} | "
            + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items()))
            + f" | {median:.1f} / {durations[-1]:.1f} | {command(args)} | {machine['nproc']} | "
            f"{machine['python']} | {load_before} → {load_average()} | {machine['commit']} |"
        )
        append_row(RESULTS, row)
        print(f"false alarms: appended to the {SECTION!r} section of {RESULTS.relative_to(ROOT)}")
    return 1 if count else 0


def command(args: argparse.Namespace) -> str:
    return f"`pytest suites -n {args.workers}`" if args.plain else f"`preflight run -n {args.workers}`"


def plain_pytest(project, workers: str):
    from harness_helpers import RunResult

    done = project.pytest("suites", "-n", workers, "-p", "no:hypothesispytest", "-p", "no:schemathesis")
    return RunResult(done.returncode, done.stdout, done.stderr, project.path / "reports")


def code_fingerprint() -> str:
    """A hash of what a run executes: the package, suites, fixtures, config and test helpers."""
    digest = hashlib.sha256()
    for pattern in (
        "src/preflight/**/*.py",
        "suites/*.py",
        "fixtures/*.py",
        "conftest.py",
        "config/**/*.yaml",
        "allurerc.mjs",
        "tests/harness/harness_helpers.py",
    ):
        for path in sorted(ROOT.glob(pattern)):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine_facts() -> dict[str, str]:
    commit = "?"
    head = ROOT / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        commit = (ROOT / ".git" / ref.split(" ", 1)[1]).read_text().strip()[:7] if ref.startswith("ref:") else ref[:7]
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "commit": commit,
    }


def append_row(path: Path, row: str) -> None:
    """Add a row at the end of `## False alarms` (up to the next `## ` heading); keep every other section."""
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}[ \t]*\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    match = pattern.search(text)
    if match is None:
        section = f"{SECTION}\n\n{INTRO}{row}\n"
        text = (text.rstrip("\n") + "\n\n" + section) if text.strip() else section
    else:
        body = match.group(0).rstrip("\n") + "\n" + row + "\n"
        tail = text[match.end() :]
        text = text[: match.start()] + body + ("\n" + tail if tail else "")
    path.write_text(text)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 -- the bench itself broke: say so in one line
        print(f"false alarms: the bench broke: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(2)
