"""`preflight cleanup`: retire what earlier runs left enabled.

It reads the runs' journals (every link a run enabled, written before the request went
out) and, with --all, also lists the handle's `pf-…` campaigns for enabled links no local
journal knows (a run from another machine or CI job). It shows what may still be live, and
with --yes disables each link (`enabled: false`, one quota-counted write each). Running it
again does nothing more: a link known retired is never written again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from preflight.cli.common import add_target_options, fail, one_line_errors
from preflight.http.connect import TargetError, open_target
from preflight.lifecycle import journal
from preflight.ops import cleanup


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "cleanup",
        help="retire the links earlier runs left enabled",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_options(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", help="the run to clean up (its id is in gate.json and the terminal)")
    which.add_argument(
        "--all",
        action="store_true",
        help="every run in the journal, and every pf- campaign on the handle with an enabled link",
    )
    parser.add_argument("--reports", default="reports", help="the reports folder the runs wrote (default: reports)")
    parser.add_argument("--journal", help="the journal folder (default: journal/ in the reports folder)")
    parser.add_argument("--yes", action="store_true", help="retire them (without it: only show what would be done)")
    one_line_errors(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.journal or Path(args.reports) / "journal")
    run_ids = journal.run_ids(root) if args.all else [args.run_id]
    if args.run_id and not (root / args.run_id).is_dir():
        return fail(
            "cleanup",
            f"--run-id {args.run_id}: no journal for it in {root} "
            f"(runs there: {', '.join(journal.run_ids(root)) or 'none'})",
        )
    try:
        with open_target(args.config, args.target, embedded_ok=False) as conn:
            links = [
                link
                for run_id in run_ids
                for link in cleanup.live_links(str(root), run_id, conn.client.base_url, conn.target.handle)
            ]
            if args.all:
                links += _listed(conn, {(link.campaign_id, link.slug) for link in links})
            return _act(args, conn, root, links)
    except TargetError as exc:
        return fail("cleanup", str(exc))


def _listed(conn, known: set[tuple[str, str]]) -> list[journal.LinkRecord]:
    """Enabled links of the handle's pf- campaigns that no local journal knows."""
    from preflight.ops import doctor

    campaigns, _ = doctor.pf_campaigns(conn.client)
    found = []
    for campaign in campaigns:
        links, _ = doctor.enabled_links(conn.client, campaign)
        for link in links:
            if (campaign["campaignId"], link["slug"]) in known:
                continue
            body = {k: link[k] for k in ("destinationUrl", "title", "tags", "tracking") if link.get(k) is not None}
            found.append(
                journal.LinkRecord(
                    run_id=LISTED,
                    campaign_id=campaign["campaignId"],
                    handle=conn.target.handle,
                    slug=link["slug"],
                    state=journal.LIVE,
                    body={**body, "campaignId": campaign["campaignId"]},
                )
            )
    return found


LISTED = "listed-on-handle"  # the journal folder for links found by listing the handle


def _act(args: argparse.Namespace, conn, root: Path, links: list[journal.LinkRecord]) -> int:
    target = conn.target
    if not links:
        where = "the journal knows, and of every pf- campaign on the handle," if args.all else "the journal knows"
        print(
            f"preflight cleanup: nothing to retire on {target.name} (handle {target.handle}): every link {where} "
            "is retired"
        )
        return 0
    print(
        f"preflight cleanup: {len(links)} link(s) may still be enabled on {target.name} (handle {target.handle});"
        f" retiring them spends {len(links)} write(s):"
    )
    for link in links:
        print(f"  {link.campaign_id} / {link.slug} ({link.state})")
    if not args.yes:
        print("preflight cleanup: nothing done; add --yes to retire them")
        return 0
    outcome = cleanup.Outcome()
    by_run: dict[str, list[journal.LinkRecord]] = {}
    for link in links:
        by_run.setdefault(link.run_id, []).append(link)
    for run_id, batch in by_run.items():
        writer = journal.Journal(root, run_id, "cleanup", base_url=conn.client.base_url)
        cleanup.retire(
            conn.client,
            batch,
            writer=writer,
            session="cleanup",
            outcome=outcome,
            on_link=lambda link, status: print(f"  {link.campaign_id} / {link.slug}: {status}"),
        )
    print(
        f"preflight cleanup: retired {len(outcome.retired)}, failed {len(outcome.failed)}, "
        f"{outcome.writes} write(s) spent"
    )
    return 0 if not outcome.failed else 1
