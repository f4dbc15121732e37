"""Peak windows on the sandbox clock: a run that writes does not start inside one.

The project's config gets a window a few hours after the sandbox's now (in Asia/Kolkata, as the
issue's sale evenings); POST /__sandbox/clock moves the sandbox's clock (the Date header of its
answers) into it. Inside, `pytest suites` and `preflight run` stop before any write with verdict
ERROR (exit 2), naming the window's end, and the sandbox holds nothing; `--allow-peak` runs
anyway; outside the window the run goes ahead. `preflight doctor` and `preflight plan` (text and
--json) show the window on now, or the next one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from harness_helpers import PreflightProject, explain

from preflight.http.client import WRITE_METHODS

ZONE = "Asia/Kolkata"
NAME = "sale evenings"
# A small selection that still writes (its campaign is created and retired): the window check
# runs for it as for a whole run.
SMALL = ("--", "-k", "spring-ab and test_checks_present_and_traffic_tagged")


class Window:
    """A window starting three hours after the sandbox's now, two hours long, on that day only."""

    def __init__(self, sandbox) -> None:
        now = datetime.fromisoformat(sandbox.info()["now"].replace("Z", "+00:00"))
        self.start = (now + timedelta(hours=3)).astimezone(ZoneInfo(ZONE)).replace(second=0, microsecond=0)
        self.end = self.start + timedelta(hours=2)
        self.sandbox_now = now

    def config(self) -> dict:
        return {
            "name": NAME,
            "days": [self.start.strftime("%a").lower()],
            "from": f"{self.start:%H:%M}",
            "to": f"{self.end:%H:%M}",
            "tz": ZONE,
        }

    def enter(self, sandbox) -> None:
        """The sandbox's clock ten minutes into the window."""
        sandbox.advance_clock((self.start - self.sandbox_now).total_seconds() + 600)

    @property
    def ends(self) -> str:
        """How the messages name the end: local time and zone."""
        return f"{self.end:%a %Y-%m-%d %H:%M} {ZONE}"


@pytest.fixture
def window(project: PreflightProject, sandbox) -> Window:
    win = Window(sandbox)
    project.edit_config(lambda data: data["run"].update(peak_windows=[win.config()]))
    yield win
    sandbox.reset()  # the clock back to real time for whoever comes next


def writes_made(sandbox) -> list[dict]:
    """Writes under /v2 the sandbox answered 2xx (the readiness probe of pages.write is a refused 404)."""
    return [
        r
        for r in sandbox.requests(limit=10000)
        if r["method"] in WRITE_METHODS and r["path"].startswith("/v2/") and 200 <= r["status"] < 300
    ]


def gate_of(project: PreflightProject) -> dict:
    return json.loads((project.path / "reports" / "gate.json").read_text())


def preflight(project: PreflightProject, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", *args], cwd=project.path, capture_output=True, text=True, timeout=300
    )


def test_inside_a_window_nothing_is_written_and_the_verdict_says_when_it_ends(project, sandbox, window):
    window.enter(sandbox)
    done = project.pytest("suites", "-q")
    gate = gate_of(project)
    assert (done.returncode, gate["verdict"], gate["problemCategory"]) == (2, "ERROR", "peak_window"), explain(done)
    problem = gate["problem"]
    assert f"peak window '{NAME}'" in problem and f"it ends at {window.ends}" in problem, problem
    assert "UTC" in problem and "by the platform's clock" in problem and "--allow-peak" in problem, problem
    assert gate["tests"]["ran"] == 0, gate["tests"]

    run = project.run()
    assert (run.code, run.gate["verdict"], run.gate["problemCategory"]) == (2, "ERROR", "peak_window"), explain(run)
    assert f"it ends at {window.ends}" in run.gate["reason"] + run.gate["problem"], run.gate["reason"]
    assert f"it ends at {window.ends}" in run.stdout, explain(run)
    assert writes_made(sandbox) == [] and set(sandbox.stats().values()) == {0}, (writes_made(sandbox), sandbox.stats())


def test_allow_peak_runs_inside_the_window(project, sandbox, window):
    window.enter(sandbox)
    run = project.run("--allow-peak", *SMALL)
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), explain(run)
    assert writes_made(sandbox) and sandbox.stats()["campaigns"] == 1, sandbox.stats()


def test_outside_the_window_the_run_goes_ahead(project, sandbox, window):
    run = project.run(*SMALL)
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), explain(run)
    assert sandbox.stats()["campaigns"] == 1, sandbox.stats()


def test_doctor_and_plan_show_the_next_window_then_the_one_on_now(project, sandbox, window):
    starts = f"{window.start:%a %Y-%m-%d %H:%M} {ZONE}"
    doctor = preflight(project, "doctor")
    line = next((row for row in doctor.stdout.splitlines() if "peak windows" in row), "")
    assert line.startswith("PASS") and f"next: '{NAME}'" in line and f"from {starts}" in line, explain(doctor)
    plan = preflight(project, "plan", "--json")
    doc = json.loads(plan.stdout)["peak"]
    assert (doc["inWindow"], doc["window"], doc["clock"]) == (False, NAME, "platform"), doc
    assert datetime.fromisoformat(doc["start"]) == window.start and datetime.fromisoformat(doc["end"]) == window.end

    window.enter(sandbox)
    doctor = preflight(project, "doctor")
    line = next((row for row in doctor.stdout.splitlines() if "peak windows" in row), "")
    assert doctor.returncode == 2 and line.startswith("FAIL") and f"in peak window '{NAME}' (" in line, explain(doctor)
    assert "now by the platform's clock" in line and f"it ends at {window.ends}" in line, explain(doctor)
    assert f"fix: run after {window.ends}" in doctor.stdout, explain(doctor)
    text = preflight(project, "plan")
    assert f"peak windows: in peak window '{NAME}' (" in text.stdout, explain(text)
    assert f"it ends at {window.ends}" in text.stdout, explain(text)
    doc = json.loads(preflight(project, "plan", "--json").stdout)["peak"]
    assert doc["inWindow"] is True and datetime.fromisoformat(doc["end"]) == window.end, doc
