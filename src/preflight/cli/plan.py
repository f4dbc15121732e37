"""`preflight plan`: the writes a run will spend, per campaign and step, against the quota.

Counted as the platform counts them (POST/PUT under /v2 except /v2/public/* and
/v2/support/*), teardown included, for the tests a run with the same selection would run
(`-- -k spring-ab`), and for a rerun of a run id (what already exists is adopted with reads).
When the plan does not fit the writes left today it proposes a split that does. It also shows
the peak window on now, or the next one (run.peak_windows). Nothing is written; on the embedded
sandbox nothing is started.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from preflight.cli.common import CollectError, add_target_options, collect, fail, one_line_errors, quota_of
from preflight.http.connect import TargetError, open_target
from preflight.lifecycle import shard
from preflight.ops import peak, plan

EXIT_FITS, EXIT_DOES_NOT_FIT = 0, 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "plan",
        help="the writes a run will spend, against today's quota",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("--run-id", default="plan", help="plan a rerun of this run id (default: a new run)")
    parser.add_argument("--reports", default="reports", help="the reports folder (its journal/ knows earlier runs)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON (writesTotal, writesLeft, …)")
    parser.add_argument("--shard", help="plan one shard of a sharded run, I/N (as `preflight run --shard I/N`)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: the run's pytest selection")
    one_line_errors(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        with open_target(args.config, args.target, embedded_ok=False) as conn:
            return _plan(args, conn)
    except TargetError as exc:
        if "embedded sandbox" not in str(exc):
            return fail("plan", str(exc))
    # The embedded sandbox: nothing of it exists before a run, so the plan needs no connection.
    try:
        with open_target(args.config, args.target, embedded_ok=True, start_embedded=False) as conn:
            return _plan(args, conn)
    except TargetError as exc:
        return fail("plan", str(exc))


def _plan(args: argparse.Namespace, conn) -> int:
    try:
        part = shard.parse(args.shard) if args.shard else None
    except ValueError as exc:
        return fail("plan", str(exc))
    selection = [*args.pytest_args, *(["--shard", args.shard] if part else [])]
    try:
        items = plan.selected_from(collect(args.config, args.target, selection))
    except CollectError as exc:
        return fail("plan", str(exc))
    if part is not None:
        # A shard's foreign-ctx lenders are campaigns of that shard (see RunConfig.lenders).
        conn.run_config = conn.run_config.on_shard(part)
    journal_root = str(Path(args.reports) / "journal")
    whole = plan.for_subset(items, conn.run_config, run_id=args.run_id, journal_root=journal_root)
    clock = peak.ClockWatch()  # the platform's clock, from the Date of the answers read here
    conn.client.observers.append(clock)
    meters, problem = quota_of(conn)
    if problem:
        return fail("plan", f"the write quota could not be read: {problem}")
    fit = plan.check(items, conn.run_config, run_id=args.run_id, journal_root=journal_root, meters=meters)
    doc = {
        "target": conn.target.name,
        "handle": conn.target.handle,
        "tests": len(items),
        "writesTotal": whole.total,
        "writesLeft": fit.writes_left,
        "plan": (meters or {}).get("plan"),
        "resetsAt": (meters or {}).get("resetsAt"),
        "fits": fit.fits,
        "byCampaign": whole.by_campaign(),
        "lines": whole.to_json(),
        "split": plan.with_commands(
            fit.split,
            config=args.config,
            target=args.target,
            allow_writes=not conn.embedded,
            run_id=None if args.run_id == "plan" else args.run_id,
        ),
        "peak": {
            **peak.status(conn.run_config.run.peak_windows, clock.now()),
            "applies": not conn.embedded,
            "text": peak.sentence(conn.run_config.run.peak_windows, clock.now()),
        },
    }
    print(json.dumps(doc, indent=2) if args.json else render(doc))
    return EXIT_FITS if fit.fits else EXIT_DOES_NOT_FIT


def render(doc: dict) -> str:
    lines = [f"write plan on {doc['target']} (handle {doc['handle']}): {doc['tests']} test(s)", ""]
    width = max((len(line["what"]) for line in doc["lines"]), default=10)
    for campaign, total in doc["byCampaign"].items():
        lines.append(f"{campaign}: {total} write(s)")
        for line in (x for x in doc["lines"] if x["campaign"] == campaign):
            lines.append(f"  {line['step']:<16} {line['what']:<{width}}  {line['writes']:>3}")
    left = (
        "unknown (no usage-meters)"
        if doc["writesLeft"] is None
        else f"{doc['writesLeft']} left today (plan {doc['plan']}, resets at {doc['resetsAt']})"
    )
    lines += ["", f"total: {doc['writesTotal']} write(s); quota: {left}"]
    if doc["fits"]:
        lines.append("it fits: the run can go ahead")
    else:
        lines.append("it does not fit: a run now would stop before its first write. A split that fits:")
        lines += [
            f"  {batch['when']}: {', '.join(batch['campaigns'])}, {batch['writes']} write(s): {batch['command']}"
            for batch in doc["split"]
        ]
    windows = doc["peak"]
    note = "" if windows["applies"] or not windows["configured"] else " (not on the embedded sandbox, the run's own)"
    lines.append(f"peak windows: {windows['text']}{note}")
    return "\n".join(lines)
