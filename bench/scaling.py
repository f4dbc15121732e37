"""Scaling: `preflight run` wall time for 10, 30 and 100 campaigns (3 variants each) on 1, 2 and 4
xdist workers, the cost per campaign, and the report build's time on its own (not a test: it
prints figures and ratios and never fails on speed).

    .venv/bin/python bench/scaling.py [--sizes 10,30,100] [--workers 1,2,4] [--variants 3]
                                      [--rates shipped] [--no-build] [--no-write]

A quick check: `--sizes 10,30 --workers 1,2`. `--rates shipped,unpaced` adds runs with the
shared bucket at 1,000,000/s (its work, never a wait), to show what the configured pace
(run.rate_limit_per_second) leaves to the workers.

What it does, all on 127.0.0.1 against one sandbox process it starts (and stops), reset before
every run, its daily write quota raised to what the largest size needs (through
`preflight sandbox --writes-per-day` when the sandbox has it, else a bench-only shim):
1. configs of each size (campaigns made from the shipped config's, in turn, each with
   --variants variants) in bench/out/scaling/, with a target attached to the sandbox;
2. `python -m preflight run -n N --no-html` per size and worker count, timed from outside;
   the bench plugin (bench/bench_plugin.py) timestamps the pytest controller's phases;
3. the Allure HTML build of each size's results, timed on its own (`build_report`, what
   `preflight run` calls after pytest), once per size (the report does not depend on -n);
4. cost per campaign (wall ÷ campaigns), a fit wall = a + b × campaigns per worker count, and
   the marginal cost per campaign between consecutive sizes (flat = linear growth);
5. the `## Scaling` section of bench/RESULTS.md rewritten (other sections left alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

SECTION = "## Scaling"
WORK = c.OUT / "scaling"
UNPACED_RATE = 1_000_000.0
LOG_CAP = 10000  # the sandbox keeps its last 10,000 requests


@dataclass
class Run:
    rate: str
    size: int
    workers: int
    wall: float
    ok: bool = False
    tests: int = 0
    requests: int | None = None  # None when the sandbox's log overflowed
    note: str = ""
    phases: dict[str, float] = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/scaling.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,30,100", help="campaigns per config (default 10,30,100)")
    parser.add_argument("--workers", default="1,2,4", help="xdist workers, `preflight run -n` (default 1,2,4)")
    parser.add_argument("--variants", type=int, default=3, help="variants per campaign (default 3)")
    parser.add_argument(
        "--rates",
        default="shipped",
        help="shipped (run.rate_limit_per_second as in config/preflight.yaml), unpaced "
        "(1,000,000/s) or both, comma-separated (default shipped)",
    )
    parser.add_argument("--no-build", action="store_true", help="skip timing the HTML report build")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    args.sizes = sorted(set(c.parse_ints(args.sizes, "--sizes")))
    args.workers = sorted(set(c.parse_ints(args.workers, "--workers")))
    if min(args.sizes) < 1:
        parser.error("--sizes: 1 or more campaigns")
    if not 1 <= args.variants <= 10:
        parser.error("--variants: 1 to 10")
    args.rates = [r.strip() for r in args.rates.split(",") if r.strip()]
    if not args.rates or any(r not in ("shipped", "unpaced") for r in args.rates):
        parser.error("--rates: shipped, unpaced or both (comma-separated)")
    return args


def count_requests(sandbox: c.BenchSandbox) -> int | None:
    items = sandbox.requests(LOG_CAP)
    if len(items) >= LOG_CAP:
        return None
    return sum(1 for item in items if not item["path"].startswith("/__sandbox/re"))


def phase_times(stamps: dict[str, float], start: float, end: float) -> dict[str, float]:
    """The controller's phases; under xdist the workers' start and collection come before the first test."""
    marks = [
        ("start-up (interpreter, imports, plugins, config)", start, stamps.get("sessionstart")),
        ("run start (tokens, readiness checks)", stamps.get("sessionstart"), stamps.get("sessionstarted")),
        ("workers start and collect, write-plan check", stamps.get("sessionstarted"), stamps.get("first_test")),
        ("tests", stamps.get("first_test"), stamps.get("last_test")),
        ("wrap-up (retire, gate, summary, junit.xml)", stamps.get("sessionfinish"), stamps.get("sessionfinished")),
        ("exit (workers gone, outputs moved in place)", stamps.get("sessionfinished"), end),
    ]
    return {name: round(b - a, 2) for name, a, b in marks if a is not None and b is not None}


def run_once(sandbox: c.BenchSandbox, config: Path, rate: str, size: int, workers: int) -> Run:
    reports = WORK / f"reports-{rate}-{size}-n{workers}"
    shutil.rmtree(reports, ignore_errors=True)
    phases_file = WORK / f"phases-{rate}-{size}-n{workers}.json"
    phases_file.unlink(missing_ok=True)
    log = WORK / f"log-{rate}-{size}-n{workers}.txt"
    sandbox.reset()
    command = [
        sys.executable,
        "-m",
        "preflight",
        "run",
        "-n",
        str(workers),
        "--no-html",
        "--config",
        str(config),
        "--reports",
        str(reports),
        "--",
        "-p",
        "bench_plugin",
    ]
    with open(log, "w") as out:
        started = time.time()
        done = subprocess.run(
            command,
            cwd=c.ROOT,
            env=c.child_env(PREFLIGHT_BENCH_PHASES=str(phases_file)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        wall = time.time() - started
    run = Run(rate, size, workers, wall, requests=count_requests(sandbox))
    run.ok, run.note, run.tests = c.gate_outcome(reports, done.returncode, log)
    try:
        run.phases = phase_times(json.loads(phases_file.read_text()), started, started + wall)
    except (OSError, ValueError):
        pass
    return run


def build_time(reports: Path, size: int) -> tuple[float | None, str]:
    """The Allure HTML build of a run's results, as `preflight run` makes it after pytest."""
    from preflight.report.build import ReportBuildError, build_report

    results = reports / "allure-results"
    copy = WORK / f"build-{size}"  # a copy: the build tidies the results it reads
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(results, copy / "allure-results")
    gate = json.loads((reports / "gate.json").read_text())
    started = time.monotonic()
    try:
        build_report(
            copy / "allure-results",
            copy / "allure-report",
            project_root=c.ROOT,
            gate=gate,
            history_path=copy / "history.jsonl",
        )
    except ReportBuildError as exc:
        return None, str(exc)
    seconds = time.monotonic() - started
    files = sum(1 for _ in (copy / "allure-results").iterdir())
    return seconds, f"{files:,} result files"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    facts = c.machine()
    facts["load_before"] = c.loadavg()
    started = time.monotonic()
    shipped_rate = float((c.shipped_config().get("run") or {}).get("rate_limit_per_second", 100))
    rates = {"shipped": shipped_rate, "unpaced": UNPACED_RATE}
    c.say(
        f"scaling: sizes {args.sizes} campaigns × {args.variants} variants, -n {args.workers}, rates "
        f"{', '.join(args.rates)}; nproc {facts['nproc']}, load average {facts['load_before']}"
    )
    runs: list[Run] = []
    builds: dict[int, tuple[float | None, str]] = {}
    for old in WORK.glob("sandbox.db*"):
        old.unlink()
    quota = c.writes_needed(max(args.sizes), args.variants)
    with c.BenchSandbox(db=WORK / "sandbox.db", writes_per_day=quota) as sandbox:
        target = c.write_attached_target(WORK / "attached.yaml", sandbox.url)
        for size in args.sizes:
            for rate in args.rates:
                config = c.write_config(
                    WORK / f"config-{rate}-{size}.yaml",
                    c.generate_config(size, variants=args.variants, rate=rates[rate], target=target.name),
                )
                for workers in args.workers:
                    run = run_once(sandbox, config, rate, size, workers)
                    runs.append(run)
                    c.say(
                        f"  {size:4d} campaigns -n {workers} ({rate}): {run.wall:7.2f}s wall, "
                        f"{run.wall / size:.3f}s per campaign, {run.tests} tests, "
                        f"{run.requests if run.requests is not None else '≥10,000'} requests"
                        + ("" if run.ok else f"  NOT OK: {run.note}")
                    )
            if not args.no_build:
                done = next((r for r in runs if r.size == size and r.ok), None)
                if done is not None:
                    c.say(f"  {size:4d} campaigns: building the HTML report …")
                    builds[size] = build_time(WORK / f"reports-{done.rate}-{size}-n{done.workers}", size)
                    seconds, note = builds[size]
                    c.say(
                        f"  {size:4d} campaigns: report build {seconds:.1f}s ({note})"
                        if seconds is not None
                        else f"  {size:4d} campaigns: report build failed: {note}"
                    )
        quota_note = sandbox.quota_note
    facts["load_after"] = c.loadavg()
    text = render(args, facts, rates, runs, builds, time.monotonic() - started, quota_note)
    c.say("")
    c.say(text)
    if not args.no_write:
        c.write_section(c.RESULTS, SECTION, text)
        c.say(f"scaling: wrote the {SECTION!r} section of {c.RESULTS.relative_to(c.ROOT)}")
    return 0


def find(runs: list[Run], rate: str, size: int, workers: int) -> Run | None:
    return next((r for r in runs if (r.rate, r.size, r.workers) == (rate, size, workers)), None)


def render(
    args: argparse.Namespace,
    facts: dict[str, str],
    rates: dict[str, float],
    runs: list[Run],
    builds: dict[int, tuple[float | None, str]],
    elapsed: float,
    quota_note: str,
) -> str:
    rate_names = {
        "shipped": f"shipped pace ({rates['shipped']:g} requests/s per route class, shared bucket)",
        "unpaced": "bucket at 1,000,000/s (never waits)",
    }
    lines = [
        SECTION,
        "",
        f"Written by `bench/scaling.py` on {facts['date']} (commit {facts['commit']}); rerun it rather than "
        "editing by hand (`--sizes 10,30 --workers 1,2` for a quick check).",
        "",
        f"- Machine: `nproc` {facts['nproc']}, {facts['cpu']}, Linux {facts['kernel']}; load average "
        f"{facts['load_before']} before, {facts['load_after']} after; Python {facts['python']}. "
        f"Whole bench {elapsed:.0f} s.",
        f"- Method: `python -m preflight run -n N --no-html` on generated configs ({args.variants} variants per "
        "campaign, campaigns made from the shipped config's in turn), one sandbox process (`preflight sandbox`, "
        f"{quota_note}) reset before every run, one run per cell, wall time from outside. The HTML report "
        "build (`build_report`, what `preflight run` does after pytest) is timed on its own, once per size.",
        "",
    ]
    for rate in args.rates:
        lines += [
            f"Wall time, {rate_names[rate]}: seconds (seconds per campaign):",
            "",
            "| campaigns | tests | requests | " + " | ".join(f"-n {w}" for w in args.workers) + " | report build |",
            "|---:|---:|---:|" + "---:|" * len(args.workers) + "---:|",
        ]
        for size in args.sizes:
            row_runs = [find(runs, rate, size, w) for w in args.workers]
            some = next((r for r in row_runs if r and r.ok), None)
            requests = "—"
            if some is not None:
                requests = f"{some.requests:,}" if some.requests is not None else f"≥{LOG_CAP:,}"
            row = f"| {size} | {some.tests if some else '?'} | {requests} | "
            row += " | ".join(
                (f"{r.wall:.1f} s ({r.wall / size:.2f})" if r.ok else f"failed: {r.note}") if r else "—"
                for r in row_runs
            )
            seconds, note = builds.get(size, (None, "not built"))
            row += f" | {seconds:.1f} s ({note}) |" if seconds is not None else f" | {note} |"
            lines.append(row)
        lines += [
            "",
            "| -n | fit: a (fixed) | fit: b (per campaign) | marginal s/campaign between sizes | "
            "last ÷ first marginal (1: linear; above 1: grows faster) | speed-up vs -n "
            f"{args.workers[0]} at {max(args.sizes)} campaigns |",
            "|---:|---:|---:|---|---:|---:|",
        ]
        base = find(runs, rate, max(args.sizes), args.workers[0])
        for workers in args.workers:
            mine = [r for r in (find(runs, rate, s, workers) for s in args.sizes) if r and r.ok]
            row = f"| {workers} |"
            if len(mine) >= 2:
                a, b = c.fit_line([r.size for r in mine], [r.wall for r in mine])
                marginal = [(y.wall - x.wall) / (y.size - x.size) for x, y in zip(mine, mine[1:], strict=False)]
                row += f" {a:.1f} s | {b:.3f} s | " + " → ".join(f"{m:.3f}" for m in marginal) + " |"
                row += f" {marginal[-1] / marginal[0]:.2f} |" if len(marginal) > 1 and marginal[0] > 0 else " — |"
            else:
                row += " — | — | — | — |"
            top = find(runs, rate, max(args.sizes), workers)
            row += f" {base.wall / top.wall:.2f}× |" if base and top and base.ok and top.ok else " — |"
            lines.append(row)
        lines.append("")
        largest = [r for r in (find(runs, rate, max(args.sizes), w) for w in args.workers) if r and r.ok and r.phases]
        if largest:
            names = list(largest[0].phases)
            lines += [
                f"Phases of the {max(args.sizes)}-campaign runs (pytest controller, bench plugin timestamps), seconds:",
                "",
                "| phase | " + " | ".join(f"-n {r.workers}" for r in largest) + " |",
                "|---|" + "---:|" * len(largest),
            ]
            for name in names:
                lines.append(f"| {name} | " + " | ".join(f"{r.phases.get(name, 0):.1f}" for r in largest) + " |")
            lines.append("")
    lines += conclusions(args, rates, runs, builds)
    failed = [r for r in runs if not r.ok]
    if failed:
        lines += [
            "Runs that did not PASS: "
            + "; ".join(f"{r.size} campaigns -n {r.workers} ({r.rate}): {r.note}" for r in failed),
            "",
        ]
    return "\n".join(lines) + "\n"


def conclusions(
    args: argparse.Namespace, rates: dict[str, float], runs: list[Run], builds: dict[int, tuple[float | None, str]]
) -> list[str]:
    """What the tables say, in figures: the request rate reached, -n's effect, the build's share."""
    size, out = max(args.sizes), []
    for rate in args.rates:
        mine = [r for r in (find(runs, rate, size, w) for w in args.workers) if r and r.ok and r.requests]
        if not mine:
            continue
        best = min(mine, key=lambda r: r.wall)
        reached = best.requests / best.wall
        line = (
            f"- {rate}: at {size} campaigns the fastest run (-n {best.workers}) sends {best.requests:,} requests "
            f"in {best.wall:.1f} s, {reached:.0f} requests/s over the whole run"
        )
        if rate == "shipped":
            share = reached / rates["shipped"]
            # The pace is per route class (read, write, public), so the run's total may pass it.
            line += (
                f", {share:.0%} of the configured pace ({rates['shipped']:g}/s for each route class, "
                "shared by all workers)" + (": the pace bounds the run, whatever -n" if share >= 0.85 else "")
            )
        out.append(line + ".")
    seconds = builds.get(size, (None, ""))[0]
    if seconds is not None:
        shares = []
        for rate in args.rates:
            walls = [r.wall for r in runs if r.size == size and r.rate == rate and r.ok]
            if walls:
                shares.append(f"{seconds / (seconds + min(walls)):.0%} of a whole `preflight run` at the {rate} pace")
        out.append(f"- The HTML report build adds {seconds:.1f} s at {size} campaigns ({', '.join(shares)}).")
    return out + [""] if out else []


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(2)
