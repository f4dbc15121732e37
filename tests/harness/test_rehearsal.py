"""The README's rehearsal ("Rehearse on a sandbox of your own"), walked as written: each command of
its code block run in order in a copy of the project, in bash, with only the port and the database's
path substituted; each exits as its comment says (`# exit N: VERDICT`, else 0) and a run's or an
audit's gate has the verdict the comment names. The sandbox runs in its own process, as the README
starts it; no command but the recipe's own `preflight sandbox …` calls reaches its control routes."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from harness_helpers import ROOT, make_project, tail, token_env

from preflight.sandbox.process import SandboxClient

SECTION = "## Rehearse on a sandbox of your own"
PORT, DB = "8040", "/tmp/rehearsal.db"
EXPECT = re.compile(r"#\s*exit (\d+)(?::\s*(PASS|FAIL|ERROR|HOLD))?")
EXPORT = re.compile(r"^export (\w+)=\$\((.*)\)$")


def recipe() -> list[tuple[str, int, str | None]]:
    """(command, exit code, verdict) of the section's sh block, in order."""
    text = (ROOT / "README.md").read_text()
    block = text.split(SECTION, 1)[1].split("\n## ", 1)[0].split("```sh\n", 1)[1].split("```", 1)[0]
    steps = []
    for line in (raw.strip() for raw in block.splitlines()):
        if line and not line.startswith("#"):
            expect = EXPECT.search(line)
            command = line[: line.index(" #")].strip() if " #" in line else line
            steps.append((command, int(expect.group(1)) if expect else 0, expect and expect.group(2)))
    return steps


def test_the_recipe_reads_as_a_rehearsal():
    """Its steps in the order the README promises, the first run HOLD, then PASS."""
    steps = recipe()
    heads = [" ".join(shlex.split(c)[:3]) if c.startswith(".venv") else c.split()[0] for c, _, _ in steps]
    assert heads == [
        ".venv/bin/preflight sandbox --port",
        "export",
        "export",
        "sed",
        ".venv/bin/preflight sandbox seed-live",
        ".venv/bin/preflight doctor --config",
        ".venv/bin/preflight run --config",
        ".venv/bin/preflight sandbox clock",
        ".venv/bin/preflight run --config",
        ".venv/bin/preflight audit --config",
    ], heads
    assert [(code, verdict) for _, code, verdict in steps[5:]] == [
        (0, None),  # the doctor
        (3, "HOLD"),  # the first run on a remote target: no ctx of an earlier run yet
        (0, None),  # the sandbox's clock
        (0, "PASS"),
        (0, "PASS"),  # the audit
    ]
    assert all(PORT in c for c, _, _ in steps if "--url" in c) and DB in steps[0][0]


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def substitute(command: str, port: str, db: Path) -> str:
    return command.replace(PORT, port).replace(DB, str(db))


class Rehearsal:
    """The project copy the recipe runs in, its environment (the exported tokens) and its sandbox."""

    def __init__(self, tmp_path: Path) -> None:
        self.project = make_project(tmp_path / "project", browser=True)
        (self.project.path / ".venv").symlink_to(ROOT / ".venv")
        self.port, self.db = free_port(), tmp_path / "rehearsal.db"
        target = self.project.path / "config" / "targets" / "rehearsal.yaml"
        target.write_text(target.read_text().replace(f"127.0.0.1:{PORT}", f"127.0.0.1:{self.port}"))
        self.env = token_env(None, None)
        self.sandbox: subprocess.Popen | None = None

    def start_sandbox(self, command: str) -> None:
        self.sandbox = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=self.project.path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        line = self.sandbox.stdout.readline()
        assert line.startswith("preflight sandbox listening on http://127.0.0.1:" + self.port), line

    def stop_sandbox(self) -> None:
        if self.sandbox is not None and self.sandbox.poll() is None:
            os.kill(self.sandbox.pid, signal.SIGTERM)
            self.sandbox.wait(timeout=30)

    def bash(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", command], cwd=self.project.path, env=self.env, capture_output=True, text=True, timeout=600
        )

    def control_calls(self) -> int:
        with SandboxClient(f"http://127.0.0.1:{self.port}") as client:
            log = client.requests(10000)
        # The test's own reads of the log aside.
        return len([e for e in log if e["path"].startswith("/__sandbox") and e["path"] != "/__sandbox/requests"])


@pytest.fixture
def rehearsal(tmp_path):
    walk = Rehearsal(tmp_path)
    yield walk
    walk.stop_sandbox()


def test_the_readme_rehearsal_runs_as_written(rehearsal):
    steps = recipe()
    rehearsal.start_sandbox(substitute(steps[0][0], rehearsal.port, rehearsal.db))
    for command, code, verdict in steps[1:]:
        command = substitute(command, rehearsal.port, rehearsal.db)
        exported = EXPORT.match(command)
        before = rehearsal.control_calls()
        done = rehearsal.bash(exported.group(2) if exported else command)
        assert done.returncode == code, f"{command}: exit {done.returncode}\n{tail(done.stdout)}\n{tail(done.stderr)}"
        if exported:
            token = done.stdout.strip()
            assert token and "\n" not in token and not done.stderr, command
            rehearsal.env[exported.group(1)] = token
            continue
        secrets = [rehearsal.env[name] for name in ("PREFLIGHT_JWT", "PREFLIGHT_PAT")]
        assert not [s for s in secrets if s in done.stdout + done.stderr], f"{command} printed a token"
        if "--config" in command and "sandbox" not in command:  # the harness's own commands: no control route
            assert rehearsal.control_calls() == before, f"{command} called /__sandbox/"
        if verdict:  # the audit's reports are kept apart from the run's
            reports = rehearsal.project.path / "reports" / ("audit" if " audit " in f"{command} " else "")
            gate = json.loads((reports / "gate.json").read_text())
            assert gate["verdict"] == verdict, (command, gate["reason"])
            assert gate["target"] == "rehearsal", gate["target"]
    # The run's shopper went to the sandbox's copy of the site, as the config copy says.
    gate = json.loads((rehearsal.project.path / "reports" / "audit" / "gate.json").read_text())
    assert gate["mode"] == "audit" and gate["audit"]["click"] is True, gate.get("audit")
    run = json.loads((rehearsal.project.path / "reports" / "gate.json").read_text())
    assert (run["mode"], run["verdict"]) == ("lifecycle", "PASS"), run["reason"]  # the run's evidence kept
    assert "_site/gharart.example" in (rehearsal.project.path / "config" / "rehearsal.yaml").read_text()


def test_a_token_is_never_written_to_a_terminal(rehearsal):
    rehearsal.start_sandbox(f".venv/bin/preflight sandbox --port {rehearsal.port} --db {rehearsal.db}")
    url = f"http://127.0.0.1:{rehearsal.port}"
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [".venv/bin/preflight", "sandbox", "token", "jwt", "--url", url],
            cwd=rehearsal.project.path,
            env=rehearsal.env,
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
        os.set_blocking(leader, False)
        time.sleep(0.2)
        try:
            shown = os.read(leader, 65536).decode(errors="replace")
        except BlockingIOError:
            shown = ""
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2 and "eyJ" not in shown, shown
    assert done.stderr.startswith("preflight sandbox: error: a token is a secret: capture it"), done.stderr
    captured = rehearsal.bash(f".venv/bin/preflight sandbox token pat --url {url} --scopes pages.read")
    assert captured.returncode == 0 and captured.stdout.startswith("patv1_"), captured.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["token", "pat"], "--url {url}: no sandbox answers (ConnectError): start one with `preflight sandbox`"),
        (["clock", "--advance", "32m"], "--url {url}: no sandbox answers (ConnectError)"),
        (["seed-live", "--config", "config/none.yaml"], "--config config/none.yaml: config/none.yaml: file not found"),
        (["clock", "--advance", "soon"], "argument --advance: invalid duration 'soon'"),
    ],
)
def test_a_rehearsal_command_that_cannot_work_says_why_in_one_line(tmp_path, args, line):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "preflight"), "sandbox", *args, "--url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=token_env(None, None),
    )
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert line.format(url=url) in done.stderr and not done.stdout, done.stderr
