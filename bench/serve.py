"""Bench-only launcher: `preflight sandbox` on a chosen uvicorn stack, or a null server.

    python bench/serve.py --stack asyncio-h11 [--path DIR] [--profile FILE] -- sandbox ARGS…
    python bench/serve.py --null -- sandbox ARGS…   (only --host and --port are read)

`--stack` forces uvicorn's event loop and HTTP parser (asyncio + h11, or uvloop + httptools)
instead of its "auto" choice, so both are measured on purpose whatever is installed. `--path`
puts a directory first on sys.path (where bench/run.py installs httptools and uvloop without
touching the project's venv). `--profile` runs the sandbox under pyinstrument and writes a text
report and the session when it stops (SIGTERM). The null server answers every request at once with a
fixed 200 JSON body the size of a health answer: wrk against it is the load generator's ceiling.
Both print `preflight sandbox listening on URL`, so SandboxProcess can start and stop them.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from pathlib import Path

STACKS = {
    "asyncio-h11": {"loop": "asyncio", "http": "h11"},
    "uvloop-httptools": {"loop": "uvloop", "http": "httptools"},
}

NULL_BODY = (
    b'{"campaignId":"bench-ab","status":"WARN","score":70,'
    b'"evaluatedAt":"2026-01-01T00:00:00.000Z","checks":['
    + b",".join(b'{"id":"check_%d","status":"PASS","detail":"%s"}' % (i, b"x" * 80) for i in range(5))
    + b"]}"
)
NULL_ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(NULL_BODY)
) + NULL_BODY


class NullProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive, every request answered with NULL_ANSWER (bodies are skipped)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < end + 4 + length:
                break
            self.buffer = self.buffer[end + 4 + length :]
            answers += 1
        if answers:
            self.transport.write(NULL_ANSWER * answers)  # type: ignore[attr-defined]


async def _serve_null(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = await loop.create_server(NullProtocol, sock=sock, backlog=2048)
    print(f"preflight sandbox listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    await stop
    server.close()


def _null(rest: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args, _ = parser.parse_known_args(rest)
    asyncio.run(_serve_null(args.host, args.port))
    return 0


def _force_stack(stack: str) -> None:
    import uvicorn

    chosen = STACKS[stack]
    original = uvicorn.Config.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.update(chosen)
        original(self, *args, **kwargs)

    uvicorn.Config.__init__ = init  # type: ignore[method-assign]


def _sandbox(stack: str, rest: list[str], profile: str | None) -> int:
    _force_stack(stack)
    from preflight.cli import main

    if profile is None:
        return main(rest)
    import time

    from pyinstrument import Profiler
    from pyinstrument.stack_sampler import get_stack_sampler

    # async_mode disabled: sample the one thread as it is, event loop and all, since the
    # question is where the CPU of a saturated server goes, not what one coroutine awaits. The
    # clock is the thread's CPU time, not wall time: on a shared machine a sandbox preempted in
    # a syscall (socket.send wakes wrk) would otherwise charge the wait to that syscall.
    get_stack_sampler().timer_func = time.thread_time
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        return main(rest)
    finally:
        profiler.stop()
        # Text, and the session (`pyinstrument --load FILE.pyisession -r html` renders it).
        Path(profile).write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        profiler.last_session.save(Path(profile).with_suffix(".pyisession"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/serve.py")
    parser.add_argument("--stack", choices=sorted(STACKS), default="asyncio-h11")
    parser.add_argument("--null", action="store_true")
    parser.add_argument("--path", default=None)
    parser.add_argument("--profile", default=None)
    args, rest = parser.parse_known_args(argv)
    if rest and rest[0] == "--":
        rest = rest[1:]
    if args.path:
        sys.path.insert(0, args.path)
    if args.null:
        return _null(rest)
    return _sandbox(args.stack, rest, args.profile)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
