"""The process interface: `preflight sandbox` flags, persistence, signals, crash reports."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sandbox_helpers import Api, error_of

from preflight.sandbox.process import SandboxError, SandboxProcess

CMD = [sys.executable, "-m", "preflight", "sandbox"]


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        CMD + list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--port", "70000"], "invalid port"),
        (["--port", "-1"], "invalid port"),
        (["--port", "http"], "invalid port"),
        (["--plan", "GOLD"], "invalid plan"),
        (["--ctx-ttl", "0"], "invalid ctx TTL"),
        (["--ctx-ttl", "soon"], "invalid ctx TTL"),
        (["--throttle", "read=ten"], "invalid throttle"),
        (["--throttle", "reads=10"], "invalid throttle"),
        (["--throttle", "write=0"], "invalid throttle"),
        (["--bogus"], "unrecognized arguments"),
        (["--db", "/nonexistent-dir/sub/x.db"], "directory does not exist"),
        (["--host", "no-such-host.invalid"], "cannot resolve host"),
    ],
)
def test_bad_cli_values_are_one_line_exit_2(args, needle):
    result = _cli(*args)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0] and "error" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_non_loopback_host_from_environment_is_refused():
    result = _cli(env={"PREFLIGHT_SANDBOX_HOST": "192.0.2.10"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "refusing non-loopback host" in result.stderr


def test_port_in_use_is_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = _cli("--port", str(taken.getsockname()[1]))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot listen on 127.0.0.1" in result.stderr


def test_explicit_non_loopback_host_is_allowed_with_a_warning(tmp_path):
    with SandboxProcess(host="0.0.0.0") as sb:
        assert sb.url.startswith("http://0.0.0.0:")
        port = sb.url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/v2/system/health").status_code == 200
        assert "warning: serving on non-loopback 0.0.0.0" in sb.stderr_text()


def test_prints_exactly_the_url_line_and_stops_on_sigterm():
    with SandboxProcess() as sb:
        assert sb.stdout_path.read_text() == f"preflight sandbox listening on {sb.url}\n"
        assert sb.url.startswith("http://127.0.0.1:")
        pid = sb.proc.pid
        sb.proc.send_signal(signal.SIGTERM)
        assert sb.proc.wait(10) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(sb.url + "/v2/system/health", timeout=2)
        assert "Traceback" not in sb.stderr_text()
        assert pid


def test_stops_cleanly_on_sigint():
    with SandboxProcess() as sb:
        sb.proc.send_signal(signal.SIGINT)
        assert sb.proc.wait(10) == 0
        assert "Traceback" not in sb.stderr_text() and "KeyboardInterrupt" not in sb.stderr_text()


def test_data_and_tokens_survive_a_restart(tmp_path):
    db = tmp_path / "kept.db"
    sb = SandboxProcess(db=db)
    try:
        sb.start()
        api = Api(sb)
        api.campaign()
        ctx = api.ctx("spring-a")
        pat = api.pat
        api.convert(ctx, key="before-restart")
        assert sb.stop() == 0
        sb.start()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sb.url), sb.url  # a port of its own again (maybe the same)
        api.http = httpx.Client(base_url=sb.url, timeout=30)
        assert [c["campaignId"] for c in api.get("/v2/handles/{h}/campaigns").json()["items"]] == ["spring-ab"]
        assert api.get("/v2/public/handles/{h}/campaigns/spring-ab/health", token=pat).status_code == 200
        assert api.get("/v2/public/context", token=None, params={"ctx": ctx}).status_code == 200
        replay = api.convert(ctx, key="before-restart")
        assert replay.headers["idempotent-replayed"] == "true"
        assert sb.stats()["conversions"] == 1 and sb.stats()["clicks"] == 1
        api.close()
    finally:
        sb.close()


def test_options_reach_the_server(tmp_path):
    with SandboxProcess(plan="FREE", ctx_ttl=60, throttle={"read": 3, "write": 2, "public": 5}) as sb:
        info = sb.info()
        assert info["ctxTtlSeconds"] == 60 and info["defaultPlan"] == "FREE"
        assert info["throttles"] == {"read": 3, "write": 2, "public": 5}
        client = httpx.Client(base_url=sb.url)
        token = sb.mint_jwt("gharart")
        headers = {"Authorization": f"Bearer {token}"}
        remaining = [client.get("/v2/handles/gharart/campaigns", headers=headers) for _ in range(4)]
        assert [r.status_code for r in remaining] == [200, 200, 200, 429]
        assert [r.headers["ratelimit-remaining"] for r in remaining] == ["2", "1", "0", "0"]
        assert all(r.headers["ratelimit-limit"] == "3" for r in remaining)
        throttled = error_of(remaining[3], 429, "rate_limited", reason="throttle")
        assert throttled and int(remaining[3].headers["retry-after"]) >= 1
        # Classes are apart: public still has room, and control routes are never throttled.
        assert client.get("/v2/public/context", params={"ctx": "x"}).status_code == 400
        assert client.get("/__sandbox/info").status_code == 200
        meters = client.get("/v2/handles/gharart/usage-meters", headers=headers)
        assert meters.status_code == 429  # still the read throttle
        client.close()


def test_crash_before_listening_is_reported(tmp_path):
    (tmp_path / "not-a-db").mkdir()
    sb = SandboxProcess(db=tmp_path / "not-a-db", startup_timeout=15)
    with pytest.raises(SandboxError) as info:
        sb.start()
    assert "exited with 2" in str(info.value) and "stderr:" in str(info.value)
    sb.close()


def test_start_times_out_when_nothing_listens(tmp_path):
    sb = SandboxProcess(extra_args=["--log-level", "debug"], startup_timeout=0.05)
    started = time.monotonic()
    with pytest.raises(SandboxError):
        sb.start()
    assert time.monotonic() - started < 12
    assert not sb.running
    sb.close()
