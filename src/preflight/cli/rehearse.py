"""`preflight sandbox token|seed-live|clock`: what a rehearsal needs of a sandbox running in its own
process (`preflight sandbox --port 8040`), through its /__sandbox/ control routes, so a remote
target can be pointed at it as at the real platform (README, "Rehearse on a sandbox of your own").

- `token jwt|pat` prints a token for the handle, for `export PREFLIGHT_JWT=$(…)`: never to a terminal.
- `seed-live` sets up the config's campaigns as the live ones the audit reads, healthy, with traffic.
- `clock --advance 32m` moves the sandbox's clock on (an earlier run's ctx expires: its stale ctx).

Each prints one line on failure (exit 2: usage, a sandbox that does not answer, a config problem).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

EXIT_USAGE = 2
SCOPES = ("analytics.read", "pages.read", "pages.write")
ROLES = ("CREATOR", "OPERATOR", "OWNER")
DURATION = re.compile(r"^(\d+)([smhd]?)$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> int:
    match = DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: a whole number with s, m, h or d, e.g. 32m")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def attach(sandbox: argparse.ArgumentParser) -> None:
    """The rehearsal's subcommands under `preflight sandbox` (which alone serves a sandbox)."""
    from preflight.sandbox.cli import no_extras, one_line_error

    actions = sandbox.add_subparsers(dest="action", metavar="{token,seed-live,clock}", required=False)
    for sub in add_parsers(actions, common_options()):
        sub.error = one_line_error(sub)  # type: ignore[method-assign]
        sub.parse_known_args = no_extras(sub)  # type: ignore[method-assign]


def add_parsers(actions: Any, common: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """token, seed-live, clock (`common`: --url, --handle)."""
    token = actions.add_parser("token", parents=[common], help="print a JWT or PAT for the handle (capture it)")
    token.add_argument("kind", choices=["jwt", "pat"], help="jwt (the control plane) or pat (automation)")
    token.add_argument("--role", choices=ROLES, default="CREATOR", help="jwt: the role on the handle")
    token.add_argument("--scopes", default=",".join(SCOPES), help="pat: comma-separated scopes")
    token.add_argument("--ttl", type=_duration, default=8 * 3600, help="jwt: how long it is valid (default 8h)")
    token.set_defaults(handler=mint)
    seed = actions.add_parser("seed-live", parents=[common], help="set up the config's campaigns as the live ones")
    seed.add_argument("--config", default="config/preflight.yaml", help="the run config whose campaigns to set up")
    seed.set_defaults(handler=seed_live)
    clock = actions.add_parser("clock", parents=[common], help="move the sandbox's clock on")
    clock.add_argument("--advance", type=_duration, required=True, help="how far, e.g. 32m (past a ctx's 30)")
    clock.set_defaults(handler=advance)
    return [token, seed, clock]


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", required=True, help="the running sandbox, e.g. http://127.0.0.1:8040")
    common.add_argument("--handle", default="gharart", help="the handle (default gharart)")
    return common


def _fail(message: str) -> int:
    sys.stderr.write(f"preflight sandbox: error: {message}\n")
    return EXIT_USAGE


def _client(args: argparse.Namespace):
    from preflight.sandbox.process import SandboxClient

    return SandboxClient(args.url)


def _call(args: argparse.Namespace, action) -> tuple[Any, str | None]:
    """(the control call's answer, None), or (None, one line saying why it failed)."""
    import httpx

    from preflight.sandbox.process import SandboxError

    try:
        with _client(args) as client:
            return action(client), None
    except httpx.HTTPError as exc:
        return None, f"--url {args.url}: no sandbox answers ({type(exc).__name__}): start one with `preflight sandbox`"
    except SandboxError as exc:
        return None, f"--url {args.url}: {str(exc).splitlines()[0][:300]}"


def mint(args: argparse.Namespace) -> int:
    if sys.stdout.isatty():
        return _fail(
            f"a token is a secret: capture it, e.g. export PREFLIGHT_{args.kind.upper()}=$(preflight sandbox …)"
        )
    if args.kind == "jwt":
        token, problem = _call(args, lambda c: c.mint_jwt(args.handle, args.role, args.ttl))
    else:
        scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
        token, problem = _call(args, lambda c: c.mint_pat(args.handle, scopes))
    if problem:
        return _fail(problem)
    sys.stdout.write(token + "\n")
    return 0


def seed_live(args: argparse.Namespace) -> int:
    from preflight.audit.live import seed_body
    from preflight.config import ConfigError, load_run_config

    try:
        config = load_run_config(args.config)
    except ConfigError as exc:
        return _fail(f"--config {args.config}: {exc.problems[0] if exc.problems else exc}")
    bodies = [seed_body(campaign) for campaign in config.campaigns]
    done, problem = _call(args, lambda c: c.seed_live(args.handle, bodies))
    if problem:
        return _fail(problem)
    kept = f"; kept as they were: {', '.join(done['kept'])}" if done["kept"] else ""
    print(f"live campaigns on {args.handle}: set up {', '.join(done['created']) or 'none'}{kept}")
    return 0


def advance(args: argparse.Namespace) -> int:
    now, problem = _call(args, lambda c: c.advance_clock(args.advance))
    if problem:
        return _fail(problem)
    print(f"sandbox clock: now {now}")
    return 0
