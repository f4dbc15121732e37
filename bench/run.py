"""`make bench`: every bench, one after another, each writing its own section of bench/RESULTS.md.

    .venv/bin/python bench/run.py [all|throughput|throttle|overhead|scaling|shards|browser|audit] [options]

With no argument (`make bench`) it runs `all`: throughput, throttle, overhead, scaling, shards, browser
and audit, each with its defaults (about 25 minutes on 2 cores). A name runs that one with the options
given (`make bench ARGS="throttle --rate 10"`, `make bench ARGS="shards --campaigns 40"`); options
without a name are throughput's (`make bench ARGS="--seconds 5"`). `throughput` is described
below; `throttle` is bench/throttle.py (the pace against a throttled sandbox), `overhead`
bench/overhead.py (the harness per request against a plain httpx replay), `scaling`
bench/scaling.py (10/30/100 campaigns x workers), `shards` bench/shards.py (one run against N
shards plus the merge), `browser` bench/browser.py (the shipped run with the shopper's journey on
and off), `audit` bench/audit.py (the audit of 100 live campaigns beside the run).

Not a test: it prints figures and ratios and never fails on speed. It exits 0 when wrk cannot be
had (the bench is skipped, with the reason), 1 only when the bench itself breaks.

    .venv/bin/python bench/run.py [--seconds 3] [--rounds 2] [--connections 32] [--threads 1]
                                  [--profile auto|always|never] [--no-fast] [--no-write]

What it does, all on 127.0.0.1, every server stopped on the way out (see bench/throughput.py):
1. the load generator's ceiling: wrk against a null server (bench/serve.py --null);
2. two sandboxes side by side on forced uvicorn stacks: asyncio + h11 and uvloop + httptools
   (the latter installed for the bench only, into bench/out/fastdeps, unless the venv has them).
   "Shipped" marks the one `preflight sandbox` runs: uvicorn's "auto" takes uvloop + httptools
   whenever they import, so asyncio + h11 while the project's venv lacks them. Each is measured
   `--rounds` times, alternating, for campaign health GETs (JWT), click redirects and public
   conversions (a fresh ctx from a real click and a fresh Idempotency-Key each);
3. the ratios: each figure against its target (1,500 health GETs/s, 500 conversions/s) and
   uvloop + httptools against asyncio + h11, from the same invocation;
4. pyinstrument profiles (bench/out/profile-*.txt and .pyisession) when a target is missed
   (`--profile auto`; `always` to see them anyway), and where the time goes;
5. the `## Throughput` section of bench/RESULTS.md rewritten (other sections are left alone).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import throughput as tp  # noqa: E402

RESULTS = tp.BENCH / "RESULTS.md"
SECTION = "## Throughput"
PLAIN, FAST = "asyncio-h11", "uvloop-httptools"
LABELS = {PLAIN: "asyncio + h11", FAST: "uvloop + httptools"}
TARGETS = {"health": 1500, "conversion": 500}
SCENARIOS = (
    ("health", "campaign health GET (JWT)"),
    ("conversion", "public conversion POST (fresh ctx + key)"),
    ("click", "click redirect GET (records a click, mints a ctx)"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=3, help="per measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per stack (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk -t (default 1: one core for wrk, one for the sandbox)"
    )
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="profile the shipped stack: when a target is missed (auto)",
    )
    parser.add_argument("--no-fast", action="store_true", help="skip uvloop + httptools")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    return parser.parse_args(argv)


def best(runs: list[tp.Run], stack: str, scenario: str) -> tp.Run | None:
    mine = [r for r in runs if r.stack == stack and r.scenario == scenario]
    return max(mine, key=lambda r: r.rate) if mine else None


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}/s"


OTHERS = ("throttle", "overhead", "scaling", "shards", "browser", "audit")


def run_other(name: str, argv: list[str]) -> int:
    import importlib

    return importlib.import_module(name).main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    which = argv.pop(0) if argv and argv[0] in ("throughput", "all", *OTHERS) else ("throughput" if argv else "all")
    if which in OTHERS:
        return run_other(which, argv)
    if which == "all":
        # Each bench runs to the end even when one before it broke; the worst status is returned.
        return max([throughput(argv), *(run_other(name, []) for name in OTHERS)])
    return throughput(argv)


def throughput(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    wrk_path, wrk_note = tp.ensure_wrk()
    if wrk_path is None:
        tp.say(f"bench: SKIPPED: {wrk_note}; run `make bench` again once wrk is there.")
        return 0
    fast_path: str | None = None
    fast_note = "skipped (--no-fast)"
    if not args.no_fast:
        fast_path, fast_note = tp.ensure_fast_stack()
        if fast_path is None:
            tp.say(f"bench: uvloop + httptools skipped: {fast_note}")
    stacks = [PLAIN] + ([FAST] if fast_path is not None else [])
    # uvicorn's "auto" takes uvloop and httptools whenever they import: with them in the venv,
    # that is what `preflight sandbox` runs.
    shipped = FAST if fast_path == "" else PLAIN
    LABELS[shipped] += " (shipped)"
    machine = tp.machine(wrk_path, fast_path)
    machine["load_before"] = tp.loadavg()
    tp.say(
        f"bench: {machine['nproc']} × {machine['cpu']}, Python {machine['python']}, "
        f"wrk {machine['wrk']}, load average {machine['load_before']}"
    )

    wrk = tp.Wrk(wrk_path, threads=args.threads, connections=args.connections)
    runs: list[tp.Run] = []
    profiles: dict[str, Path] = {}
    try:
        tp.say("bench: client ceiling (wrk against a null server) …")
        ceiling = tp.client_ceiling(wrk, args.seconds)
        with contextlib.ExitStack() as servers:
            started_servers: dict[str, tuple[tp.BenchServer, str]] = {}
            for stack in stacks:
                sb = servers.enter_context(tp.BenchServer(stack, path=fast_path if stack == FAST else None))
                jwt = sb.set_up()
                wrk.run(
                    "warm-up",
                    stack,
                    f"{sb.url}/v2/handles/{tp.HANDLE}/campaigns/{tp.CAMPAIGN}/health",
                    1,
                    headers={"Authorization": f"Bearer {jwt}"},
                )
                started_servers[stack] = (sb, jwt)
            for round_no in range(args.rounds):
                order = stacks if round_no % 2 == 0 else stacks[::-1]
                for stack in order:
                    sb, jwt = started_servers[stack]
                    tp.say(f"bench: round {round_no + 1}/{args.rounds}, {LABELS[stack]} …")
                    for run in tp.measure(wrk, sb, jwt, args.seconds, min_tokens=args.seconds * 400):
                        runs.append(run)
                        tp.say(
                            f"  {run.scenario:<11} {fmt_rate(run.rate):>9}  p50 "
                            f"{run.p50_ms:5.1f} ms  p99 {run.p99_ms:5.1f} ms  sandbox "
                            f"{run.server_us_per_request:4.0f} µs CPU/req" + (f"  [{run.note}]" if run.note else "")
                        )
        missed = [
            name for name, target in TARGETS.items() if (b := best(runs, shipped, name)) is None or b.rate < target
        ]
        if args.profile == "always" or (args.profile == "auto" and missed):
            tp.say("bench: profiling the shipped stack (pyinstrument) …")
            profiles = tp.profile(wrk, args.seconds, stack=shipped, path=fast_path if shipped == FAST else None)
    finally:
        wrk.close()
    machine["load_after"] = tp.loadavg()
    elapsed = time.monotonic() - started

    text = render(args, machine, fast_note, ceiling, runs, stacks, shipped, profiles, elapsed)
    tp.say("")
    tp.say(text)
    if not args.no_write:
        common.write_section(RESULTS, SECTION, text)
        tp.say(f"bench: wrote the {SECTION!r} section of {RESULTS.relative_to(tp.ROOT)}")
    return 0


def lean(runs: list[tp.Run], stack: str, scenario: str) -> tp.Run | None:
    """The round with the least sandbox CPU per request (the least disturbed by other work)."""
    mine = [r for r in runs if r.stack == stack and r.scenario == scenario and r.ok]
    return min(mine, key=lambda r: r.server_us_per_request) if mine else None


def render(
    args: argparse.Namespace,
    machine: dict[str, Any],
    fast_note: str,
    ceiling: list[tp.Run],
    runs: list[tp.Run],
    stacks: list[str],
    shipped: str,
    profiles: dict[str, Path],
    elapsed: float,
) -> str:
    pk = machine["packages"]
    lines = [
        SECTION,
        "",
        f"Written by `make bench` (`bench/run.py`) on {machine['date']}; rerun it rather than "
        "editing by hand (`make bench ARGS='--profile always'` adds the profile below).",
        "",
        f"- Machine: `nproc` {machine['nproc']}, {machine['cpu']}, Linux {machine['kernel']}; "
        f"load average {machine['load_before']} before, {machine['load_after']} after. Other "
        'work on the machine shares its 2 cores: see "waited for CPU" below.',
        f"- Software: Python {machine['python']}, SQLite {machine['sqlite']}, uvicorn "
        f"{pk['uvicorn']}, FastAPI {pk['fastapi']}, Starlette {pk['starlette']}, pydantic "
        f"{pk['pydantic']}, h11 {pk['h11']}, httptools {pk['httptools']}, uvloop "
        f"{pk['uvloop']} ({fast_note}); wrk {machine['wrk']}.",
        f"- Method: wrk -t{args.threads} -c{args.connections} on 127.0.0.1, keep-alive, "
        f"{args.seconds} s per measurement, {args.rounds} rounds per stack, alternating; the "
        "sandbox runs as `preflight sandbox` (one process, one event-loop thread, SQLite WAL) "
        "with throttles lifted, and wrk and the sandbox share the machine. Health: JWT "
        "(CREATOR). Conversions: each POST carries a ctx from its own real click (the click "
        "measurement's redirects) and its own Idempotency-Key; the run checks that the sandbox "
        "created exactly one conversion per 201. "
        f"Whole run {elapsed:.0f} s.",
        "- req/s is the best round. CPU/req is the sandbox's own CPU time per answer in its "
        "leanest round, and 1-core capacity = 1e6 ÷ CPU/req: what the sandbox would do with a "
        "core to itself, the figure least moved by other work on the machine.",
        "",
    ]
    header = "| scenario | target |"
    rule = "|---|---|"
    for stack in stacks:
        header += f" {LABELS[stack]}: req/s (vs target) | CPU/req → 1-core capacity |"
        rule += "---:|---:|"
    if FAST in stacks:
        header += " uvloop+httptools ÷ asyncio+h11: req/s | 1-core capacity |"
        rule += "---:|---:|"
    lines += [header, rule]
    for name, label in SCENARIOS:
        target = TARGETS.get(name)
        row = f"| {label} | {fmt_rate(target) if target else '—'} |"
        for stack in stacks:
            b, lw = best(runs, stack, name), lean(runs, stack, name)
            rate = b.rate if b else 0.0
            row += f" {fmt_rate(rate)}" + (f" ({rate / target:.2f}×)" if target else "") + " |"
            row += (
                f" {lw.server_us_per_request:.0f} µs → {fmt_rate(1e6 / lw.server_us_per_request)} |" if lw else " — |"
            )
        if FAST in stacks:
            slow, fast = best(runs, PLAIN, name), best(runs, FAST, name)
            row += f" {fast.rate / slow.rate:.2f}× |" if slow and fast and slow.rate else " — |"
            slow, fast = lean(runs, PLAIN, name), lean(runs, FAST, name)
            row += f" {slow.server_us_per_request / fast.server_us_per_request:.2f}× |" if slow and fast else " — |"
        lines.append(row)
    lines += [
        "",
        "Load generator ceiling (wrk against `bench/serve.py --null`, a server that "
        "answers at once, same wrk settings and script): "
        + ", ".join(
            f"{r.scenario.split()[-1]} {fmt_rate(r.rate)} ({r.client_us_per_request:.0f} µs wrk CPU/request)"
            for r in ceiling
        )
        + f". The sandbox figures are {_ceiling_ratio(ceiling, runs)} of it: wrk is not "
        "what limits them.",
        "",
        "Every round:",
        "",
        "| stack | scenario | req/s | p50 | p99 | sandbox CPU/req | wrk CPU/req | "
        "sandbox on CPU | waited for CPU | answers |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        busy = run.server_cpu / run.seconds if run.seconds else 0.0
        waited = run.server_waited / run.seconds if run.seconds else 0.0
        answers = ", ".join(f"{code}×{n}" for code, n in sorted(run.statuses.items()))
        if run.errors:
            answers += f", {run.errors} socket errors"
        if run.scenario == "conversion" and 404 in run.statuses:
            answers += " (404: end-of-run fillers)"
        if run.note:
            answers += f" ({run.note})"
        lines.append(
            f"| {LABELS[run.stack]} | {run.scenario} | {fmt_rate(run.rate)} | "
            f"{run.p50_ms:.1f} ms | {run.p99_ms:.1f} ms | "
            f"{run.server_us_per_request:.0f} µs | {run.client_us_per_request:.0f} µs | "
            f"{busy:.0%} | {waited:.0%} | {answers} |"
        )
    lines += [
        "",
        '"sandbox on CPU" is its CPU time over the run\'s wall time (100% = its one '
        'thread saturated); "waited for CPU" is the time it was runnable but every core '
        "was busy (`/proc/<pid>/schedstat`): other processes, wrk included, taking the "
        "cores.",
        "",
    ]
    for name, target in TARGETS.items():
        b = best(runs, shipped, name)
        if b is not None:
            verdict = "meets" if b.rate >= target else "falls short of"
            lines.append(
                f"- The shipped stack ({LABELS[shipped].removesuffix(' (shipped)')}) "
                f"{verdict} the {name} target: {fmt_rate(b.rate)} vs "
                f"{fmt_rate(target)} ({b.rate / target:.2f}×)."
            )
    if profiles:
        lines += [
            "",
            "Where the sandbox's CPU goes under load (pyinstrument every 1 ms of the "
            "serving thread's CPU time, shipped stack, self time by file; the stdlib counts "
            "as its caller; pyinstrument's per-call hook slows the sandbox several times "
            "and inflates call-heavy Python (the framework) against C calls (SQLite, "
            "sockets), so read shares, not times; full reports in "
            "`bench/out/profile-*.txt`, not committed):",
            "",
        ]
        for name, report in profiles.items():
            session = report.with_suffix(".pyisession")
            if not session.exists():
                lines.append(f"- {name}: no profile written")
                continue
            total, categories, functions = tp.profile_breakdown(session)
            lines.append(
                f"- {name} ({total:.1f} s sampled): "
                + "; ".join(f"{cat} {share:.0%}" for cat, share in categories if share >= 0.01)
            )
            lines.append(
                "  - top functions by self time: " + "; ".join(f"`{fn}` {share:.0%}" for fn, share in functions[:8])
            )
    return "\n".join(lines) + "\n"


def _ceiling_ratio(ceiling: list[tp.Run], runs: list[tp.Run]) -> str:
    top = max((r.rate for r in runs), default=0.0)
    floor = min((r.rate for r in ceiling), default=0.0)
    return f"at most {top / floor:.0%}" if floor else "?"


if __name__ == "__main__":
    sys.exit(main())
