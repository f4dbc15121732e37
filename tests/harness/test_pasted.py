"""What the harness prints works pasted as printed, from the folder the user ran in.

Each run here is a real `preflight run` on a *remote* target (a sandbox in its own process, tokens
minted beforehand), interrupted as a user or CI stops one: one Ctrl-C, two, SIGTERM, a kill of
`preflight run` itself. The cleanup command it prints is then run exactly as printed (split as a
shell splits it, from the project folder), and the sandbox's own state says nothing is left live.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from harness_helpers import _env, journal_events, links_of, make_project, remote_target, token_env

from preflight.lifecycle import journal

SCOPES = ["analytics.read", "pages.read", "pages.write"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PRINTED = re.compile(r"(?:retire them later with|to check): (.+)$", re.M)


def tokens(sandbox) -> dict[str, str]:
    jwt = sandbox.admin.post(
        "/__sandbox/tokens", json={"kind": "jwt", "handle": "gharart", "role": "CREATOR", "ttlSeconds": 7200}
    ).json()["token"]
    return token_env(jwt, sandbox.mint_pat("gharart", SCOPES))


def wait_for(condition, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.05)


def interrupt(proc: subprocess.Popen, kind: str, reports) -> None:
    if kind == "kill":
        proc.kill()  # `preflight run` itself, as `kill -9` or an OOM killer would
    elif kind == "sigterm":
        proc.send_signal(signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGINT)
        if kind == "two-ctrl-c":
            time.sleep(0.2)
            proc.send_signal(signal.SIGINT)


@pytest.mark.parametrize("kind", ["one-ctrl-c", "two-ctrl-c", "sigterm", "kill"])
def test_the_cleanup_command_printed_after_an_interruption_works_pasted(project, sandbox, kind):
    remote_target(project, sandbox.url)
    env = tokens(sandbox)
    sandbox.set_faults({"slow_answers": {"delayMs": 150}})  # the interruption lands mid-run
    reports = project.path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "preflight", "run", "--target", "remote", "--allow-writes", "--no-html", "-n", "0"]
        + ["--", "-k", "spring-ab"],
        cwd=project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    wait_for(lambda: journal_events(reports, "enabled") >= 2)
    interrupt(proc, kind, reports)
    output, _ = proc.communicate(timeout=180)
    sandbox.set_faults({})
    assert "Traceback" not in output, output[-3000:]
    (run_id,) = journal.run_ids(reports / "journal")  # the journal is kept where the command points
    printed = PRINTED.findall(output)
    assert printed, f"no cleanup command printed:\n{output[-3000:]}"
    argv = shlex.split(printed[-1])
    assert "--yes" in argv and run_id in argv and ".incoming-" not in printed[-1], printed
    done = subprocess.run(argv, cwd=project.path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, f"{printed[-1]}\n{done.stdout}{done.stderr}"
    links = links_of(sandbox, run_id)
    assert links and not any(links.values()), f"links still enabled: {links}\n{output[-2000:]}"
    named = re.findall(r"^\s*(?:gate|summary):\s+(\S+)$", output, re.M)
    assert named, output[-2000:]
    for path in named:  # the files it names exist
        assert (project.path / path).is_file(), f"{path} named, not there:\n{output[-2000:]}"
    named = re.findall(r"^\s*(?:gate|summary):\s+(\S+)$", output, re.M)
    assert named, output[-2000:]
    for path in named:  # the files it names exist
        assert (project.path / path).is_file(), f"{path} named, not there:\n{output[-2000:]}"
    if kind == "two-ctrl-c":
        assert "retire them later with" in output and "retired " in done.stdout, done.stdout


# -- a run and an audit, side by side ---------------------------------------------------------------


def preflight(project, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args],
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env or _env(),
    )


def test_a_run_then_an_audit_keep_both_reports_and_gate_reads_the_one_asked_for(tmp_path):
    project = make_project(tmp_path / "project", browser=True)
    reports = project.path / "reports"
    run = preflight(project, "run", "--run-id", "pasted-run-1", "--", "-k", "spring-ab")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-1500:]
    # On the embedded sandbox a --run-id adopts nothing (a new sandbox holds nothing): it says so.
    assert "on the embedded sandbox: it starts empty" in run.stdout, run.stdout[:2000]
    landing = sorted(p.relative_to(reports) for p in (reports / "landing").rglob("*.png"))
    audit = preflight(project, "audit", "--single-file")
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-1500:]
    assert "serve it over http" not in audit.stdout and "from disk" in audit.stdout, audit.stdout[-800:]
    for folder, mode in ((reports, "lifecycle"), (reports / "audit", "audit")):
        assert json.loads((folder / "gate.json").read_text())["mode"] == mode, folder
        assert (folder / "summary.md").is_file() and (folder / "allure-report" / "index.html").is_file(), folder
    assert (reports / "audit" / "history").is_dir()  # the audit's own history
    assert landing and sorted(p.relative_to(reports) for p in (reports / "landing").rglob("*.png")) == landing
    gate_run = preflight(project, "gate")
    gate_audit = preflight(project, "gate", "--audit")
    assert "(run pasted-run-1" in gate_run.stdout and gate_run.returncode == 0, gate_run.stdout + gate_run.stderr
    audit_id = json.loads((reports / "audit" / "gate.json").read_text())["runId"]
    assert f"(run {audit_id}" in gate_audit.stdout and gate_audit.returncode == 0, gate_audit.stdout
    # --step-summary outside GitHub Actions says, in one line, that it appended nothing.
    outside = preflight(project, "gate", "--step-summary", env={k: v for k, v in _env().items() if "GITHUB" not in k})
    assert outside.stderr.count("\n") == 1 and "$GITHUB_STEP_SUMMARY is not set" in outside.stderr, outside.stderr
    # A reader that stops early ends `preflight plan --json` quietly.
    piped = subprocess.run(
        f"{shlex.quote(sys.executable)} -m preflight plan --json | head -1",
        shell=True,
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert piped.stdout == "{\n" and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped


# -- hints that keep what made them right ---------------------------------------------------------


def test_the_split_the_plan_and_doctor_propose_runs_on_the_same_target_pasted(project, sandbox):
    remote_target(project, sandbox.url)
    env = tokens(sandbox)
    sandbox.set_plan("gharart", "PRO")
    try:
        plan = preflight(project, "plan", "--target", "remote", "--run-id", "split-1", env=env)
        doctor = preflight(project, "doctor", "--target", "remote", env=env)
    finally:
        sandbox.set_plan("gharart", "ENTERPRISE")
    first = re.search(r"^  [^:]+: spring-ab, 9 write\(s\): (.+)$", plan.stdout, re.M)
    assert first, plan.stdout
    assert first.group(1).endswith("run --target remote --allow-writes --run-id split-1 -- -k 'spring-ab'"), first
    assert "--target remote --allow-writes -- -k 'spring-ab'" in doctor.stdout, doctor.stdout
    pasted = subprocess.run(
        shlex.split(first.group(1)), cwd=project.path, capture_output=True, text=True, env=env, timeout=300
    )
    doc = json.loads((project.path / "reports" / "gate.json").read_text())
    # On the target it split (a first remote run is HOLD: no stale ctx of an earlier run yet).
    assert (doc["target"], doc["runId"], doc["tests"]["selection"]) == ("remote", "split-1", "-k 'spring-ab'"), doc
    assert pasted.returncode in (0, 3) and doc["verdict"] in ("PASS", "HOLD"), pasted.stdout[-2000:]


def test_an_unreachable_site_under_audit_browser_says_leave_out_browser(sandbox, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium missing: run make browser")
    sandbox.reset()
    project = make_project(tmp_path / "project", sandbox=sandbox, browser=True)
    target = project.path / "config" / "targets" / "attached.yaml"
    data = yaml.safe_load(target.read_text())
    data.setdefault("sandbox", {})["map_destinations"] = False  # https://gharart.example never resolves
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    done = preflight(project, "audit", "--click", "--browser", "--no-html", "--", "-k", "spring-ab")
    doc = json.loads((project.path / "reports" / "audit" / "gate.json").read_text())
    messages = [r["message"] for r in doc["results"] if "does not load" in (r.get("message") or "")]
    assert messages, done.stdout[-3000:]
    assert all("leave out --browser" in m and "browser.use: off" not in m for m in messages), messages
