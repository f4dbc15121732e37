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


def collect(config: str, target: str | None, selection: list[str]) -> dict:
    """The tests a run with this selection would run (pytest --collect-only: nothing is started)."""
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    from preflight.cli.run import blocked_plugins

    selection = selection[1:] if selection[:1] == ["--"] else selection
    with tempfile.TemporaryDirectory(prefix="preflight-collect-") as tmp:
        out = Path(tmp) / "collection.json"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "suites",
            "--collect-only",
            "-q",
            *blocked_plugins(),
            "--preflight-config",
            config,
            "--preflight-collect-to",
            str(out),
            *selection,
        ]
        if target:
            command += ["--target", target]
        done = subprocess.run(command, capture_output=True, text=True)
        if not out.is_file():
            tail = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()][-3:]
            raise CollectError("listing the tests failed: " + " | ".join(tail))
        return json.loads(out.read_text())


class CollectError(Exception):
    """The suites could not be listed (the message says why)."""


def quota_of(conn) -> tuple[dict | None, str | None]:
    """usage-meters on the target; the embedded sandbox starts every run with its plan's full day."""
    if conn.embedded:
        from preflight.sandbox.core.quota import per_day

        plan = str(conn.target.plan)
        custom = conn.target.sandbox.writes_per_day  # the embedded sandbox is started with it
        return {
            "plan": plan,
            "writesPerDay": per_day(plan, default_plan=plan, custom=custom),
            "writesToday": 0,
            "resetsAt": "the next run (a fresh embedded sandbox)",
        }, None
    from preflight.ops.quota import read_meters

    found, problem, _ = read_meters(conn.client)
    return found, problem
