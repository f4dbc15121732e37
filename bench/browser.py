"""The browser's cost: the shipped config run with the shopper's journey off, on without the
approved look, and on with it (every page's first screen compared with its approved look), side by
side in one invocation (not a test: it prints figures and ratios and never fails on speed).

    .venv/bin/python bench/browser.py [--rounds 3] [--serial-rounds 2] [--no-write]

What it does, all on 127.0.0.1 against one sandbox process it starts (and stops), reset before
every run:
1. the shipped config/preflight.yaml (2 campaigns, 5 variants, the default browser config: a phone
   and a desktop) with a target attached to the sandbox, three ways: `browser.use: off`; the
   journey without the look (`browser.visual: off`); and as shipped, with every page's look
   approved beforehand (one run, then `preflight approve`), so each visit takes its first screen
   and compares it;
2. `preflight run` (-n 2, the HTML report built: what `make preflight` does), the three in turn
   (the order rotating) for --rounds rounds, each timed from outside; then `preflight run -n 0
   --no-html` the same way for --serial-rounds rounds (one process: the browser's own cost,
   without the second worker);
3. the browser's added time per variant and viewport: (median on - median off) / (variants x
   viewports), and the look's: (median look - median on) / (variants x viewports), with the ratio
   of the two runs. The detail page visits (one per campaign) are part of the browser's added time,
   so that figure is an upper bound; and from the runs' own records, each visit's
   click-to-settled time, each journey test's duration per viewport, and each look's own cost
   (taking the first screen and comparing it, measured inside the visit);
4. the `## Browser` section of bench/RESULTS.md rewritten (other sections left alone).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

SECTION = "## Browser"
WORK = c.OUT / "browser"
BUDGET_S = 1.5  # the ceiling: added seconds per variant and viewport
LOOK_BUDGET_S = 0.3  # the approved look's ceiling, on top of the journey
JOURNEY_S = 0.83  # the journey's cost per variant and viewport on an idle machine (bench/RESULTS.md before the look)
KINDS = ("off", "on", "look")
BEFORE = (
    "Before the look, on a quieter machine (2026-12-06, load average 4.5, commit b84c15b): the journey added 0.83 s "
    "per variant and viewport (`preflight run -n 2`, HTML) and 0.89 s (`-n 0 --no-html`). On a loaded machine the "
    "differences of whole runs are noise: the look's own cost, measured inside each visit, and its share of the "
    "journey's are the figures to read."
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/browser.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="preflight run -n 2 rounds of on and off (default 3)")
    parser.add_argument("--serial-rounds", type=int, default=2, help="-n 0 --no-html rounds (default 2; 0: none)")
    parser.add_argument("--no-write", action="store_true", help="leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.serial_rounds < 0:
        parser.error("--rounds 1 or more, --serial-rounds 0 or more")
    return args


def configs(url: str) -> dict[str, Path]:
    c.write_attached_target(WORK / "targets" / "attached.yaml", url)
    shipped = c.shipped_config()
    look = {**shipped, "target": "attached"}
    browser = shipped.get("browser") or {}
    on = {**look, "browser": {**browser, "visual": {**(browser.get("visual") or {}), "enabled": False}}}
    off = {**look, "browser": {**browser, "use": "off"}}
    return {
        "on": c.write_config(WORK / "on.yaml", on),
        "off": c.write_config(WORK / "off.yaml", off),
        "look": c.write_config(WORK / "look.yaml", look),
    }


def approve_looks(config: Path) -> str:
    """One run of the shipped config, then `preflight approve`: every page has its approved look."""
    shutil.rmtree(WORK / "baselines", ignore_errors=True)
    reports = WORK / "reports-approve"
    _, gate, log = run_once(config, reports, workers=2, html=False)
    approve = subprocess.run(
        [str(Path(sys.executable).parent / "preflight"), "approve", "--config", str(config), "--reports", str(reports)],
        cwd=c.ROOT,
        env=c.child_env(),
        capture_output=True,
        text=True,
    )
    return f"{gate.get('verdict')}; approve exit {approve.returncode}: {approve.stdout.strip().splitlines()[-1:]}"


def run_once(config: Path, reports: Path, *, workers: int, html: bool) -> tuple[float, dict, Path]:
    shutil.rmtree(reports, ignore_errors=True)
    command = [
        str(Path(sys.executable).parent / "preflight"),
        "run",
        "--config",
        str(config),
        "--reports",
        str(reports),
    ]
    command += ["-n", str(workers)] + ([] if html else ["--no-html"])
    log = reports.with_suffix(".log")
    reports.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        started = time.monotonic()
        subprocess.run(command, cwd=c.ROOT, env=c.child_env(), stdout=out, stderr=subprocess.STDOUT, check=False)
        elapsed = time.monotonic() - started
    gate = json.loads((reports / "gate.json").read_text()) if (reports / "gate.json").is_file() else {}
    return elapsed, gate, log


def look_costs(reports: Path) -> tuple[list[float], list[str]]:
    """Each look's own cost (s: the first screen taken, compared), and how each compared."""
    docs = [json.loads(p.read_text()) for p in (reports / "landing").glob("*/*.json")]
    looks = [doc["look"] for doc in docs if doc.get("look")]
    return [look["ms"] / 1000 for look in looks], [look["status"] for look in looks]


def visits(reports: Path) -> tuple[list[float], list[float]]:
    """Each journey visit's click-to-settled time (s), and each journey test's duration per viewport (s)."""
    settled = [
        json.loads(p.read_text())["elapsedMs"] / 1000
        for p in (reports / "landing").glob("*/*.json")
        if json.loads(p.read_text()).get("variant")
    ]
    per_viewport = []
    junit = reports / "junit.xml"
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            if case.get("name", "").startswith("test_shopper_lands_on_the_variant_page"):
                per_viewport.append(float(case.get("time", 0)) / 2)
    return settled, per_viewport


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    facts = c.machine()
    facts["load_before"] = c.loadavg()
    c.say(f"bench browser: {facts['nproc']} × {facts['cpu']}, load average {facts['load_before']}")
    shipped = c.shipped_config()
    variants = sum(len(campaign["variants"]) for campaign in shipped["campaigns"])
    viewports = len((shipped.get("browser") or {}).get("viewports") or [None, None])
    times: dict[tuple[str, str], list[float]] = {}
    notes: list[str] = []
    settled: list[float] = []
    per_test: list[float] = []
    look_s: list[float] = []
    statuses: list[str] = []
    with c.BenchSandbox() as sandbox:
        paths = configs(sandbox.url)
        sandbox.reset()
        c.say(f"bench browser: the looks approved ({approve_looks(paths['look'])})")
        plan = [("n2-html", 2, True, args.rounds), ("n0", 0, False, args.serial_rounds)]
        for mode, workers, html, rounds in plan:
            for round_no in range(rounds):
                for which in KINDS[round_no % 3 :] + KINDS[: round_no % 3]:
                    sandbox.reset()
                    reports = WORK / f"reports-{mode}-{which}"
                    elapsed, gate, log = run_once(paths[which], reports, workers=workers, html=html)
                    verdict = gate.get("verdict")
                    c.say(
                        f"bench browser: {mode} round {round_no + 1}/{rounds} browser {which}: "
                        f"{elapsed:.1f} s, {verdict}"
                    )
                    if verdict != "PASS":
                        notes.append(f"{mode} {which} round {round_no + 1}: {verdict} ({gate.get('reason')}; {log})")
                        continue
                    times.setdefault((mode, which), []).append(elapsed)
                    if which == "on":
                        found, tests = visits(reports)
                        settled += found
                        per_test += tests
                    if which == "look":
                        costs, seen = look_costs(reports)
                        look_s += costs
                        statuses += seen
    facts["load_after"] = c.loadavg()
    inside = {"settled": settled, "per_test": per_test, "look": look_s, "statuses": statuses}
    section = render(facts, times, inside, notes, variants=variants, viewports=viewports, args=args)
    print("\n" + section)
    if not args.no_write:
        c.write_section(c.RESULTS, SECTION, section)
    return 1 if not times else 0


def render(
    facts: dict,
    times: dict,
    inside: dict,
    notes: list[str],
    *,
    variants: int,
    viewports: int,
    args: argparse.Namespace,
) -> str:
    visits_per_run = variants * viewports
    lines = [
        SECTION,
        "",
        f"`bench/browser.py` (rounds {args.rounds} of `preflight run -n 2` with the HTML report, "
        f"{args.serial_rounds} of `-n 0 --no-html`), {facts['date']}, commit {facts['commit']}, "
        f"{facts['nproc']} × {facts['cpu']}, Python {facts['python']}, load average {facts['load_before']} "
        f"before, {facts['load_after']} after (a machine shared with other work).",
        "",
        f"The shipped config: {variants} variants on {viewports} viewports ({visits_per_run} journey visits), plus "
        "the 2 detail pages, whose time counts in the browser's added time (so that figure per visit is an upper "
        "bound). Three runs side by side: the browser off; the journey without the approved look "
        "(`browser.visual: off`); and as shipped, every page's look approved beforehand, so each visit takes its "
        "first screen and compares it.",
        "",
        "| run | browser off | journey, no look | journey and look | the journey added per variant and viewport "
        "| the look added per variant and viewport |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = []
    for mode, label in (("n2-html", "`preflight run` -n 2, HTML"), ("n0", "`-n 0 --no-html` (one process)")):
        off, on, look = (times.get((mode, kind)) for kind in KINDS)
        if not off or not on or not look:
            continue
        off_m, on_m, look_m = (statistics.median(x) for x in (off, on, look))
        per_visit = (on_m - off_m) / visits_per_run
        per_look = (look_m - on_m) / visits_per_run
        verdicts.append((label, per_visit, per_look))
        lines.append(
            f"| {label} | {off_m:.1f} s | {on_m:.1f} s (×{on_m / off_m:.2f}) | {look_m:.1f} s (×{look_m / on_m:.2f} "
            f"the journey's) | {per_visit:.2f} s | {per_look:+.2f} s |"
        )
    lines += ["", BEFORE, ""]
    settled, per_test, look_s = inside["settled"], inside["per_test"], inside["look"]
    if settled:
        lines.append(
            "Inside the runs: a visit's click to the settled page (load event) took "
            f"{statistics.median(settled):.2f} s median ({max(settled):.2f} s at most, {len(settled)} visits); "
            "a journey test took "
            f"{statistics.median(per_test):.2f} s per viewport, median (the click, the ctx resolved with the API, the "
            "checks, a full-page screenshot, the trace discarded)."
        )
        lines.append("")
    if look_s:
        same = inside["statuses"].count("same")
        lines.append(
            f"The look's own cost, measured inside each visit (fonts settled, the first screen taken with its masks, "
            f"the approved PNG read and compared): {statistics.median(look_s):.3f} s median, "
            f"{max(look_s):.3f} s at most ({len(look_s)} looks, {same} the same as approved)."
        )
        if per_test:
            share = statistics.median(look_s) / statistics.median(per_test)
            lines.append(
                f"Side by side in this invocation: a look costs {share:.1%} of a journey test's time per viewport "
                f"({statistics.median(per_test):.2f} s here); on the journey's {JOURNEY_S} s per variant and viewport "
                f"of an idle machine (the table above before the look), that is {share * JOURNEY_S:.2f} s."
            )
        lines.append("")
    for label, per_visit, per_look in verdicts:
        ok = "within" if per_visit <= BUDGET_S else "OVER"
        lines.append(
            f"- {label}: the journey {per_visit:.2f} s per variant and viewport, {ok} the {BUDGET_S} s budget."
        )
        ok = "within" if per_look <= LOOK_BUDGET_S else "OVER"
        lines.append(
            f"- {label}: the look {per_look:+.2f} s per variant and viewport, {ok} the {LOOK_BUDGET_S} s budget."
        )
    if look_s and per_test:
        scaled = statistics.median(look_s) / statistics.median(per_test) * JOURNEY_S
        ok = "within" if scaled <= LOOK_BUDGET_S else "OVER"
        lines.append(
            f"- the look as a share of the journey: {scaled:.2f} s per variant and viewport, {ok} the "
            f"{LOOK_BUDGET_S} s budget."
        )
    if look_s:
        ok = "within" if statistics.median(look_s) <= LOOK_BUDGET_S else "OVER"
        lines.append(
            f"- measured inside the visit: {statistics.median(look_s):.3f} s a look, {ok} the {LOOK_BUDGET_S} s budget."
        )
    for note in notes:
        lines.append(f"- not counted: {note}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
