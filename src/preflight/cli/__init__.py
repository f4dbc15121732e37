"""The `preflight` command: `doctor` checks a target with reads only, `plan` shows the writes a
run will spend, `run` runs the lifecycle suites and builds the report, `audit` reads the live
campaigns the ads point at (zero writes), `approve` keeps the last run's landing pages as their
approved look, `gate` turns a run's
verdict into a CI step's result, `merge` joins the reports of a run's shards into one run's,
`cleanup` retires what runs left enabled, `sandbox` serves the embedded sandbox (and `sandbox token|seed-live|clock`
prepare one running in its own process for a rehearsal)."""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`preflight plan --json | head -1`): stop quietly, as a pipe's writer does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a writer the pipe closed on
    return code


def build_parser() -> argparse.ArgumentParser:
    """Every command's parser (tests parse the README's commands with it, running none)."""
    parser = argparse.ArgumentParser(prog="preflight", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from preflight.cli import approve, audit, cleanup, doctor, gate, merge, plan, rehearse
    from preflight.cli import run as runner
    from preflight.sandbox import cli as sandbox_cli

    for module in (runner, audit, approve, doctor, plan, gate, merge, cleanup):
        module.add_parser(commands)
    rehearse.attach(sandbox_cli.add_parser(commands))  # `preflight sandbox`, and its token|seed-live|clock
    return parser


if __name__ == "__main__":
    sys.exit(main())
