"""SandboxProcess: run `preflight sandbox` as a child process (plugin, tests, benchmarks).

    with SandboxProcess(port=0, db=None, plan="ENTERPRISE", ctx_ttl=1800) as sb:
        sb.url, sb.admin, sb.mint_jwt(...), sb.mint_pat(...), sb.set_faults(...),
        sb.reset(), sb.stats()

SandboxClient(url) offers the same control calls for a sandbox that is already running.
The child's stdout and stderr go to files (temporary ones unless given), so a chatty child
never blocks on a full pipe and a crash message can be reported. start() reads the URL line
from stdout, then waits until GET /v2/system/health answers 200. stop() is SIGTERM, a wait,
then SIGKILL.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

URL_LINE = re.compile(r"^preflight sandbox listening on (http://\S+)$", re.M)


@functools.cache
def _tls_context() -> Any:
    """httpx's default TLS context, made once per process: each httpx.Client would otherwise build
    its own and load the CA bundle into it (~20 ms), and a run opens a control client per campaign."""
    return httpx.create_ssl_context()


class SandboxError(RuntimeError):
    """The sandbox did not start, or answered a control call with an error."""


class SandboxClient:
    """The /__sandbox/ control routes of a sandbox already running at `url`."""

    def __init__(self, url: str | None) -> None:
        self.url = url.rstrip("/") if url else None
        self._admin: httpx.Client | None = None

    @property
    def admin(self) -> httpx.Client:
        if self._admin is None:
            if self.url is None:
                raise SandboxError("the sandbox is not started")
            self._admin = httpx.Client(base_url=self.url, timeout=30.0, verify=_tls_context())
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None, ok: int = 200) -> httpx.Response:
        try:
            response = self.admin.request(method, path, json=json)
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server closed while idle (uvicorn's keep-alive timeout) as we
            # reused it: the request never reached the app, so sending it again on a new one is safe.
            response = self.admin.request(method, path, json=json)
        if response.status_code != ok:
            raise SandboxError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response

    def mint_jwt(self, handle: str, role: str = "CREATOR", ttl_seconds: int | None = None) -> str:
        body: dict[str, Any] = {"kind": "jwt", "handle": handle, "role": role}
        if ttl_seconds is not None:
            body["ttlSeconds"] = ttl_seconds
        return self._call("POST", "/__sandbox/tokens", body, 201).json()["token"]

    def mint_pat(self, handle: str, scopes: list[str] | tuple[str, ...] = ("analytics.read",)) -> str:
        body = {"kind": "pat", "handle": handle, "scopes": list(scopes)}
        return self._call("POST", "/__sandbox/tokens", body, 201).json()["token"]

    def mint_ctx(self, handle: str, slug: str, age_seconds: float = 0) -> str:
        body = {"handle": handle, "slug": slug, "ageSeconds": age_seconds}
        return self._call("POST", "/__sandbox/ctx", body, 201).json()["ctx"]

    def set_plan(self, handle: str, plan: str) -> None:
        self._call("PUT", f"/__sandbox/handles/{handle}", {"plan": plan})

    def advance_clock(self, seconds: float) -> str:
        return self._call("POST", "/__sandbox/clock", {"advanceSeconds": seconds}).json()["now"]

    def throttle_clock(self, stopped: bool | None = None, advance: float = 0) -> dict[str, Any]:
        """Stop (or restart) the throttles' time and move it on: exact windows on a loaded machine."""
        return self._call("POST", "/__sandbox/throttle-clock", {"stopped": stopped, "advanceSeconds": advance}).json()

    def set_faults(self, faults: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return self._call("PUT", "/__sandbox/faults", {"faults": faults}).json()

    def reset(self) -> None:
        self._call("POST", "/__sandbox/reset", ok=204)

    def stats(self) -> dict[str, int]:
        return self._call("GET", "/__sandbox/stats").json()

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/__sandbox/info").json()

    def seed_live(self, handle: str, campaigns: list[dict[str, Any]]) -> dict[str, list[str]]:
        """POST /__sandbox/live-campaigns: each absent campaign created healthy, with traffic."""
        return self._call("POST", "/__sandbox/live-campaigns", {"handle": handle, "campaigns": campaigns}).json()

    def requests(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self._call("GET", f"/__sandbox/requests?limit={limit}").json()["items"]


class SandboxProcess(SandboxClient):
    """A `preflight sandbox` child process, with the control routes of SandboxClient."""

    def __init__(
        self,
        port: int = 0,
        db: str | os.PathLike[str] | None = None,
        plan: str = "ENTERPRISE",
        ctx_ttl: int = 1800,
        host: str = "127.0.0.1",
        throttle: dict[str, int] | None = None,
        stdout_path: str | os.PathLike[str] | None = None,
        stderr_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 20.0,
        extra_args: list[str] | None = None,
        writes_per_day: int | None = None,
        analytics_lag_seconds: int = 0,
    ) -> None:
        self.port = port
        self.db = str(db) if db is not None else None
        self.plan = plan
        self.ctx_ttl = ctx_ttl
        self.host = host
        self.throttle = throttle
        self.writes_per_day = writes_per_day
        self.analytics_lag_seconds = analytics_lag_seconds
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args or [])
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if stdout_path is None or stderr_path is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="preflight-sandbox-")
        self.stdout_path = Path(stdout_path or Path(self._tmpdir.name) / "stdout.log")  # type: ignore[union-attr]
        self.stderr_path = Path(stderr_path or Path(self._tmpdir.name) / "stderr.log")  # type: ignore[union-attr]
        self.proc: subprocess.Popen[bytes] | None = None
        super().__init__(None)

    # --- lifecycle ------------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "preflight",
            "sandbox",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--plan",
            self.plan,
            "--ctx-ttl",
            str(self.ctx_ttl),
        ]
        if self.db is not None:
            cmd += ["--db", self.db]
        if self.writes_per_day:
            cmd += ["--writes-per-day", str(self.writes_per_day)]
        if self.analytics_lag_seconds:
            cmd += ["--analytics-lag-seconds", str(self.analytics_lag_seconds)]
        if self.throttle:
            cmd += ["--throttle", ",".join(f"{k}={v}" for k, v in self.throttle.items())]
        return cmd + ["--parent-pid", str(os.getpid())] + self.extra_args

    def start(self) -> SandboxProcess:
        if self.proc is not None and self.proc.poll() is None:
            return self
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # Its own session: a Ctrl-C in the terminal reaches the run, which still needs the
            # sandbox to retire what it enabled; the run stops it afterwards (--parent-pid covers a kill).
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        try:
            self.url = self._wait_for_url(deadline)
            self._wait_until_ready(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_url(self, deadline: float) -> str:
        while time.monotonic() < deadline:
            match = URL_LINE.search(self.stdout_path.read_text(errors="replace"))
            if match:
                return match.group(1)
            if self.proc is not None and self.proc.poll() is not None:
                raise SandboxError(
                    f"sandbox exited with {self.proc.returncode} before listening{self._stderr_excerpt()}"
                )
            time.sleep(0.02)
        raise SandboxError(f"sandbox printed no URL within {self.startup_timeout:.0f}s{self._stderr_excerpt()}")

    def _wait_until_ready(self, deadline: float) -> None:
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                if self.admin.get("/v2/system/health").status_code == 200:
                    return
            except httpx.HTTPError as exc:
                last = exc
            if self.proc is not None and self.proc.poll() is not None:
                raise SandboxError(f"sandbox exited with {self.proc.returncode}{self._stderr_excerpt()}")
            time.sleep(0.05)
        raise SandboxError(f"sandbox at {self.url} not ready: {last}{self._stderr_excerpt()}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, then SIGKILL. Answers the exit code."""
        SandboxClient.close(self)
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        return proc.returncode

    def close(self) -> None:
        """Stop the process and drop its temporary log files."""
        self.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def _stderr_excerpt(self, limit: int = 2000) -> str:
        text = self.stderr_text().strip()
        return f"; stderr: {text[-limit:]}" if text else ""
