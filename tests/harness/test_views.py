"""One judgement, every view: a run with a skipped step is never shown as passed or ready, in the
progress line, gate.json, the readiness matrix, summary.md, the Allure first screen or the CI
annotations (report.judgement decides; each of them renders)."""

from __future__ import annotations

from harness_helpers import explain

from preflight.cli.gate import annotations
from preflight.report import front


def test_a_skipped_step_is_never_passed_or_ready_in_any_view(project):
    # -k health: steps 1 and 2 run; the readiness re-checks (8) need the test conversions and the
    # publish, which the selection leaves out: they are not checked, by choice (no HOLD), saying which.
    run = project.run("--", "-k", "health")
    gate = run.gate
    assert gate["verdict"] == "PASS", explain(run)
    skipped = [r for r in gate["results"] if r["outcome"] == "skipped"]
    assert skipped and {r["step"] for r in skipped} == {"readiness", "pat_readiness"}, gate["results"]
    for stem in ("spring-ab", "diwali-sale"):
        # the progress line
        lines = [line for line in run.stdout.splitlines() if line.startswith(f"campaign {stem}:")]
        assert len(lines) == 1, explain(run)
        assert "ready" not in lines[0], lines[0]
        assert "no finding where checked (steps 1 2 passed; 8 not checked, by choice)" in lines[0], lines[0]
        # the readiness matrix in gate.json
        assert gate["matrix"][stem] == {"1": "passed", "2": "passed", "8": "not checked"}, gate["matrix"]
    assert gate["unjudged"] == [] and {e["check"] for e in gate["notChecked"]} >= {"8 · Readiness"}
    # summary.md: the table's readiness column is a skip, never a ✅
    summary = (run.reports / "summary.md").read_text()
    rows = [line for line in summary.splitlines() if line.startswith(f"| pf-{gate['runId']}-")]
    assert rows and all(row.endswith("| ✅ | ✅ | ⏭ not checked (by choice) |") for row in rows), rows
    # the Allure first screen (the variables allurerc.mjs shows above the tree)
    chips = front.variables(gate, view="step")
    assert chips["Ready for spend"] == "0 of 2 campaign(s)", chips
    for stem in ("spring-ab", "diwali-sale"):
        assert chips[stem] == "no finding where checked (not checked, by choice: 8)", chips
        assert "✓" not in chips[stem]
    # the CI annotations: nothing failed, nothing to annotate as an error
    assert not [line for line in annotations(gate) if line.startswith("::error")]
