"""`preflight approve`: keep the last run's landing pages as they look now as their approved look.

Takes the first screen of each variant's page on each viewport from the last run in the reports
folder (`--reports`, default reports; `--variant SLUG` and `--viewport NAME`, each repeatable, to
approve some) and stores it beside the config, in `browser.visual.baselines` (default
config/baselines/), one folder per target: one PNG per campaign, variant and viewport, and a
manifest (when, which run, the page's URL without its ctx). Commit that folder. Every later run
(step 7) and `preflight audit --click --browser` compares each page's first screen with it.

After a creative change, two commands: `preflight run` (the changed pages fail, with an image diff
of each), then `preflight approve` (the new look is the approved one). A run whose journey failed
for another reason, or was not walked, is refused, saying why.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from preflight.cli.common import fail, one_line_errors


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "approve",
        help="keep the last run's landing pages as their approved look",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default="config/preflight.yaml", help="the run's YAML config")
    parser.add_argument("--reports", default="reports", help="the run's reports folder (default: reports)")
    parser.add_argument(
        "--variant", action="append", default=[], metavar="SLUG", help="approve this variant only (repeatable)"
    )
    parser.add_argument(
        "--viewport", action="append", default=[], metavar="NAME", help="approve this viewport only (repeatable)"
    )
    one_line_errors(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from preflight.config import ConfigError
    from preflight.config.loader import load_browser_settings
    from preflight.report import approval

    try:
        visual = load_browser_settings(args.config).visual
    except ConfigError as exc:
        return fail("approve", str(exc))
    if not visual.enabled:
        return fail("approve", f"{args.config}: browser.visual is off: there is no look to approve; turn it on")
    reports = Path(args.reports)
    try:
        gate = approval.read_gate(reports)
        found = approval.candidates(reports, gate, variants=args.variant, viewports=args.viewport)
    except approval.Refused as exc:
        return fail("approve", f"not approved: {exc}")
    target = gate.get("target") or "sandbox"
    folder = visual.folder(Path(args.config).resolve().parent, target)
    stored = approval.store(found, folder, gate.get("runId"))
    for item in stored:
        look = item.candidate
        print(f"approved {look.campaign}/{look.variant} on {look.viewport}: {_shown(item.path)}")
    print(
        f"{len(stored)} look(s) of run {gate.get('runId')} approved for target {target} in {_shown(folder)}/: "
        f"commit the folder (git add {_shown(folder)})"
    )
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
