"""Sandbox throughput on loopback, measured with wrk (bench/run.py drives it; not a test).

Scenarios (each a few seconds of wrk, keep-alive connections, every request checked by status):
- health:     GET /v2/handles/{h}/campaigns/{c}/health with a CREATOR JWT;
- clicks:     GET /_edge/redirect/{h}/{slug}: a real tracked click (a row, a ctx) per request; the
              ctx of every 302 is kept, so the clicks are also the ctx supply for…
- conversion: POST /v2/public/conversions, each with a ctx from its own real click and its own
              Idempotency-Key (so each is a new conversion: 201, never a dedupe or a replay);
              the run ends when the ctx tokens run out, and the sandbox's conversion count must
              grow by exactly the number of 201s.
Also measured: the load generator's ceiling (wrk against bench/serve.py --null, a server that
answers at once), the sandbox's CPU time per request (from /proc, robust to other load on the
machine) and wrk's own CPU time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"  # git-ignored: wrk scratch files, profiles, the bench-only packages
LUA = BENCH / "wrk" / "bench.lua"
FAST_DEPS = OUT / "fastdeps"
FAST_PACKAGES = ("httptools", "uvloop")

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

from preflight.sandbox.process import SandboxError, SandboxProcess  # noqa: E402

HANDLE = "benchh"
CAMPAIGN = "bench-ab"
SLUG = "bench-a"
NO_THROTTLE = {"read": 10**9, "write": 10**9, "public": 10**9}
TICKS = os.sysconf("SC_CLK_TCK")


def say(message: str) -> None:
    print(message, flush=True)


# --- the tools: wrk and the fast uvicorn stack ---------------------------------------------


def ensure_wrk() -> tuple[str | None, str]:
    """(path, note): Debian's wrk, installed with apt-get when missing and we are root."""
    path = shutil.which("wrk")
    if path:
        return path, ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "wrk is not installed (apt-get install -y wrk, as root)"
    say("bench: wrk missing; apt-get install -y wrk …")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (
        ["apt-get", "install", "-y", "-qq", "wrk"],
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "wrk"],
    ):
        try:
            subprocess.run(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            break
        path = shutil.which("wrk")
        if path:
            return path, "wrk was installed by this run (apt-get)"
    return None, "wrk is not installed and apt-get install -y wrk failed"


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"wrk (\S+)", out)
    return match.group(1) if match else "?"


def ensure_fast_stack() -> tuple[str | None, str]:
    """(sys.path entry or "", note) for httptools + uvloop; None when they cannot be had.

    Installed with pip into bench/out/fastdeps when the venv lacks them, so measuring them
    never changes what the project's own sandbox runs on (uvicorn picks them up when present).
    """
    if all(_importable(name, None) for name in FAST_PACKAGES):
        return "", "from the venv"
    where = FAST_DEPS.relative_to(ROOT)
    if all(_importable(name, FAST_DEPS) for name in FAST_PACKAGES):
        return str(FAST_DEPS), f"from {where}, for the bench only"
    say(f"bench: installing {' '.join(FAST_PACKAGES)} into {where} (bench only) …")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--target",
                str(FAST_DEPS),
                *FAST_PACKAGES,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"pip install {' '.join(FAST_PACKAGES)} failed: {exc}"
    if result.returncode == 0 and all(_importable(name, FAST_DEPS) for name in FAST_PACKAGES):
        return str(FAST_DEPS), f"installed into {where} by this run, for the bench only"
    return None, "pip install httptools uvloop failed: " + result.stderr.strip()[-300:]


def _importable(name: str, path: Path | None) -> bool:
    code = f"import {name}"
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = str(path)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=False)
    return result.returncode == 0


def _version_of(name: str, path: str | None) -> str:
    code = f"from importlib import metadata; print(metadata.version({name!r}))"
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip() or "-"


# --- the machine -------------------------------------------------------------------------------


def machine(wrk: str, fast_path: str | None) -> dict[str, Any]:
    cpu = common.cpu_model()
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    packages = {name: _safe_version(name) for name in ("uvicorn", "fastapi", "starlette", "pydantic", "h11")}
    for name in FAST_PACKAGES:
        packages[name] = _version_of(name, fast_path) if fast_path is not None else "-"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": nproc or str(os.cpu_count()),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "packages": packages,
        "wrk": wrk_version(wrk),
    }


def _safe_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def runqueue_seconds(pid: int) -> float:
    """How long the process has been runnable but waiting for a CPU (/proc/<pid>/schedstat)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


# --- servers -----------------------------------------------------------------------------------


class BenchServer(SandboxProcess):
    """The sandbox (or the null server) through bench/serve.py, on a forced uvicorn stack."""

    def __init__(
        self, stack: str, path: str | None = None, null: bool = False, profile: Path | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("throttle", NO_THROTTLE)
        super().__init__(**kwargs)
        self.stack, self.path, self.null, self.profile = stack, path, null, profile

    def stop(self, timeout: float = 10.0) -> int | None:
        # A profiled sandbox writes its report on the way out: give it time.
        return super().stop(60.0 if self.profile is not None else timeout)

    def command(self) -> list[str]:
        base = super().command()
        assert base[1:3] == ["-m", "preflight"], base
        launcher = [base[0], str(BENCH / "serve.py"), "--stack", self.stack]
        if self.path:
            launcher += ["--path", self.path]
        if self.null:
            launcher.append("--null")
        if self.profile is not None:
            launcher += ["--profile", str(self.profile)]
        return launcher + ["--"] + base[3:]

    def set_up(self) -> str:
        """A LEAD_CAPTURE campaign with a tagged primary link; answers a CREATOR JWT."""
        jwt = self.mint_jwt(HANDLE, ttl_seconds=86400)
        body = {
            "campaignId": CAMPAIGN,
            "goalType": "LEAD_CAPTURE",
            "status": "ACTIVE",
            "name": "bench",
            "leadVerification": {"mode": "NONE"},
            "primaryLink": {
                "slug": SLUG,
                "destinationUrl": f"https://bench.example/{SLUG}",
                "enabled": True,
                "tracking": {"utmSource": "bench", "utmMedium": "loopback", "utmCampaign": "throughput"},
            },
        }
        response = self.admin.post(
            f"/v2/handles/{HANDLE}/campaigns", json=body, headers={"Authorization": f"Bearer {jwt}"}
        )
        if response.status_code != 201:
            raise SandboxError(f"campaign set-up: {response.status_code} {response.text}")
        return jwt


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One wrk run: what wrk saw, and the CPU the server and wrk spent."""

    scenario: str
    stack: str
    requests: int
    seconds: float
    statuses: dict[int, int]
    errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float
    client_cpu: float
    ok: int = 0
    server_waited: float = 0.0  # runnable, but no CPU free (other work on the machine)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def server_us_per_request(self) -> float:
        counted = self.ok or self.requests
        return self.server_cpu / counted * 1e6 if counted else 0.0

    @property
    def client_us_per_request(self) -> float:
        counted = self.ok or self.requests
        return self.client_cpu / counted * 1e6 if counted else 0.0


@dataclass
class Wrk:
    path: str
    threads: int = 1
    connections: int = 32
    scratch: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-", dir=_out())))

    def run(
        self,
        scenario: str,
        stack: str,
        url: str,
        seconds: float,
        mode: str = "plain",
        headers: dict[str, str] | None = None,
        server_pid: int | None = None,
        ok_status: int = 200,
        use_span: bool = False,
    ) -> Run:
        command = [
            self.path,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
        ]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command += [url, "--", mode, str(self.scratch)]
        for stale in self.scratch.glob("done-*"):
            stale.unlink()
        server_before = cpu_seconds(server_pid) if server_pid else 0.0
        waited_before = runqueue_seconds(server_pid) if server_pid else 0.0
        with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
            proc = subprocess.Popen(command, stdout=out_file, stderr=err_file, text=True)
            interrupted = mode != "convert"
            while True:
                # wrk's main thread sleeps out -d even when every thread has stopped; once all
                # have left their done-<id> file, SIGINT makes it print its summary at once.
                pid, status, usage = os.wait4(proc.pid, 0 if interrupted else os.WNOHANG)
                if pid:
                    break
                if len(list(self.scratch.glob("done-*"))) >= self.threads:
                    proc.send_signal(signal.SIGINT)
                    interrupted = True
                else:
                    time.sleep(0.02)
            proc.returncode = os.waitstatus_to_exitcode(status)
            server_cpu = cpu_seconds(server_pid) - server_before if server_pid else 0.0
            waited = runqueue_seconds(server_pid) - waited_before if server_pid else 0.0
            out_file.seek(0)
            err_file.seek(0)
            out, err = out_file.read(), err_file.read()
        match = re.search(r"^BENCH (\{.*\})$", out, re.M)
        if proc.returncode != 0 or not match:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out.strip()}")
        data = json.loads(match.group(1))
        statuses = {int(k): v for k, v in data["statuses"].items()}
        span_us = data["span_us"] if use_span and data["span_us"] > 0 else data["duration_us"]
        span = span_us / 1e6
        errors = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
        return Run(
            scenario,
            stack,
            data["requests"],
            span,
            statuses,
            errors,
            data["p50_us"] / 1000,
            data["p99_us"] / 1000,
            server_cpu,
            usage.ru_utime + usage.ru_stime,
            ok=statuses.get(ok_status, 0),
            server_waited=waited,
        )

    def ctx_tokens(self) -> list[str]:
        tokens: list[str] = []
        for path in sorted(self.scratch.glob("ctx-*.txt")):
            tokens += path.read_text().split()
            path.unlink()
        return tokens

    def deal(self, tokens: list[str]) -> None:
        """Split ctx tokens between wrk's threads (each reads conv-<id>.txt)."""
        for i in range(self.threads):
            share = tokens[i :: self.threads]
            (self.scratch / f"conv-{i}.txt").write_text("\n".join(share) + "\n")

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _out() -> Path:
    OUT.mkdir(exist_ok=True)
    return OUT


# --- the scenarios -----------------------------------------------------------------------------


def client_ceiling(wrk: Wrk, seconds: float) -> list[Run]:
    """wrk against a server that answers at once: how fast the load generator itself goes."""
    runs = []
    with BenchServer("asyncio-h11", null=True) as null:
        pid = null.proc.pid  # type: ignore[union-attr]
        wrk.run("warm-up", "null", null.url + "/", 0.5)
        runs.append(wrk.run("ceiling GET", "null", null.url + "/health", seconds, server_pid=pid))
        fake = [f"c1.{i:08d}.{'x' * 120}" for i in range(int(seconds * 60000))]
        wrk.deal(fake)
        runs.append(
            wrk.run(
                "ceiling POST",
                "null",
                null.url + "/v2/public/conversions",
                seconds,
                mode="convert",
                server_pid=pid,
                use_span=True,
            )
        )
    return runs


def measure(wrk: Wrk, server: BenchServer, jwt: str, seconds: float, min_tokens: int) -> list[Run]:
    """health, clicks, then conversions fed by those clicks' ctx tokens."""
    pid = server.proc.pid  # type: ignore[union-attr]
    stack = server.stack
    auth = {"Authorization": f"Bearer {jwt}"}
    health_url = f"{server.url}/v2/handles/{HANDLE}/campaigns/{CAMPAIGN}/health"
    click_url = f"{server.url}/_edge/redirect/{HANDLE}/{SLUG}"
    runs = [wrk.run("health", stack, health_url, seconds, headers=auth, server_pid=pid)]

    clicks = wrk.run("click", stack, click_url, seconds, mode="clicks", server_pid=pid, ok_status=302)
    runs.append(clicks)
    tokens = wrk.ctx_tokens()
    if len(tokens) != clicks.ok:
        clicks.note = f"{clicks.ok} redirects but {len(tokens)} ctx tokens"
    while len(tokens) < min_tokens:  # a slow round: more clicks (not timed) for enough ctx
        wrk.run("click top-up", stack, click_url, 2, mode="clicks")
        tokens += wrk.ctx_tokens()
    if len(set(tokens)) != len(tokens):
        raise RuntimeError("two clicks gave the same ctx")

    before = server.stats()["conversions"]
    wrk.deal(tokens)
    # The run ends when the tokens run out (the threads stop); -d is only a safety cap.
    conversions = wrk.run(
        "conversion",
        stack,
        f"{server.url}/v2/public/conversions",
        len(tokens) / 200 + 5,
        mode="convert",
        server_pid=pid,
        ok_status=201,
        use_span=True,
    )
    created = server.stats()["conversions"] - before
    unexpected = {code: n for code, n in conversions.statuses.items() if code not in (201, 404)}
    if created != conversions.ok or unexpected:
        conversions.note = f"{conversions.ok} × 201 but {created} conversions created" + (
            f", unexpected answers {unexpected}" if unexpected else ""
        )
    runs.append(conversions)
    return runs


# --- profiling -----------------------------------------------------------------------------------

# Where a saturated sandbox's time goes: each sampled frame's own (self) time, by file. A
# built-in (C) function counts by its name when that says what it is, else as its caller's.
CATEGORIES = (
    ("SQLite", ("/sqlite3/", "sqlite3.")),
    ("HTTP parsing/writing (uvicorn, h11, httptools)", ("/uvicorn/", "/h11/", "/httptools/")),
    ("event loop (asyncio, uvloop)", ("/asyncio/", "selectors.py", "/uvloop/")),
    ("routing, dependencies, responses (starlette, fastapi)", ("/starlette/", "/fastapi/")),
    ("validation (pydantic)", ("/pydantic/", "pydantic_core")),
    ("sandbox code (preflight/sandbox)", ("/preflight/sandbox/",)),
    ("json, hmac, base64 (stdlib)", ("/json/", "hmac.py", "base64.py")),
)
BUILTIN_CATEGORIES = (
    ("waiting for requests (epoll)", ("epoll.poll", "select.", "poll")),
    ("socket I/O (send/recv syscalls)", ("socket.send", "socket.recv", ".send", ".recv")),
    ("SQLite", ("Connection.", "Cursor.", "sqlite3")),
)


def _category(frame: Any, inherited: str) -> str:
    path = frame.file_path or ""
    if path.startswith("<built-in>") or not path:
        name = f"{frame.class_name or ''}.{frame.function}" if frame.class_name else frame.function
        for category, needles in BUILTIN_CATEGORIES:
            if any(needle in (name or "") for needle in needles):
                return category
        return inherited
    for category, needles in CATEGORIES:
        if any(needle in path for needle in needles):
            return category
    if "/lib/python3" in path and "-packages/" not in path:
        return inherited  # the stdlib (contextlib, typing, inspect…) counts as its caller
    return "other libraries"


def _serving_root(root: Any) -> Any:
    """The uvicorn Server.run frame: the profile without start-up (imports) and shutdown."""
    stack = [root]
    while stack:
        frame = stack.pop()
        if frame.function == "run" and (frame.file_path or "").endswith("uvicorn/server.py"):
            return frame
        stack.extend(frame.children)
    return root


def profile_breakdown(
    session_path: Path, top: int = 12
) -> tuple[float, list[tuple[str, float]], list[tuple[str, float]]]:
    """(seconds sampled while serving, [(category, share)], [(function, share)]) by self time."""
    from pyinstrument.session import Session

    root = Session.load(str(session_path)).root_frame()
    if root is None:
        return 0.0, [], []
    serving = _serving_root(root)
    by_category: dict[str, float] = {}
    by_function: dict[str, float] = {}
    stack = [(serving, "event loop (asyncio, uvloop)")]
    while stack:
        frame, inherited = stack.pop()
        if frame.is_synthetic:
            continue  # "[self]" leaves are in their parent's total_self_time
        category = _category(frame, inherited)
        stack.extend((child, category) for child in frame.children)
        own = frame.total_self_time
        if own <= 0:
            continue
        by_category[category] = by_category.get(category, 0.0) + own
        where = (
            "built-in"
            if (frame.file_path or "<built-in>").startswith("<")
            else f"{Path(frame.file_path).parent.name}/{Path(frame.file_path).name}:{frame.line_no}"
        )
        label = f"{frame.function} ({where})"
        by_function[label] = by_function.get(label, 0.0) + own
    total = serving.time or 1.0
    categories = sorted(((k, v / total) for k, v in by_category.items()), key=lambda kv: -kv[1])
    functions = sorted(((k, v / total) for k, v in by_function.items()), key=lambda kv: -kv[1])
    return serving.time, categories, functions[:top]


PROFILED_CONVERSIONS = 1500  # pyinstrument slows the sandbox several times: keep it short


def profile(wrk: Wrk, seconds: float, stack: str = "asyncio-h11", path: str | None = None) -> dict[str, Path]:
    """pyinstrument profiles of a saturated sandbox: one for health, one for conversions.

    The ctx tokens come from clicks on an unprofiled sandbox of the same database file (the
    signing keys live there), so the conversion profile holds nothing but conversions.
    """
    db = OUT / "profile.db"
    for leftover in OUT.glob("profile.db*"):
        leftover.unlink()
    reports = {"health": OUT / "profile-health.txt", "conversion": OUT / "profile-conversion.txt"}
    try:
        with BenchServer(stack, path=path, db=db) as sb:
            jwt = sb.set_up()
            wrk.run("click", stack, f"{sb.url}/_edge/redirect/{HANDLE}/{SLUG}", seconds, mode="clicks")
            tokens = wrk.ctx_tokens()
        with BenchServer(stack, path=path, db=db, profile=reports["health"]) as sb:
            wrk.run(
                "health",
                stack,
                f"{sb.url}/v2/handles/{HANDLE}/campaigns/{CAMPAIGN}/health",
                seconds,
                headers={"Authorization": f"Bearer {jwt}"},
            )
        with BenchServer(stack, path=path, db=db, profile=reports["conversion"]) as sb:
            tokens = tokens[:PROFILED_CONVERSIONS]
            wrk.deal(tokens)
            wrk.run(
                "conversion",
                stack,
                f"{sb.url}/v2/public/conversions",
                len(tokens) / 100 + 5,
                mode="convert",
                ok_status=201,
                use_span=True,
            )
    finally:
        for leftover in OUT.glob("profile.db*"):
            leftover.unlink()
    return reports
