"""The audit at scale: `preflight audit` of config/scale.yaml's 100 live campaigns (x 3 variants),
without and with `--click`, beside the full lifecycle run of the same config (not a test: it
prints figures and ratios and never fails on speed).

    .venv/bin/python bench/audit.py [--config config/scale.yaml] [--workers 2] [--no-run] [--no-write]

What it does, all on 127.0.0.1 against one sandbox process it starts (and stops):
1. a target attached to that sandbox; the sandbox target seeds the configured campaigns as the
   live ones (through /__sandbox/, not the API), so the first audit includes the seed;
2. `preflight audit -n W --no-html`, twice (the first one seeds), then `--click`, each timed from
   outside; every request the sandbox answered meanwhile is read from its log
   (`GET /__sandbox/requests`): API requests by method, writes (must be 0), clicks;
3. `preflight run -n W --no-html` of the same config on a reset sandbox (unless --no-run): the
   writes the audit does not spend, and the time side by side;
4. the `## Audit` section of bench/RESULTS.md rewritten (other sections left alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

SECTION = "## Audit"
WORK = c.OUT / "audit"
READS = {"GET", "HEAD"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/audit.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=c.ROOT / "config" / "scale.yaml", help="the run's YAML")
    parser.add_argument("--workers", type=int, default=2, help="xdist workers of every run (default 2)")
    parser.add_argument("--no-run", action="store_true", help="leave out the full lifecycle run")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    return parser.parse_args(argv)


def command(verb: str, config: Path, reports: Path, workers: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "preflight", verb, "-n", str(workers), "--no-html", "--config", str(config),
            "--reports", str(reports), *extra]  # fmt: skip


def measure(name: str, cmd: list[str], sandbox: c.BenchSandbox) -> dict[str, Any]:
    """One timed command, and what the sandbox answered meanwhile (its request log)."""
    before = len(sandbox.requests(10000))
    log_file = WORK / f"{name}.log"
    started = time.monotonic()
    with open(log_file, "w") as out:
        done = subprocess.run(cmd, cwd=c.ROOT, env=c.child_env(), stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - started
    log = sandbox.requests(10000)[before + 1 :]
    api = [e for e in log if not e["path"].startswith("/__sandbox")]
    reports = Path(cmd[cmd.index("--reports") + 1])
    passed, note, ran = c.gate_outcome(reports, done.returncode, log_file)
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    return {
        "name": name,
        "seconds": seconds,
        "passed": passed,
        "note": note,
        "tests": ran,
        "requests": len(api),
        "methods": Counter(e["method"] for e in api),
        "writes": sum(e["method"] not in READS for e in api),
        "clicks": sum(e["path"].startswith("/_edge/redirect/") for e in api),
        "control": Counter(f"{e['method']} {e['path']}" for e in log if e["path"].startswith("/__sandbox")),
        "plan": (gate.get("writePlan") or {}).get("writesTotal"),
        "full_log": len(log) >= 9999,  # the sandbox keeps its last 10,000 requests
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    data = yaml.safe_load(args.config.read_text())
    campaigns = len(data["campaigns"])
    variants = sum(len(campaign["variants"]) for campaign in data["campaigns"])
    machine = c.machine()
    load_before = c.loadavg()
    started = time.monotonic()
    with c.BenchSandbox(writes_per_day=c.writes_needed(campaigns, max(1, variants // campaigns))) as sandbox:
        config = c.write_config(WORK / "config" / "audit.yaml", {**data, "target": "bench"})
        c.write_attached_target(WORK / "config" / "targets" / "bench.yaml", sandbox.url)
        runs = [
            measure("audit-first", command("audit", config, WORK / "r-first", args.workers), sandbox),
            measure("audit", command("audit", config, WORK / "r-audit", args.workers), sandbox),
            measure("audit-click", command("audit", config, WORK / "r-click", args.workers, "--click"), sandbox),
        ]
        if not args.no_run:
            sandbox.reset()
            runs.append(measure("run", command("run", config, WORK / "r-run", args.workers), sandbox))
    total = time.monotonic() - started
    section = render(runs, campaigns, variants, args, machine, load_before, c.loadavg(), total)
    print(section)
    if not args.no_write:
        c.write_section(c.BENCH / "RESULTS.md", SECTION, section)
    return 0 if all(run["passed"] for run in runs) else 1


def render(
    runs: list[dict[str, Any]],
    campaigns: int,
    variants: int,
    args: argparse.Namespace,
    machine: dict[str, str],
    load_before: str,
    load_after: str,
    total: float,
) -> str:
    by_name = {run["name"]: run for run in runs}
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        SECTION,
        "",
        f"Written by `make bench ARGS=audit` (`bench/audit.py`) on {when}; rerun it rather than editing by hand.",
        "",
        f"- Machine: `nproc` {machine['nproc']}, {machine['cpu']}; load average {load_before} before, {load_after} "
        "after. Other work on the machine shares its cores.",
        f"- Config: `{args.config.relative_to(c.ROOT) if args.config.is_relative_to(c.ROOT) else args.config}`, "
        f"{campaigns} campaigns, {variants} variants, one audience each and a UTM policy; `-n {args.workers}`, no "
        f"HTML report; one sandbox process, its request log (`GET /__sandbox/requests`) read before and after each "
        f"command. Whole bench {total:.0f} s.",
        "- Every audit on a sandbox target posts the seed of its live campaigns (`POST /__sandbox/live-campaigns`, "
        "not an API request): the first one creates them, later ones find them and keep them. `--click` adds one "
        "bot click per variant. Non-GET counts every other request the API answered (the run's public "
        "conversions and leads too); the write plan counts the quota-counted writes.",
        "",
        "| command | verdict | tests | wall time | API requests | of which GET | non-GET | clicks | write plan |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "audit-first": "`preflight audit` (first: seeds)",
        "audit": "`preflight audit`",
        "audit-click": "`preflight audit --click`",
        "run": "`preflight run` (the lifecycle)",
    }
    for run in runs:
        requests = f"{run['requests']:,}" + (" (log full)" if run["full_log"] else "")
        verdict = run["note"] or "PASS"
        lines.append(
            f"| {labels[run['name']]} | {verdict} | {run['tests']:,} | {run['seconds']:.1f} s | {requests} | "
            f"{run['methods'].get('GET', 0):,} | {run['writes']:,} | {run['clicks']:,} | {run['plan']:,} |"
        )
    audit, click = by_name.get("audit"), by_name.get("audit-click")
    lines.append("")
    if audit:
        lines.append(
            f"- The audit makes {audit['requests'] / campaigns:.1f} API requests per campaign, "
            f"{audit['writes']} writes (the log holds only GET: "
            f"{', '.join(f'{m} {n:,}' for m, n in sorted(audit['methods'].items()))}); it fits a FREE plan "
            "(2 writes a day) and can run every hour."
        )
    if audit and click:
        lines.append(
            f"- `--click` adds {click['clicks']:,} clicks ({click['clicks'] / variants:.0f} per variant) and "
            f"{click['seconds'] - audit['seconds']:+.1f} s; still {click['writes']} writes."
        )
    run = by_name.get("run")
    if audit and run:
        lines.append(
            f"- Side by side: the lifecycle run of the same config takes {run['seconds'] / audit['seconds']:.1f}x the "
            f"audit's time and spends {run['plan']:,} quota-counted writes (the audit 0)."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
