"""Commands the harness prints, written so they work pasted as printed.

From the folder the user ran in: the program as it can be called there (`preflight` when this
install is the one on PATH, else its script's path, e.g. `.venv/bin/preflight`), paths relative to
that folder when they are inside it (else absolute), every value quoted for a POSIX shell.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

DEFAULT_CONFIG = Path("config/preflight.yaml")


def program() -> str:
    """How to call this install's `preflight` from the current folder."""
    script = Path(sys.executable).parent / "preflight"
    found = shutil.which("preflight")
    if found and script.is_file() and os.path.samefile(found, script):
        return "preflight"
    if script.is_file():
        return shlex.quote(shown(script))
    return f"{shlex.quote(sys.executable)} -m preflight"


def shown(path: str | os.PathLike[str]) -> str:
    """A path as typed from the current folder: relative when inside it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, os.getcwd())
    return absolute if relative == ".." or relative.startswith(".." + os.sep) else relative


def command(*words: str, **options: str | bool | None) -> str:
    """`<program> words… --option value…`; an option that is None or False is left out, True is a flag."""
    parts = [program(), *(shlex.quote(word) for word in words)]
    for name, value in options.items():
        if value is None or value is False:
            continue
        parts.append("--" + name.replace("_", "-"))
        if value is not True:
            parts.append(shlex.quote(str(value)))
    return " ".join(parts)


def config_option(config: str | os.PathLike[str] | None) -> str | None:
    """--config's value, or None when it is the default one (config/preflight.yaml here)."""
    if not config:
        return None
    if os.path.abspath(config) == os.path.abspath(DEFAULT_CONFIG):
        return None
    return shown(config)


def target_option(target: str | None) -> str | None:
    """--target's value: a name as given, a YAML path as typed from here."""
    if not target:
        return None
    return shown(target) if target.endswith((".yaml", ".yml")) or os.sep in target else target


# `preflight run` stages a run's outputs in <reports>/.incoming-<pid>, then moves them to <reports>:
# it tells the pytest it starts where (FINAL_REPORTS) and its own pid (RUN_PID), so what a run
# prints names the folder the outputs end up in, and the staging folder once nobody will move them.
FINAL_REPORTS, RUN_PID = "PREFLIGHT_FINAL_REPORTS", "PREFLIGHT_RUN_PID"


def final_reports() -> Path | None:
    """Where `preflight run` will move the staged outputs; None when they stay where they are (plain
    pytest, or a `preflight run` that is gone: killed, it moves nothing)."""
    final = os.environ.get(FINAL_REPORTS)
    if not final:
        return None
    parent = os.environ.get(RUN_PID)
    if parent and parent != str(os.getppid()):
        return None
    return Path(final)
