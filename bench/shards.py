"""Shards: 100 campaigns as one run and as N shards run one after another, plus the merge, and the
merge's own cost (not a test: it prints figures and ratios and never fails on speed).

    .venv/bin/python bench/shards.py [--campaigns 100] [--variants 3] [--shards 4] [--workers 2]
                                     [--rate 1000] [--no-write]

What it does, all on 127.0.0.1 against one sandbox process it starts (and stops), reset before
every run, its daily write quota raised to what the config needs (`--writes-per-day`):
1. one config (campaigns made from the shipped config's, bench/common.py) with a target attached
   to the sandbox, paced at --rate (config/scale.yaml's 1,000/s: the pace does not bind);
2. `preflight run -n W --no-html` of the whole config, timed from outside;
3. the same config as `preflight run --shard I/N -n W --no-html`, one shard after another (as N
   CI machines would run them at once), each timed;
4. `preflight merge` of the shards' folders, timed without and with the HTML report, and the
   single run's HTML report built on its own for comparison: the merge's own cost is the merge
   without HTML (joining gates, JUnit files, Allure results, escalations);
5. the merged gate checked against the single run's: same verdict and the same test outcomes;
6. the `## Shards` section of bench/RESULTS.md rewritten (other sections left alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

SECTION = "## Shards"
WORK = c.OUT / "shards"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/shards.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--campaigns", type=int, default=100, help="campaigns in the config (default 100)")
    parser.add_argument("--variants", type=int, default=3, help="variants per campaign (default 3)")
    parser.add_argument("--shards", type=int, default=4, help="number of shards (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="xdist workers of every run (default 2)")
    parser.add_argument("--rate", type=float, default=1000.0, help="run.rate_limit_per_second (default 1000)")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.campaigns < 1 or args.shards < 2 or args.workers < 0 or not 1 <= args.variants <= 10:
        parser.error("--campaigns 1 or more, --shards 2 or more, --workers 0 or more, --variants 1-10")
    return args


def timed(command: list[str], log: Path) -> tuple[float, int]:
    with open(log, "w") as out:
        started = time.monotonic()
        done = subprocess.run(command, cwd=c.ROOT, env=c.child_env(), stdout=out, stderr=subprocess.STDOUT)
        return time.monotonic() - started, done.returncode


def run_command(config: Path, reports: Path, workers: int, *extra: str) -> list[str]:
    return [
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
        *extra,
    ]


def merge_command(folders: list[Path], out: Path, html: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "preflight",
        "merge",
        *map(str, folders),
        "--out",
        str(out),
        *([] if html else ["--no-html"]),
    ]


def outcomes(reports: Path) -> tuple[str, dict[str, str]]:
    gate = json.loads((reports / "gate.json").read_text())
    return gate["verdict"], {r["nodeid"]: r["outcome"] for r in gate.get("results", [])}


def build_single(reports: Path) -> float:
    """The single run's HTML report, as `preflight run` builds it after pytest (on a copy)."""
    from preflight.report.build import build_report

    copy = WORK / "single-build"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(reports / "allure-results", copy / "allure-results")
    gate = json.loads((reports / "gate.json").read_text())
    started = time.monotonic()
    build_report(
        copy / "allure-results",
        copy / "allure-report",
        project_root=c.ROOT,
        gate=gate,
        history_path=copy / "history.jsonl",
    )
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    facts = {**c.machine(), "load_before": c.loadavg()}
    c.say(
        f"shards: {args.campaigns} campaigns × {args.variants} variants, 1 run and {args.shards} shards, "
        f"-n {args.workers}; nproc {facts['nproc']}, load average {facts['load_before']}"
    )
    times: dict[str, float] = {}
    codes: dict[str, int] = {}
    with c.BenchSandbox(
        db=WORK / "sandbox.db", writes_per_day=c.writes_needed(args.campaigns, args.variants)
    ) as sandbox:
        target = c.write_attached_target(WORK / "attached.yaml", sandbox.url)
        config = c.write_config(
            WORK / "config.yaml",
            c.generate_config(args.campaigns, variants=args.variants, rate=args.rate, target=target.name),
        )
        sandbox.reset()
        c.say("  the whole config as one run …")
        times["single"], codes["single"] = timed(
            run_command(config, WORK / "single", args.workers), WORK / "single.log"
        )
        folders = []
        for index in range(1, args.shards + 1):
            sandbox.reset()
            folder = WORK / f"shard-{index}"
            folders.append(folder)
            c.say(f"  shard {index}/{args.shards} …")
            times[f"shard {index}"], codes[f"shard {index}"] = timed(
                run_command(config, folder, args.workers, "--shard", f"{index}/{args.shards}"),
                WORK / f"shard-{index}.log",
            )
    c.say("  the merge, without and with the HTML report …")
    times["merge"], codes["merge"] = timed(merge_command(folders, WORK / "merged", False), WORK / "merge.log")
    times["merge+html"], codes["merge+html"] = timed(
        merge_command(folders, WORK / "merged-html", True), WORK / "merge-html.log"
    )
    times["single html"] = build_single(WORK / "single")
    facts["load_after"] = c.loadavg()
    text = render(args, facts, times, codes, folders)
    c.say("")
    c.say(text)
    if not args.no_write:
        c.write_section(c.RESULTS, SECTION, text)
        c.say(f"shards: wrote the {SECTION!r} section of {c.RESULTS.relative_to(c.ROOT)}")
    return 0


def render(
    args: argparse.Namespace, facts: dict[str, str], times: dict[str, float], codes: dict[str, int], folders: list[Path]
) -> str:
    single_verdict, single = outcomes(WORK / "single")
    merged_verdict, merged = outcomes(WORK / "merged")
    sizes = [len(json.loads((f / "gate.json").read_text())["shard"]["campaigns"] or []) for f in folders]
    shard_times = [times[f"shard {i}"] for i in range(1, args.shards + 1)]
    same = (
        "yes"
        if (single_verdict, single) == (merged_verdict, merged)
        else f"NO: {single_verdict} {len(single)} results vs {merged_verdict} {len(merged)}"
    )
    rows = [("one run, the whole config", times["single"], codes["single"], f"{single_verdict}, {len(single)} tests")]
    rows += [
        (f"shard {i}/{args.shards} ({n} campaigns)", t, codes[f"shard {i}"], "")
        for i, (n, t) in enumerate(zip(sizes, shard_times, strict=True), start=1)
    ]
    rows += [
        (
            "merge (gates, JUnit, Allure results, escalations)",
            times["merge"],
            codes["merge"],
            f"{merged_verdict}, {len(merged)} tests",
        ),
        ("merge with the HTML report", times["merge+html"], codes["merge+html"], ""),
        ("the one run's HTML report, built on its own", times["single html"], 0, ""),
    ]
    table = ["| step | wall time (s) | exit | notes |", "|---|---:|---:|---|"]
    table += [f"| {name} | {seconds:.1f} | {code} | {note} |" for name, seconds, code, note in rows]
    html_extra = times["merge+html"] - times["merge"]
    return (
        "\n".join(
            [
                SECTION,
                "",
                f"Written by `bench/shards.py` on {facts['date']}, commit {facts['commit']}; rerun it rather than "
                "editing by hand.",
                "",
                f"- Machine: `nproc` {facts['nproc']}, {facts['cpu']}, Python {facts['python']}; load average "
                f"{facts['load_before']} before, {facts['load_after']} after.",
                f"- Config: {args.campaigns} campaigns × {args.variants} variants (bench/common.py), paced at "
                f"{args.rate:g}/s (it does not bind), every run `preflight run -n {args.workers} --no-html` on one "
                "sandbox, reset before each; the shards run one after another, as N machines would at once.",
                "",
                *table,
                "",
                f"- The shards together: {sum(shard_times):.1f} s one after another against {times['single']:.1f} s as "
                f"one run ({sum(shard_times) / times['single']:.2f}×: each shard pays the start-up and wrap-up again). "
                f"On {args.shards} machines at once: the slowest shard, {max(shard_times):.1f} s, plus the merge, "
                f"{times['merge']:.1f} s = {max(shard_times) + times['merge']:.1f} s "
                f"({(max(shard_times) + times['merge']) / times['single']:.2f}× the one run).",
                f"- The merge's own cost: {times['merge']:.1f} s "
                f"({times['merge'] / times['single']:.0%} of the one run); "
                f"its HTML report adds {html_extra:.1f} s, against {times['single html']:.1f} s for the one run's own "
                "report (the report is built once either way).",
                f"- The merged gate equals the one run's (verdict and every test's outcome): {same}.",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
