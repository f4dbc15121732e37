"""`preflight doctor`: can a run succeed on this target? Reads only (every request a GET).

One row per check, PASS / FAIL / UNKNOWN with the fix: the base URL speaks the campaign API
and the request-id header it really sends; the JWT (expiry, handle, role) and each PAT scope
the run needs; the plan and writes left today against the run's write plan; the click URL
template on a link that exists; what earlier runs left enabled; our clock against the
platform's; the peak window on now, or the next one. `--contract` also checks every answer's
shape against the sandbox's own models and writes reports/contract-drift.json. Exit 0 when the
run can succeed, 2 when it cannot.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from preflight.cli.common import (
    CollectError,
    add_target_options,
    collect,
    fail,
    one_line_errors,
    quota_of,
)
from preflight.core import paste
from preflight.core.categories import Category
from preflight.http import listing, readiness
from preflight.http.connect import TargetError, open_target
from preflight.ops import doctor, peak, plan

SYMBOL = {readiness.PASS: "PASS   ", readiness.FAIL: "FAIL   ", readiness.UNKNOWN: "UNKNOWN"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check, with reads only, that a run can succeed on a target",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    parser.add_argument("--reports", default="reports", help="where the drift report goes (with --contract)")
    parser.add_argument(
        "--contract",
        action="store_true",
        help="also check the answers' shapes against the sandbox's models (drift report)",
    )
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: the run's pytest selection")
    one_line_errors(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    drift_table = ""
    try:
        with open_target(args.config, args.target) as conn:
            rows = checks(args, conn)
            if args.contract:
                from preflight.ops import drift

                row, drift_table = drift.check(conn, Path(args.reports))
                rows.append(row)
    except TargetError as exc:
        return fail("doctor", str(exc))
    print(render(rows, conn.target))
    if drift_table:
        print("\n" + drift_table)
    return 2 if any(row.status == readiness.FAIL for row in rows) else 0


def checks(args: argparse.Namespace, conn) -> list[readiness.Row]:
    target, client = conn.target, conn.client
    where = target.source
    rows = readiness.check(
        client,
        jwt_token=conn.jwt,
        pat_token=conn.pat,
        handle=target.handle,
        role=target.role,
        where=where,
        scopes=readiness.scopes_needed(audit=False, publish_via=conn.run_config.run.publish_via),
    )
    if rows[0].status == readiness.FAIL:
        return rows
    answer = client.call("list_campaigns", step="doctor", params={"limit": 1})
    rows.append(doctor.request_id_header(answer, list(target.contract.request_id_headers), where))
    rows.append(doctor.clock(answer, doctor.now()))
    clock = peak.ClockWatch()
    clock(answer)  # the platform's clock, from the Date of that answer
    rows.append(doctor.peak_windows(conn.run_config.run.peak_windows, clock.now(), embedded=conn.embedded))
    rows.append(_quota(args, conn))
    campaigns, _ = doctor.pf_campaigns(client) if answer.status == 200 else ([], None)
    everything = _all_campaigns(client) if answer.status == 200 else []
    rows.append(doctor.click_template(client, target, everything))
    retire = paste.command(
        "cleanup",
        config=paste.config_option(args.config),
        target=paste.target_option(args.target),
        all=True,
    )
    rows.append(doctor.leftovers(client, campaigns, retire=retire))
    return rows


def _all_campaigns(client) -> list[dict]:
    return [c for c in listing.items(client, "list_campaigns", step="doctor") if isinstance(c, dict)]


def _quota(args: argparse.Namespace, conn) -> readiness.Row:
    try:
        items = plan.selected_from(collect(args.config, args.target, args.pytest_args))
    except CollectError as exc:
        return readiness.Row("write quota", readiness.UNKNOWN, str(exc))
    meters, problem = quota_of(conn)
    if problem:
        return readiness.Row("write quota", readiness.FAIL, problem, "check the JWT and the handle", Category.QUOTA)
    fit = plan.check(
        items, conn.run_config, run_id="doctor", journal_root=str(Path(args.reports) / "journal"), meters=meters
    )
    fit.split = plan.with_commands(
        fit.split, config=args.config, target=args.target, allow_writes=not conn.embedded, run_id=None
    )
    return doctor.quota(fit, meters)


def render(rows: list[readiness.Row], target) -> str:
    width = max(len(row.item) for row in rows)
    lines = [f"preflight doctor: {target.name} ({target.base_url}), handle {target.handle}", ""]
    for row in rows:
        lines.append(f"{SYMBOL[row.status]}  {row.item:<{width}}  {row.detail}")
        if row.fix and row.status != readiness.PASS:
            lines.append(f"{'':9}  {'':<{width}}  fix: {row.fix}")
    failed = [row for row in rows if row.status == readiness.FAIL]
    lines += [
        "",
        f"a run can go ahead ({sum(r.status == readiness.UNKNOWN for r in rows)} unknown)"
        if not failed
        else f"a run would stop: {len(failed)} problem(s) above",
    ]
    return "\n".join(lines)
