"""Step 9 (CC-06/07), the platform's own funnel numbers, after a real run: the run's clicks and test
conversions counted per variant, never as real (the fault matrix rehearses the residue); lagging
numbers are waited for within the configured bound, then the check is skipped saying why: never a
pass, never a failure."""

from __future__ import annotations

from harness_helpers import explain, make_project

from preflight.sandbox.process import SandboxProcess


def test_fresh_numbers_count_the_run_per_variant(project):
    run = project.run("-n", "0")
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), explain(run)
    results = run.results("test_funnel_counts_the_run_and_keeps_tests_apart")
    assert [r["outcome"] for r in results] == ["passed", "passed"], results
    assert run.gate["matrix"]["spring-ab"]["9"] == "passed"


def test_stale_numbers_are_waited_for_then_skipped_with_the_reason(tmp_path):
    with SandboxProcess(db=tmp_path / "lag.db", analytics_lag_seconds=3600) as lagging:
        project = make_project(tmp_path / "project", sandbox=lagging)
        project.edit_config(lambda data: data["expectations"].update(analytics_wait_seconds=1))
        run = project.run("-n", "0")
    assert (run.code, run.gate["verdict"]) == (0, "PASS"), explain(run)
    results = run.results("test_funnel_counts_the_run_and_keeps_tests_apart")
    assert [r["outcome"] for r in results] == ["skipped", "skipped"], results
    for result in results:
        assert "analytics lag: freshness STALE" in result["message"] and "SLA 60 min" in result["message"], result
        assert "expectations.analytics_wait_seconds (1 s)" in result["message"], result["message"]
    assert run.gate["matrix"]["spring-ab"]["9"] == "skipped"
    assert "⏭" in (run.reports / "summary.md").read_text()
