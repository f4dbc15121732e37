"""Step 9 (CC-06/07), the platform's own funnel numbers, after a real run: the run's clicks and test
conversions counted per variant, never as real (the fault matrix rehearses the residue); lagging
numbers are waited for within the configured bound, then the check could not judge: HOLD (exit 3),
saying why and what makes it judgeable; never a pass, never a failure, and no campaign called ready."""

from __future__ import annotations

import subprocess
import sys

from harness_helpers import explain, make_project

from preflight.sandbox.process import SandboxProcess


def test_fresh_numbers_count_the_run_per_variant(project):
    run = project.run("-n", "0")
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), explain(run)
    results = run.results("test_funnel_counts_the_run_and_keeps_tests_apart")
    assert [r["outcome"] for r in results] == ["passed", "passed"], results
    assert run.gate["matrix"]["spring-ab"]["9"] == "passed"


def test_stale_numbers_are_waited_for_then_the_run_holds_saying_why(tmp_path):
    with SandboxProcess(db=tmp_path / "lag.db", analytics_lag_seconds=3600) as lagging:
        project = make_project(tmp_path / "project", sandbox=lagging)
        project.edit_config(lambda data: data["expectations"].update(analytics_wait_seconds=1))
        run = project.run("-n", "0")
    assert (run.code, run.gate["verdict"]) == (3, "HOLD"), explain(run)
    results = run.results("test_funnel_counts_the_run_and_keeps_tests_apart")
    assert [r["outcome"] for r in results] == ["skipped", "skipped"], results
    for result in results:
        assert result["skip"] == "unjudged" and "FRESH" in result["fix"], result
        assert "analytics lag: freshness STALE" in result["message"] and "SLA 60 min" in result["message"], result
        assert "expectations.analytics_wait_seconds (1 s)" in result["message"], result["message"]
    assert run.gate["matrix"]["spring-ab"]["9"] == "unjudged"
    assert {entry["check"] for entry in run.gate["unjudged"]} == {"9 · Platform funnel numbers"}
    assert "analytics lag" in run.gate["reason"] and run.gate["reason"].startswith("nothing broken was found")
    # no line calls a campaign ready
    lines = [line for line in run.stdout.splitlines() if line.startswith("campaign ")]
    assert lines and not any(", ready (" in line for line in lines), lines
    assert all("not proven ready (HOLD): step(s) 9 could not judge" in line for line in lines), lines
    summary = (run.reports / "summary.md").read_text()
    assert summary.startswith("## campaign-preflight: ⏸ HOLD") and "### Could not judge" in summary
    # the CI gate: exit 3, a warning annotation per check that could not judge, no error
    gate = subprocess.run(
        [sys.executable, "-m", "preflight", "gate", "--github", "--reports", str(run.reports)],
        capture_output=True,
        text=True,
        cwd=project.path,
    )
    assert gate.returncode == 3, gate.stdout + gate.stderr
    warnings = [line for line in gate.stdout.splitlines() if line.startswith("::warning ")]
    assert len(warnings) == 2 and all("could not judge" in line and "analytics lag" in line for line in warnings)
    assert not [line for line in gate.stdout.splitlines() if line.startswith("::error")], gate.stdout
