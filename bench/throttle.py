"""Throttle efficiency: against a sandbox throttled to R requests/s per route class, how close
the harness gets to R, and how many 429s it gets on the way, with the pace learned from the
target's RateLimit headers and with fixed rates (no header learning).

Not a test: it prints figures and never fails on them. It writes its table to the
`## Throttle efficiency` section of bench/RESULTS.md (other sections are left alone).

    .venv/bin/python bench/throttle.py [--rate 10] [--copies 2] [--requests 150] [--no-write]

Two loads, each under three settings (header pacing; fixed at 2R; fixed at R):
1. direct: two processes, each a PlatformClient with the run's pace, alternating a read
   (GET campaigns) and a public request (GET /v2/public/context), --requests each: demand
   always above R, so the figure is the pace alone;
2. run: `preflight run` (two xdist workers) of the project's config with its campaigns
   copied --copies times (a few hundred requests). Its figure is the busiest class's rate
   from the first write on (readiness is read-only and before it) to its last request.

Rates come from the sandbox's request log (its own timestamps). A 429 is any answer 429 the
sandbox logged; the harness retries them (so a run may still PASS), but each one is a
request the platform refused and a pause.
"""

from __future__ import annotations

import argparse
import copy as copying
import datetime as dt
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "harness"))
sys.path.insert(0, str(BENCH))

import common  # noqa: E402

from preflight.http.pacing import ROUTE_CLASSES, route_class  # noqa: E402

RESULTS = BENCH / "RESULTS.md"
SECTION = "## Throttle efficiency"
HANDLE = "gharart"
GOAL = 0.90


@dataclass(frozen=True)
class Setting:
    name: str
    ceiling: float
    from_headers: bool


def settings(rate: int) -> list[Setting]:
    return [
        Setting("header pacing (ceiling 100/s, learns R from the headers)", 100, True),
        Setting(f"fixed at 2R = {2 * rate}/s, no header learning", 2 * rate, False),
        Setting(f"fixed at R = {rate}/s, no header learning", rate, False),
    ]


@dataclass
class Outcome:
    setting: Setting
    load: str
    requests: int = 0
    throttled: int = 0
    per_class: dict[str, float] = field(default_factory=dict)  # requests/s in the measured span
    busiest: str = ""
    seconds: float = 0.0
    verdict: str = ""


# -- the loads ------------------------------------------------------------------------


def _direct_worker(url: str, jwt: str, pace: str, setting: Setting, n: int, go: Any) -> None:
    from preflight.http.client import Credentials, PlatformClient
    from preflight.http.pacing import Pacer

    client = PlatformClient(url, HANDLE, Credentials(jwt=jwt))
    client.pacer = Pacer(pace, {name: setting.ceiling for name in ROUTE_CLASSES}, from_headers=setting.from_headers)
    go.wait()
    for i in range(n):
        if i % 2:
            client.call("resolve_context", step="bench", params={"ctx": "not-a-ctx"})
        else:
            client.call("list_campaigns", step="bench")
    client.close()


def direct(sb: Any, setting: Setting, n: int) -> Outcome:
    sb.reset()
    jwt = sb.mint_jwt(HANDLE)
    spawn = mp.get_context("spawn")
    go = spawn.Event()
    with tempfile.TemporaryDirectory(prefix="pace-bench-") as folder:
        pace = os.path.join(folder, "pace.sqlite")
        procs = [spawn.Process(target=_direct_worker, args=(sb.url, jwt, pace, setting, n, go)) for _ in range(2)]
        for proc in procs:
            proc.start()
        time.sleep(2.0)  # both set up before the clock starts
        began = time.monotonic()
        go.set()
        for proc in procs:
            proc.join()
        seconds = time.monotonic() - began
    outcome = measure(sb.requests(10000), setting, "direct: 2 processes, read + public")
    outcome.seconds = seconds
    return outcome


def bigger_config(project: Any, copies: int) -> None:
    """The project's campaigns, each copied `copies` times under new ids and slugs."""

    def change(data: dict[str, Any]) -> None:
        originals = list(data["campaigns"])
        for copy in range(2, copies + 1):
            for campaign in originals:
                clone = copying.deepcopy(campaign)
                clone["campaignId"] = f"{campaign['campaignId']}-{copy}"
                for variant in clone["variants"]:
                    variant["slug"] = f"{variant['slug']}{copy}"
                clone["detailPage"]["detailsPageSlug"] += f"-{copy}"
                data["campaigns"].append(clone)

    project.edit_config(change)


def run(sb: Any, setting: Setting, copies: int, folder: Path) -> Outcome:
    from harness_helpers import make_project

    sb.reset()
    project = make_project(folder, sandbox=sb)
    bigger_config(project, copies)

    def pace(data: dict[str, Any]) -> None:
        data["run"]["rate_limit_per_second"] = setting.ceiling
        data["run"]["pacing"] = {"from_headers": setting.from_headers}

    project.edit_config(pace)
    began = time.monotonic()
    result = project.run(timeout=900)
    seconds = time.monotonic() - began
    outcome = measure(
        sb.requests(10000), setting, f"run: `preflight run` -n 2, {copies * 2} campaigns", from_first_write=True
    )
    outcome.seconds = seconds
    try:
        outcome.verdict = result.gate.get("verdict", "?")
    except (OSError, ValueError):
        outcome.verdict = f"exit {result.code}"
    return outcome


def measure(log: list[dict[str, Any]], setting: Setting, load: str, from_first_write: bool = False) -> Outcome:
    rows = [
        (_ts(r["at"]), route_class(r["method"], r["path"]), r["status"])
        for r in log
        if not r["path"].startswith("/__sandbox")
    ]
    outcome = Outcome(setting, load, requests=len(rows), throttled=sum(1 for r in rows if r[2] == 429))
    if from_first_write:
        first = next((t for t, cls, _ in rows if cls == "write"), rows[0][0] if rows else 0.0)
        rows = [r for r in rows if r[0] >= first]
    served = [r for r in rows if r[2] != 429]  # a refused request is no progress
    counts = Counter(cls for _, cls, _ in served)
    for cls, count in counts.items():
        times = [t for t, c, _ in served if c == cls]
        span = times[-1] - times[0]
        outcome.per_class[cls] = (count - 1) / span if span > 0 else 0.0
    outcome.busiest = counts.most_common(1)[0][0] if counts else "-"
    return outcome


def _ts(text: str) -> float:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC).timestamp()


# -- the report ----------------------------------------------------------------------


def machine() -> dict[str, str]:
    commit = (
        subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "?"
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?",
    }


def render(
    args: argparse.Namespace, info: dict[str, str], outcomes: list[Outcome], cost: list[str], elapsed: float
) -> str:
    rate = args.rate
    lines = [
        SECTION,
        "",
        f"Written by `bench/throttle.py` (`make bench ARGS=throttle`) on {info['date']}, commit {info['commit']}; "
        "rerun it rather than editing by hand.",
        "",
        f"- Machine: `nproc` {info['nproc']}, load average {info['load']} at the start (other work shares "
        f"the cores). Whole bench {elapsed:.0f} s.",
        f"- Target: a sandbox started with `--throttle read={rate}/s,write={rate}/s,public={rate}/s`: per "
        f"class and credential a token bucket of R = {rate} requests/s with a burst of {rate}; over it a 429 "
        "with a whole-second Retry-After. Every answer carries RateLimit-Limit/-Remaining/-Reset and "
        f"RateLimit-Policy `{rate};w=1`.",
        f"- Loads: direct = two processes, each a PlatformClient on the run's shared pace, alternating a read "
        f"and a public request, {args.requests} each (demand always above R: the figure is the pace alone); "
        f"run = `preflight run` (2 xdist workers) of the project's campaigns copied {args.copies} times, "
        "measured from its first write (readiness before it is read-only and unpaced) to the end.",
        "- Rate = (answered requests − 1) ÷ (last − first) per class, 429s left out, from the sandbox's "
        "request-log timestamps; the ×R column is the busiest class. 429s: every 429 the sandbox answered "
        "(the harness retries them after the shared pause; each is a refused request).",
        f"- Goal: ≥ {GOAL:.0%} of R with 0 × 429.",
        "",
        "| setting | load | requests | 429s | read /s | public /s | write /s | busiest class: ×R | wall time "
        "| verdict | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for o in outcomes:
        share = o.per_class.get(o.busiest, 0.0) / rate
        met = "met" if share >= GOAL and o.throttled == 0 else "missed"
        cells = " | ".join(f"{o.per_class[c]:.1f}" if c in o.per_class else "—" for c in ("read", "public", "write"))
        lines.append(
            f"| {o.setting.name} | {o.load} | {o.requests} | {o.throttled} | {cells} | "
            f"{o.busiest} {share:.2f}× | {o.seconds:.1f} s | {o.verdict or '—'} | {met} |"
        )
    lines += [
        "",
        "Header pacing is given no rate: it reads R from the answers and paces each class at 95% "
        "of it for both workers together. A fixed rate is only as good as the number typed into the "
        "config: above R, what goes past the bucket's burst comes back as 429s and whole-second "
        "pauses; at R it takes knowing R beforehand, which a real target does not publish (the "
        "contract's numbers are a gap).",
        "",
        "The pace's own cost per request (`bench/acquire.py`: a loop of acquire + observe with 1 ms "
        "between requests, the rate far above it so nothing waits; the calls are timed, best of 2; "
        f"{args.cost_requests} requests per process). Before is the one SQLiteBucket the run used for "
        "every request, with pyrate-limiter's polling file lock:",
        "",
        *cost,
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/throttle.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=10, help="R: the sandbox's requests/s per class (default 10)")
    parser.add_argument("--copies", type=int, default=2, help="copies of the config's campaigns in the run (default 2)")
    parser.add_argument("--requests", type=int, default=150, help="direct load: requests per process (default 150)")
    parser.add_argument(
        "--cost-requests",
        type=int,
        default=2000,
        help="requests per process when timing the pace's own cost (default 2000)",
    )
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from preflight.sandbox.process import SandboxProcess

    args = parse_args(argv)
    # The sandbox and `preflight run` are child processes: they run this checkout's code too.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    info = machine()
    started = time.monotonic()
    print(f"throttle bench: R = {args.rate}/s per class, nproc {info['nproc']}, load {info['load']}", flush=True)
    outcomes: list[Outcome] = []
    throttle = {name: f"{args.rate}/s" for name in ROUTE_CLASSES}
    with SandboxProcess(throttle=throttle) as sb, tempfile.TemporaryDirectory(prefix="throttle-bench-") as tmp:  # type: ignore[arg-type]
        for setting in settings(args.rate):
            for load in ("direct", "run"):
                print(f"  {setting.name}: {load} …", flush=True)
                outcome = (
                    direct(sb, setting, args.requests)
                    if load == "direct"
                    else run(sb, setting, args.copies, Path(tmp) / f"{len(outcomes)}")
                )
                outcomes.append(outcome)
                print(
                    f"    {outcome.requests} requests, {outcome.throttled} × 429, "
                    + ", ".join(f"{c} {r:.1f}/s" for c, r in sorted(outcome.per_class.items()))
                    + f", {outcome.seconds:.1f} s {outcome.verdict}",
                    flush=True,
                )
    print("  the pace's own cost per request (bench/acquire.py) …", flush=True)
    import acquire

    cost = acquire.table(args.cost_requests, 2)
    text = render(args, info, outcomes, cost, time.monotonic() - started)
    print("\n" + text)
    if not args.no_write:
        common.write_section(RESULTS, SECTION, text)
        print(f"throttle bench: wrote the {SECTION!r} section of {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
