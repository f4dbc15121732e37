"""What the harness prints works pasted as printed, from the folder the user ran in.

Each run here is a real `preflight run` on a *remote* target (a sandbox in its own process, tokens
minted beforehand), interrupted as a user or CI stops one: one Ctrl-C, two, SIGTERM, a kill of
`preflight run` itself. The cleanup command it prints is then run exactly as printed (split as a
shell splits it, from the project folder), and the sandbox's own state says nothing is left live.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import time

import pytest
from harness_helpers import journal_events, links_of, remote_target, token_env

from preflight.lifecycle import journal

SCOPES = ["analytics.read", "pages.read", "pages.write"]
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
