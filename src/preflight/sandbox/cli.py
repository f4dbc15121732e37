"""`preflight sandbox`: serve the embedded sandbox on loopback.

Prints exactly one line, `preflight sandbox listening on http://127.0.0.1:<port>` (flushed),
once it accepts connections, and stops cleanly (exit 0) on SIGINT or SIGTERM. Bad options are
one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from preflight.sandbox.settings import PLANS, ROUTE_CLASSES, Settings, default_throttles

HOST_ENV = "PREFLIGHT_SANDBOX_HOST"
EXIT_USAGE = 2


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: give 0 (a free port) to 65535")
    return int(text)


def _ctx_ttl(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 31 * 86400:
        raise argparse.ArgumentTypeError(f"invalid ctx TTL {text!r}: whole seconds, 1 to 2678400")
    return int(text)


def _plan(text: str) -> str:
    if text.upper() not in PLANS:
        raise argparse.ArgumentTypeError(f"invalid plan {text!r}: one of {', '.join(PLANS)}")
    return text.upper()


def _writes_per_day(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10**9:
        raise argparse.ArgumentTypeError(f"invalid writes per day {text!r}: a whole number, 1 or more")
    return int(text)


def _lag(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 7 * 86400:
        raise argparse.ArgumentTypeError(f"invalid analytics lag {text!r}: whole seconds, 0 to 604800")
    return int(text)


WINDOWS = {"": 60, "/m": 60, "/min": 60, "/s": 1}  # --throttle suffix -> window in seconds


def _throttle(text: str) -> dict[str, tuple[int, int]]:
    """`read=N,write=N,public=N`: N a minute (`N` or `N/m`) or N a second with a burst of N
    (`N/s`); classes left out keep the default. Each class maps to (limit, window seconds)."""
    limits = {name: (limit, 60) for name, limit in default_throttles().items()}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, value = part.partition("=")
        name = name.strip()
        if name not in ROUTE_CLASSES or not eq:
            raise argparse.ArgumentTypeError(f"invalid throttle {part!r}: expected read=N,write=N,public=N")
        number, slash, unit = value.strip().partition("/")
        window = WINDOWS.get(slash + unit.strip().lower())
        if window is None or not number.strip().isdigit() or not 1 <= int(number) <= 10**9:
            raise argparse.ArgumentTypeError(
                f"invalid throttle {part!r}: N is requests per minute (read=600) or per second (read=20/s), 1 or more"
            )
        limits[name] = (int(number), window)
    return limits


def one_line_error(parser: argparse.ArgumentParser):
    def error(message: str) -> NoReturn:
        sys.stderr.write(f"{parser.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)

    return error


def no_extras(parser: argparse.ArgumentParser):
    """Unknown arguments are this subcommand's one-line error, not the top parser's usage."""
    parse = parser.parse_known_args

    def parse_known_args(args: Any = None, namespace: Any = None) -> tuple[Any, list[str]]:
        parsed, extras = parse(args, namespace)
        if extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    return parse_known_args


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "sandbox",
        help="serve the embedded sandbox (a local campaign API v2)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=None,
        help="address to listen on (default 127.0.0.1; a non-loopback address must be named here)",
    )
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one")
    parser.add_argument("--db", default=None, help="SQLite file (kept across restarts); default: a fresh temp file")
    parser.add_argument(
        "--plan", type=_plan, default="ENTERPRISE", help="default plan of new handles: FREE, PRO or ENTERPRISE"
    )
    parser.add_argument("--ctx-ttl", type=_ctx_ttl, default=1800, help="ctx lifetime, seconds")
    parser.add_argument(
        "--writes-per-day",
        type=_writes_per_day,
        default=None,
        help="a custom daily write quota for handles on the default plan (default: the "
        "plan's own: FREE 2, PRO 10, ENTERPRISE 500)",
    )
    parser.add_argument(
        "--analytics-lag-seconds",
        type=_lag,
        default=0,
        help="analytics count only events older than this and say freshness STALE (default 0: FRESH at once)",
    )
    parser.add_argument(
        "--throttle",
        type=_throttle,
        default=None,
        help="requests per minute per route class, e.g. read=600,write=60,"
        "public=600 (default 60000 each); N/s is N a second with a burst "
        "of N, e.g. read=20/s",
    )
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="stop when this process is gone (so a sandbox never outlives the run that "
        "started it, even one killed with SIGKILL)",
    )
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    parser.set_defaults(handler=run)
    parser.error = one_line_error(parser)  # type: ignore[method-assign]
    parser.parse_known_args = no_extras(parser)  # type: ignore[method-assign]
    return parser


def _fail(message: str) -> int:
    sys.stderr.write(f"preflight sandbox: error: {message}\n")
    return EXIT_USAGE


def _is_loopback(host: str) -> bool | None:
    """True/False for an address or resolvable name; None when it cannot be resolved."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only then
    # (without it, keep-alive answers wait ~40 ms on delayed ACKs).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.remove(path + suffix)


def _choose_host(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(host, error). The default is loopback; a non-loopback address only when named."""
    explicit = args.host is not None
    host = args.host if explicit else os.environ.get(HOST_ENV, "127.0.0.1")
    loopback = _is_loopback(host)
    if loopback is None:
        return None, f"cannot resolve host {host!r}"
    if not loopback:
        if not explicit:
            return None, (
                f"refusing non-loopback host {host!r} from ${HOST_ENV}: "
                "name it with --host to serve beyond this machine"
            )
        sys.stderr.write(
            f"preflight sandbox: warning: serving on non-loopback {host}: the /__sandbox/ routes take no credential\n"
        )
    return host, None


def run(args: argparse.Namespace) -> int:
    host, problem = _choose_host(args)
    if problem:
        return _fail(problem)
    db_path, temporary = args.db, args.db is None
    if temporary:
        fd, db_path = tempfile.mkstemp(prefix="preflight-sandbox-", suffix=".db")
        os.close(fd)
    elif not os.path.isdir(os.path.dirname(os.path.abspath(db_path))):
        return _fail(f"--db {db_path}: directory does not exist")
    try:
        return _serve(args, host, db_path)
    finally:
        if temporary:
            _remove_db(db_path)


def _serve(args: argparse.Namespace, host: str, db_path: str) -> int:
    import sqlite3

    import uvicorn

    from preflight.sandbox.app import create_app

    throttle = args.throttle or _throttle("")
    settings = Settings(
        db_path=db_path,
        plan=args.plan,
        ctx_ttl=args.ctx_ttl,
        throttles={name: limit for name, (limit, _) in throttle.items()},
        throttle_windows={name: window for name, (_, window) in throttle.items()},
        writes_per_day=args.writes_per_day,
        analytics_lag_seconds=args.analytics_lag_seconds,
    )
    try:
        app = create_app(settings)
    except sqlite3.Error as exc:
        return _fail(f"--db {db_path}: {exc}")
    try:
        sock = _listen(host, args.port)
    except OSError as exc:
        app.rt.close()
        return _fail(f"cannot listen on {host}:{args.port}: {exc.strerror or exc}")
    url = _url(host, sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=5,
        backlog=2048,
    )
    server = _make_server(config, url)
    if args.parent_pid:
        _stop_with_parent(server, args.parent_pid)
    server.run(sockets=[sock])
    sock.close()
    return 0 if server.started else 1


def _stop_with_parent(server: Any, pid: int, every: float = 0.5) -> None:
    """A daemon thread that asks the server to exit once `pid` is gone."""
    parent = os.getppid()

    def gone() -> bool:
        if parent == pid and os.getppid() != parent:  # re-parented: our parent died (its pid may be reused)
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # it exists, owned by someone else
            pass
        return False

    def watch() -> None:
        while not server.should_exit:
            if gone():
                server.should_exit = True
                return
            time.sleep(every)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _make_server(config: Any, url: str) -> Any:
    """uvicorn.Server that announces its URL and exits 0 on SIGINT/SIGTERM (no re-raise)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                sys.stdout.write(f"preflight sandbox listening on {url}\n")
                sys.stdout.flush()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises the signal after shutdown (exit -15, or a KeyboardInterrupt
            # traceback); a sandbox asked to stop should just exit 0.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            handled = (signal.SIGINT, signal.SIGTERM)
            originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in originals.items():
                    signal.signal(sig, handler)

    return Server(config)
