"""The `preflight` command: `preflight sandbox` serves the embedded sandbox, `preflight run`
runs the lifecycle suites and builds the report."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="preflight", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from preflight.sandbox import cli as sandbox_cli

    sandbox_cli.add_parser(commands)
    try:
        from preflight import runner
    except ImportError:  # the runner lands with the suites
        runner = None
    if runner is not None:
        runner.add_parser(commands)

    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
