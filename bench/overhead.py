"""Harness overhead: the default lifecycle through `pytest suites` against a plain httpx script
that makes the same requests in the same order on the same sandbox (not a test: it prints
figures and ratios and never fails on speed).

    .venv/bin/python bench/overhead.py [--sizes 2,10,40] [--rounds 3]
                                       [--variants shipped,unpaced,no-bucket] [--profile-size 10]
                                       [--no-profile] [--no-write]

What it does, all on 127.0.0.1 against one sandbox process it starts (and stops):
1. configs of each size (campaigns made from the shipped config's, in turn: 2 and 3 variants,
   LEAD_CAPTURE and PRODUCT_SALE), written to bench/out/overhead/ with a target attached to
   the sandbox;
2. per size, one recorded harness run (bench/bench_plugin.py writes every request and answer
   to a trace, tokens as placeholders): what the plain script replays;
3. `--rounds` rounds, each size in turn, sandbox reset before every run:
   - the harness: `python -m pytest suites -p no:xdist` with the options `preflight run` adds
     (--alluredir, --junitxml, reports, journal; no HTML), in three variants: `shipped`
     (run.rate_limit_per_second as in config/preflight.yaml), `unpaced` (the same shared bucket
     at 1,000,000/s: its SQLite + file lock per request, never a wait) and `no-bucket` (the
     bucket left out by the bench plugin);
   - plain httpx: bench/replay.py in a fresh process, one httpx.Client, the trace's requests in
     order, fresh tokens and ctx values mapped in; every status is checked against the trace;
   - the pytest floor: bench/floor_suite.py, the same replay inside plain pytest (one test per
     harness test, with its requests; --alluredir and --junitxml; no harness): what pytest and
     allure-pytest cost per test, whatever the harness does;
   wall time from outside, the process's CPU time, the sandbox's CPU time, requests counted by
   the sandbox (`GET /__sandbox/requests`), the harness's phases (bench plugin timestamps);
4. time = a + b * requests by least squares over the sizes (each size's fastest round), for
   wall and CPU time, and b against plain httpx's b;
5. a pyinstrument profile of the unpaced harness at --profile-size (bench/out/overhead/profile.*)
   and where its test phase's time goes, per request;
6. the `## Harness overhead` section of bench/RESULTS.md rewritten (other sections left alone).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

SECTION = "## Harness overhead"
WORK = c.OUT / "overhead"
UNPACED_RATE = 1_000_000.0
VARIANTS = {
    "shipped": "the harness as shipped (rate limit {rate:g}/s, shared bucket)",
    "unpaced": "the bucket at 1,000,000/s (its per-request work, never a wait)",
    "no-bucket": "the bucket left out (bench plugin)",
}
GOAL = 1.8  # the unpaced harness per request against plain httpx, on an idle machine
BENCH_OWN_PATHS = frozenset({"/__sandbox/reset", "/__sandbox/requests", "/__sandbox/stats"})
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    kind: str  # a harness variant, or "plain"
    size: int
    round: int
    wall: float
    cpu: float  # the process's own CPU time (user + system), children included
    sandbox_cpu: float
    requests: int
    ok: bool = False
    note: str = ""
    phases: dict[str, float] = field(default_factory=dict)
    tests: int = 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/overhead.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="2,10,40", help="campaigns per config (default 2,10,40)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each size's fastest counts (default 3)")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"harness variants, of {', '.join(VARIANTS)} (default all)"
    )
    parser.add_argument("--profile-size", type=int, default=10, help="campaigns in the profiled run (default 10)")
    parser.add_argument("--no-profile", action="store_true", help="skip the pyinstrument profile")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    args.sizes = sorted(set(c.parse_ints(args.sizes, "--sizes")))
    if len(args.sizes) < 2 or min(args.sizes) < 1:
        parser.error("--sizes: give at least two different sizes of 1 or more campaigns, e.g. 2,10")
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown or not args.variants:
        parser.error(f"--variants {','.join(unknown) or '(none)'}: choose from {', '.join(VARIANTS)}")
    if args.rounds < 1:
        parser.error("--rounds: 1 or more")
    return args


# --- measuring ---------------------------------------------------------------------------------


def sandbox_cpu(sandbox: c.BenchSandbox) -> float:
    fields = Path(f"/proc/{sandbox.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def count_requests(sandbox: c.BenchSandbox) -> int:
    items = sandbox.requests(10000)
    if len(items) >= 10000:
        c.say("overhead: warning: the sandbox's request log holds 10,000 entries at most: the count is capped")
    return sum(1 for item in items if item["path"] not in BENCH_OWN_PATHS)


@dataclass
class Timing:
    started: float  # time.time() at the start, to line up with the bench plugin's timestamps
    wall: float
    cpu: float  # the process's CPU time (user + system), its waited-for children included
    sandbox_cpu: float
    code: int


def timed(command: list[str], env: dict[str, str], sandbox: c.BenchSandbox, log: Path) -> Timing:
    """Run `command` in the checkout, output to `log`, timed from outside."""
    sandbox_before = sandbox_cpu(sandbox)
    with open(log, "w") as out:
        started = time.time()
        child = subprocess.Popen(command, cwd=c.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.time() - started
    return Timing(
        started,
        wall,
        usage.ru_utime + usage.ru_stime,
        sandbox_cpu(sandbox) - sandbox_before,
        os.waitstatus_to_exitcode(status),
    )


def harness_run(sandbox: c.BenchSandbox, config: Path, kind: str, size: int, round_no: int) -> Run:
    reports = WORK / f"reports-{kind}-{size}"
    shutil.rmtree(reports, ignore_errors=True)
    phases_file = WORK / f"phases-{kind}-{size}.json"
    phases_file.unlink(missing_ok=True)
    sandbox.reset()
    env = c.child_env(
        PREFLIGHT_BENCH_PHASES=str(phases_file), **({"PREFLIGHT_BENCH_BUCKET": "off"} if kind == "no-bucket" else {})
    )
    log = WORK / f"log-{kind}-{size}.txt"
    timing = timed(c.pytest_command(config, reports, extra=["-p", "bench_plugin"]), env, sandbox, log)
    code = timing.code
    run = Run(kind, size, round_no, timing.wall, timing.cpu, timing.sandbox_cpu, count_requests(sandbox))
    run.ok, run.note, run.tests = c.gate_outcome(reports, code, log)
    try:
        stamps = json.loads(phases_file.read_text())
        run.phases = phase_times(stamps, timing.started, timing.started + timing.wall)
    except (OSError, ValueError):
        pass
    return run


def phase_times(stamps: dict[str, float], start: float, end: float) -> dict[str, float]:
    """Seconds per phase of one run, from the bench plugin's timestamps."""
    marks = [
        ("start-up (interpreter, imports, plugins, config)", start, stamps.get("sessionstart")),
        ("run start (tokens, readiness checks)", stamps.get("sessionstart"), stamps.get("sessionstarted")),
        ("collection", stamps.get("sessionstarted"), stamps.get("collected")),
        ("tests (with the write-plan check)", stamps.get("collected"), stamps.get("last_test")),
        (
            "wrap-up and report writing (retire, gate, summary, junit.xml)",
            stamps.get("sessionfinish"),
            stamps.get("sessionfinished"),
        ),
        ("exit (terminal summary, unconfigure, interpreter)", stamps.get("sessionfinished"), end),
    ]
    return {name: round(b - a, 3) for name, a, b in marks if a is not None and b is not None}


def record_trace(sandbox: c.BenchSandbox, config: Path, size: int) -> tuple[Path, dict[str, int], int]:
    trace = WORK / f"trace-{size}.jsonl"
    trace.unlink(missing_ok=True)
    reports = WORK / f"reports-trace-{size}"
    shutil.rmtree(reports, ignore_errors=True)
    sandbox.reset()
    done = subprocess.run(
        c.pytest_command(config, reports, extra=["-p", "bench_plugin"]),
        cwd=c.ROOT,
        env=c.child_env(PREFLIGHT_BENCH_TRACE=str(trace)),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(
            f"overhead: the recorded harness run of {size} campaigns did not PASS (exit "
            f"{done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return trace, sandbox.stats(), count_requests(sandbox)


def project_addopts() -> str:
    import tomllib

    data = tomllib.loads((c.ROOT / "pyproject.toml").read_text())
    return data.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("addopts", "")


def floor_run(sandbox: c.BenchSandbox, trace: Path, size: int, round_no: int) -> Run:
    """bench/floor_suite.py: the same requests in the same tests of plain pytest (no harness)."""
    folder = WORK / "floor"
    folder.mkdir(exist_ok=True)
    # The project's own addopts (plugins blocked and all), and no config/: the preflight plugin stays off.
    (folder / "pytest.ini").write_text(f"[pytest]\naddopts = {project_addopts()}\n")
    reports = WORK / f"reports-floor-{size}"
    shutil.rmtree(reports, ignore_errors=True)
    summary_file = WORK / f"floor-{size}.json"
    summary_file.unlink(missing_ok=True)
    sandbox.reset()
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(c.BENCH / "floor_suite.py"),
        "-q",
        "-c",
        str(folder / "pytest.ini"),
        "--rootdir",
        str(folder),
        "--alluredir",
        str(reports / "allure-results"),
        "--junitxml",
        str(reports / "junit.xml"),
        "-o",
        "junit_family=xunit1",
        "-p",
        "no:xdist",
    ]
    env = c.child_env(PREFLIGHT_BENCH_TRACE_IN=str(trace), PREFLIGHT_BENCH_REPLAY_SUMMARY=str(summary_file))
    timing = timed(command, env, sandbox, WORK / f"log-floor-{size}.txt")
    code = timing.code
    run = Run(
        "floor", size, round_no, timing.wall, timing.cpu, timing.sandbox_cpu, count_requests(sandbox), ok=code == 0
    )
    try:
        mismatches = json.loads(summary_file.read_text())["mismatches"]
    except (OSError, ValueError, KeyError):
        run.ok, run.note = False, f"exit {code}, no replay summary (see {WORK / f'log-floor-{size}.txt'})"
        return run
    if mismatches:
        run.note = f"{len(mismatches)} status mismatches"
    return run


def plain_run(sandbox: c.BenchSandbox, trace: Path, size: int, round_no: int) -> tuple[Run, dict[str, Any]]:
    sandbox.reset()
    summary_file = WORK / f"replay-{size}.json"
    timing = timed(
        [sys.executable, str(c.BENCH / "replay.py"), str(trace), "--summary", str(summary_file)],
        c.child_env(),
        sandbox,
        WORK / f"log-plain-{size}.txt",
    )
    summary = json.loads(summary_file.read_text())
    run = Run(
        "plain",
        size,
        round_no,
        timing.wall,
        timing.cpu,
        timing.sandbox_cpu,
        count_requests(sandbox),
        ok=timing.code == 0,
    )
    if summary["mismatches"]:
        run.note = f"{len(summary['mismatches'])} status mismatches"
    summary["stats"] = sandbox.stats()
    return run, summary


# --- the profile --------------------------------------------------------------------------------

# Where a frame's time goes: the innermost frame whose file matches names the category; the
# standard library and other libraries count as their caller.
CATEGORIES = (
    ("HTTP on the wire (httpx, httpcore, h11): the plain script pays it too", ("/httpx/", "/httpcore/", "/h11/")),
    (
        "rate-limit bucket (pyrate-limiter: SQLite, file lock)",
        ("/pyrate_limiter/", "/filelock/", "preflight/http/pacing.py"),
    ),
    ("allure-pytest (result, container and attachment files)", ("/allure_pytest/", "/allure_commons/", "/allure/")),
    ("junit.xml", ("_pytest/junitxml.py",)),
    ("output capture", ("_pytest/capture.py",)),
    ("pytest runner, fixtures and hooks", ("/_pytest/", "/pluggy/")),
    (
        "exchange record and redaction (exchange.py, redact.py)",
        ("preflight/http/exchange.py", "preflight/core/redact.py"),
    ),
    ("attachments of exchanges and artifacts (report/allure.py)", ("preflight/report/",)),
    ("session (harness/session.py)", ("preflight/harness/session.py",)),
    (
        "preflight hooks (harness: hooks, results, collect, plugin; classify)",
        ("preflight/harness/", "preflight/lifecycle/classify.py"),
    ),
    ("client (http/client.py)", ("preflight/http/client.py",)),
    ("sandbox control client (sandbox/process.py)", ("preflight/sandbox/",)),
    (
        "steps, fixtures, suites, journal (the checks)",
        ("preflight/lifecycle/", "preflight/audit/", "preflight/config/", "/fixtures/", "/suites/"),
    ),
)
NEW_CLIENT = "httpx.Client construction (a TLS context each)"


def categorize(frame: Any, inherited: str) -> str:
    path = frame.file_path or ""
    if inherited == NEW_CLIENT or (frame.function == "__init__" and frame.class_name == "Client" and "/httpx/" in path):
        return NEW_CLIENT  # everything under it, its TLS context included
    for category, needles in CATEGORIES:
        if any(needle in path for needle in needles):
            return category
    return inherited


def find_frame(root: Any, function: str, file_part: str) -> Any:
    stack = [root]
    while stack:
        frame = stack.pop()
        if frame.function == function and file_part in (frame.file_path or ""):
            return frame
        stack.extend(frame.children)
    return None


def profile_breakdown(session_file: Path, top: int = 12) -> dict[str, Any]:
    """The test phase (pytest_runtestloop) by category and by function, self time."""
    from pyinstrument.session import Session

    session = Session.load(str(session_file))
    root = session.root_frame()
    loop = find_frame(root, "pytest_runtestloop", "_pytest/main.py") if root else None
    if loop is None:
        return {}
    by_category: dict[str, float] = {}
    by_function: dict[str, float] = {}
    stack = [(loop, "pytest runner, fixtures and hooks")]
    while stack:
        frame, inherited = stack.pop()
        if frame.is_synthetic:
            continue
        category = categorize(frame, inherited)
        stack.extend((child, category) for child in frame.children)
        own = frame.total_self_time
        if own <= 0:
            continue
        by_category[category] = by_category.get(category, 0.0) + own
        path = frame.file_path or "<built-in>"
        where = "built-in" if path.startswith("<") else f"{Path(path).parent.name}/{Path(path).name}:{frame.line_no}"
        name = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
        label = f"{name} ({where}) [{category.split(' (')[0]}]"
        by_function[label] = by_function.get(label, 0.0) + own
    total = root.time
    return {
        "total": total,
        "loop": loop.time,
        "categories": sorted(by_category.items(), key=lambda kv: -kv[1]),
        "functions": sorted(by_function.items(), key=lambda kv: -kv[1])[:top],
    }


def profile(sandbox: c.BenchSandbox, config: Path, size: int) -> tuple[dict[str, Any], int]:
    reports = WORK / "reports-profile"
    shutil.rmtree(reports, ignore_errors=True)
    session_file = WORK / "profile.pyisession"
    sandbox.reset()
    python = [
        sys.executable,
        "-m",
        "pyinstrument",
        "-i",
        "0.0005",
        "-r",
        "pyisession",
        "-o",
        str(session_file),
        "-m",
        "pytest",
    ]
    done = subprocess.run(
        c.pytest_command(config, reports, extra=["-p", "bench_plugin"], python=python),
        cwd=c.ROOT,
        env=c.child_env(),
        capture_output=True,
        text=True,
    )
    requests = count_requests(sandbox)
    if done.returncode != 0 or not session_file.exists():
        c.say(f"overhead: the profiled run failed (exit {done.returncode}): {done.stdout[-500:]} {done.stderr[-500:]}")
        return {}, requests
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    session = Session.load(str(session_file))
    (WORK / "profile.txt").write_text(ConsoleRenderer(unicode=True, color=False, show_all=False).render(session))
    (WORK / "profile-flat.txt").write_text(
        ConsoleRenderer(unicode=True, color=False, flat=True, flat_time="self").render(session)
    )
    return profile_breakdown(session_file), requests


# --- the figures --------------------------------------------------------------------------------


def fastest(runs: list[Run], kind: str, size: int) -> Run | None:
    mine = [r for r in runs if r.kind == kind and r.size == size and r.ok]
    return min(mine, key=lambda r: r.wall) if mine else None


def fit(runs: list[Run], kind: str, sizes: list[int], value: str = "wall") -> tuple[float, float] | None:
    chosen = [fastest(runs, kind, size) for size in sizes]
    chosen = [r for r in chosen if r is not None]
    if len({r.requests for r in chosen}) < 2:
        return None
    return c.fit_line([r.requests for r in chosen], [getattr(r, value) for r in chosen])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    facts = c.machine()
    facts["load_before"] = c.loadavg()
    started = time.monotonic()
    shipped_rate = float((c.shipped_config().get("run") or {}).get("rate_limit_per_second", 100))
    c.say(
        f"overhead: sizes {args.sizes} campaigns, {args.rounds} round(s), variants {', '.join(args.variants)}; "
        f"nproc {facts['nproc']}, load average {facts['load_before']}"
    )
    runs: list[Run] = []
    traces: dict[int, tuple[Path, dict[str, int], int]] = {}
    replays: dict[int, dict[str, Any]] = {}
    breakdown: dict[str, Any] = {}
    profiled_requests = 0
    for old in WORK.glob("sandbox.db*"):
        old.unlink()
    with c.BenchSandbox(db=WORK / "sandbox.db", writes_per_day=c.writes_needed(max(args.sizes), 3)) as sandbox:
        target = c.write_attached_target(WORK / "attached.yaml", sandbox.url)
        configs: dict[tuple[str, int], Path] = {}
        for size in sorted(set(args.sizes) | {args.profile_size}):
            for kind in ("shipped", "unpaced"):
                rate = shipped_rate if kind == "shipped" else UNPACED_RATE
                configs[kind, size] = c.write_config(
                    WORK / f"config-{kind}-{size}.yaml", c.generate_config(size, rate=rate, target=target.name)
                )
            configs["no-bucket", size] = configs["shipped", size]
        for size in args.sizes:
            c.say(f"overhead: recording the requests of {size} campaigns …")
            traces[size] = record_trace(sandbox, configs["unpaced", size], size)
        for round_no in range(1, args.rounds + 1):
            for size in args.sizes:
                kinds = args.variants + ["floor", "plain"]
                if round_no % 2 == 0:
                    kinds = kinds[::-1]
                for kind in kinds:
                    if kind == "plain":
                        run, replays[size] = plain_run(sandbox, traces[size][0], size, round_no)
                    elif kind == "floor":
                        run = floor_run(sandbox, traces[size][0], size, round_no)
                    else:
                        run = harness_run(sandbox, configs[kind, size], kind, size, round_no)
                    runs.append(run)
                    c.say(
                        f"  round {round_no} {size:3d} campaigns {kind:<9} {run.wall:6.2f}s wall "
                        f"{run.cpu:6.2f}s CPU, sandbox {run.sandbox_cpu:5.2f}s CPU, {run.requests} requests"
                        + ("" if run.ok else f"  NOT OK: {run.note}")
                        + (f"  ({run.note})" if run.ok and run.note else "")
                    )
        if not args.no_profile:
            c.say(f"overhead: profiling the unpaced harness at {args.profile_size} campaigns (pyinstrument) …")
            breakdown, profiled_requests = profile(sandbox, configs["unpaced", args.profile_size], args.profile_size)
    facts["load_after"] = c.loadavg()
    text = render(
        args,
        facts,
        shipped_rate,
        runs,
        traces,
        replays,
        breakdown,
        profiled_requests,
        time.monotonic() - started,
        sandbox.quota_note,
    )
    c.say("")
    c.say(text)
    if not args.no_write:
        c.write_section(c.RESULTS, SECTION, text)
        c.say(f"overhead: wrote the {SECTION!r} section of {c.RESULTS.relative_to(c.ROOT)}")
    return 0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def render(
    args: argparse.Namespace,
    facts: dict[str, str],
    shipped_rate: float,
    runs: list[Run],
    traces: dict[int, tuple[Path, dict[str, int], int]],
    replays: dict[int, dict[str, Any]],
    breakdown: dict[str, Any],
    profiled_requests: int,
    elapsed: float,
    quota_note: str,
) -> str:
    kinds = args.variants
    labels = {k: VARIANTS[k].format(rate=shipped_rate) for k in kinds}
    bytecode = (
        "PYTHONDONTWRITEBYTECODE=1 here: every run compiles the project and the modules pytest rewrites"
        if os.environ.get("PYTHONDONTWRITEBYTECODE")
        else "bytecode caching on"
    )
    lines = [
        SECTION,
        "",
        f"Written by `bench/overhead.py` on {facts['date']} (commit {facts['commit']}); rerun it rather than "
        "editing by hand.",
        "",
        f"- Machine: `nproc` {facts['nproc']}, {facts['cpu']}, Linux {facts['kernel']}; load average "
        f"{facts['load_before']} before, {facts['load_after']} after; Python {facts['python']}; {bytecode}. "
        f"Whole bench {elapsed:.0f} s.",
        "- Method: one sandbox process (`preflight sandbox`, " + quota_note + "), reset before every run. "
        "Harness: `python -m pytest suites -p no:xdist` with the options `preflight run` adds (--alluredir, "
        "--junitxml, reports and journal; no HTML), variants: "
        + "; ".join(f"`{k}` = {labels[k]}" for k in kinds)
        + ". Plain: `bench/replay.py`, a fresh process with "
        "one httpx.Client sending the requests of a recorded harness run (bench/bench_plugin.py) in the same "
        "order, fresh tokens and ctx values mapped in. Pytest floor: `bench/floor_suite.py`, the same requests "
        "replayed inside plain pytest, one test per harness test (its own requests), with --alluredir and "
        "--junitxml and the project's addopts, no harness. Wall time from outside the process (start-up included); "
        f"each size's fastest of {args.rounds} round(s); requests counted by the sandbox. "
        "Fit: time = a + b × requests, least squares over the sizes.",
        "",
    ]
    columns = [*kinds, "floor", "plain"]
    names = {**{k: f"harness `{k}`" for k in kinds}, "floor": "pytest floor", "plain": "plain httpx"}
    lines += [
        "Wall time (fastest round):",
        "",
        "| campaigns | tests | requests | "
        + " | ".join(names[k] for k in columns)
        + " | sandbox CPU / request (harness, plain) |",
        "|---:|---:|---:|" + "---:|" * len(columns) + "---:|",
    ]
    for size in args.sizes:
        chosen = {k: fastest(runs, k, size) for k in columns}
        some = next((r for r in chosen.values() if r), None)
        harness = next((chosen[k] for k in kinds if chosen[k]), None)
        plain = chosen["plain"]
        row = f"| {size} | {harness.tests if harness else '?'} | {some.requests if some else '?'} | "
        row += " | ".join(f"{r.wall:.2f} s" if r else "failed" for r in chosen.values())
        row += (
            f" | {ms(harness.sandbox_cpu / harness.requests)}, {ms(plain.sandbox_cpu / plain.requests)} |"
            if harness and plain and harness.requests and plain.requests
            else " | — |"
        )
        lines.append(row)
    lines += [
        "",
        "Fit over the sizes, time = a + b × requests (wall time; and the process's own CPU time, "
        "less moved by other work on the machine):",
        "",
        "| run | a (fixed) | b (per request) | b ÷ plain b | CPU: a | CPU: b | CPU b ÷ plain CPU b |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    plain_fit, plain_cpu = fit(runs, "plain", args.sizes), fit(runs, "plain", args.sizes, "cpu")
    fits: dict[str, tuple[float, float] | None] = {}
    for kind in columns:
        wall_fit, cpu_fit = fit(runs, kind, args.sizes), fit(runs, kind, args.sizes, "cpu")
        fits[kind] = wall_fit
        row = f"| {names[kind]} |"
        row += f" {wall_fit[0]:.2f} s | {ms(wall_fit[1])} |" if wall_fit else " — | — |"
        row += f" {wall_fit[1] / plain_fit[1]:.2f}× |" if wall_fit and plain_fit else " — |"
        row += f" {cpu_fit[0]:.2f} s | {ms(cpu_fit[1])} |" if cpu_fit else " — | — |"
        row += f" {cpu_fit[1] / plain_cpu[1]:.2f}× |" if cpu_fit and plain_cpu else " — |"
        lines.append(row)
    lines.append("")
    lines += verdict_lines(fits, plain_fit, kinds)
    lines += fixed_cost_lines(runs, args.sizes, kinds[0])
    lines += faithfulness_lines(args.sizes, traces, replays)
    if breakdown:
        lines += profile_lines(breakdown, profiled_requests, args.profile_size)
    return "\n".join(lines) + "\n"


def verdict_lines(fits: dict[str, Any], plain_fit: Any, kinds: list[str]) -> list[str]:
    if not plain_fit:
        return ["No fit for plain httpx: see the runs above.", ""]
    out = []
    for kind in kinds:
        if fits.get(kind):
            ratio = fits[kind][1] / plain_fit[1]
            out.append(
                f"- Per request, harness `{kind}` costs {ratio:.2f}× plain httpx "
                f"({ms(fits[kind][1])} vs {ms(plain_fit[1])}): goal ≤ {GOAL}× "
                + ("met." if ratio <= GOAL else "not met.")
            )
    if fits.get("floor"):
        out.append(
            f"- The pytest floor (the same requests in as many plain pytest tests, with --alluredir and "
            f"--junitxml, no harness) costs {fits['floor'][1] / plain_fit[1]:.2f}× plain httpx per "
            f"request ({ms(fits['floor'][1])}): what pytest and allure-pytest take per test, whatever "
            "the harness does."
        )
    if all(fits.get(k) for k in ("shipped", "unpaced", "no-bucket", "floor")):
        shipped, unpaced, bare, floor = (fits[k][1] for k in ("shipped", "unpaced", "no-bucket", "floor"))
        plain = plain_fit[1]
        parts = [
            ("pacing (the bucket's waits at the configured rate)", shipped - unpaced),
            ("the pace's own work per request (its shared SQLite state)", unpaced - bare),
            ("the harness's own work (fixtures, hooks, exchange records, attachments)", bare - floor),
            ("pytest + allure-pytest + junitxml per test (the floor over plain)", floor - plain),
            ("the requests themselves (plain httpx)", plain),
        ]

        def share(value: float) -> str:
            # A difference of two noisy fits can come out below zero: a cost smaller than the noise.
            return f"{ms(value)} ({value / shipped:.0%})" if value >= 0 else f"below the noise ({ms(value)})"

        out.append(
            f"- The shipped per-request cost, {ms(shipped)}, split: "
            + "; ".join(f"{name} {share(value)}" for name, value in parts)
            + "."
        )
    return out + [""]


def fixed_cost_lines(runs: list[Run], sizes: list[int], kind: str) -> list[str]:
    chosen = [fastest(runs, kind, size) for size in sizes]
    chosen = [r for r in chosen if r is not None and r.phases]
    if not chosen:
        return []
    names = list(chosen[0].phases)
    lines = [
        f"Where the harness `{kind}` run's wall time goes, by phase (bench plugin timestamps; the fixed "
        "costs are the phases that do not grow with the size):",
        "",
        "| phase | " + " | ".join(f"{r.size} campaigns" for r in chosen) + " |",
        "|---|" + "---:|" * len(chosen),
    ]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{r.phases.get(name, 0):.2f} s" for r in chosen) + " |")
    lines.append("| whole run (wall, from outside) | " + " | ".join(f"{r.wall:.2f} s" for r in chosen) + " |")
    return lines + [""]


def faithfulness_lines(sizes: list[int], traces: dict, replays: dict) -> list[str]:
    out = []
    for size in sizes:
        trace, harness_stats, harness_requests = traces[size]
        replay = replays.get(size)
        if replay is None:
            continue
        same = replay["stats"] == harness_stats
        mismatches = replay["mismatches"]
        out.append(
            f"- {size} campaigns: the replay sent {replay['requests']} requests (the harness "
            f"{harness_requests}), {len(mismatches)} status mismatches"
            + (
                ": "
                + "; ".join(
                    f"#{m['index']} {m['method']} {m['path']} {m['recorded']}→{m['replayed']}" for m in mismatches[:5]
                )
                if mismatches
                else ""
            )
            + f"; the sandbox's counts after it {'equal' if same else 'DIFFER FROM'} the harness run's"
            + ("" if same else f" ({replay['stats']} vs {harness_stats})")
            + "."
        )
    return ["The plain script replays the harness faithfully:", "", *out, ""] if out else []


def profile_lines(breakdown: dict[str, Any], requests: int, size: int) -> list[str]:
    loop = breakdown["loop"] or 1.0
    per = 1000 / requests if requests else 0
    lines = [
        f"Where the unpaced harness's test phase goes (pyinstrument, 0.5 ms interval, {size} campaigns, "
        f"{requests} requests; the test phase is {loop:.2f} s of {breakdown['total']:.2f} s profiled; the "
        "profiler slows Python code more than C calls and sockets: read shares; full reports in "
        "`bench/out/overhead/profile*.txt`, not committed):",
        "",
        "| category (innermost matching frame) | share | ms per request (profiled) |",
        "|---|---:|---:|",
    ]
    for category, seconds in breakdown["categories"]:
        if seconds / loop >= 0.005:
            lines.append(f"| {category} | {seconds / loop:.0%} | {seconds * per:.2f} |")
    lines += [
        "",
        "Top functions by self time in the test phase: "
        + "; ".join(f"`{name}` {seconds / loop:.1%}" for name, seconds in breakdown["functions"]),
        "",
    ]
    return lines


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(2)
