"""What the subcommands share: the config/target options, and one-line errors."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="config/preflight.yaml", help="the run's YAML config")
    parser.add_argument("--target", help="target name in config/targets/ or a target YAML path")


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """A bad flag is one line naming it, exit 2 (argparse would print the whole usage)."""
    def error(message: str) -> NoReturn:
        sys.stderr.write(f"{parser.prog}: {message}\n")
        sys.exit(2)
    parser.error = error  # type: ignore[method-assign]


def fail(command: str, message: str) -> int:
    for line in str(message).splitlines() or [""]:
        sys.stderr.write(f"preflight {command}: {line}\n")
    return 2
