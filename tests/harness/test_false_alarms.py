"""No false alarms: a healthy sandbox passes `preflight run` five times in a row, on the
default two xdist workers, with the same tests, the same outcomes and the same data each time.
(bench/false_alarms.py does the same thirty times and records the count in bench/RESULTS.md.)"""

from __future__ import annotations

from test_fault_matrix import run_checked, why

RUNS = 5


def test_healthy_sandbox_passes_five_runs_in_a_row(project, sandbox):
    first_outcomes = first_stats = None
    for attempt in range(1, RUNS + 1):
        sandbox.reset()
        run = run_checked(project, sandbox.db)  # default workers: -n 2
        failures = [f"{r['nodeid']} [{r['category']}] {(r['message'] or '').splitlines()[:1]}" for r in run.failures()]
        assert (run.code, run.gate["verdict"], failures) == (0, "PASS", []), (
            f"run {attempt}/{RUNS} on a healthy sandbox: expected PASS with no failure, got exit {run.code}, "
            f"verdict {run.gate['verdict']}, failures {failures}" + why(run)
        )
        outcomes = sorted((r["nodeid"], r["outcome"]) for r in run.gate["results"])
        stats = sandbox.stats()
        if first_outcomes is None:
            first_outcomes, first_stats = outcomes, stats
            assert sum(outcome == "passed" for _, outcome in outcomes) >= 40, (
                f"expected the suites' 40+ tests to pass, got {outcomes}" + why(run)
            )
        assert outcomes == first_outcomes, (
            f"run {attempt}: expected the same tests and outcomes as run 1; differing: "
            f"{sorted(set(outcomes) ^ set(first_outcomes))}" + why(run)
        )
        assert stats == first_stats, (
            f"run {attempt}: expected the same data as run 1 {first_stats}, the sandbox counted {stats}" + why(run)
        )
