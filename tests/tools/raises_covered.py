"""Every failure branch of the lifecycle's steps, and of the click library they share, fires under
the fault matrix.

Reads the coverage data of a `coverage run` of the fault matrices (`make test` makes it from
tests/harness/test_fault_matrix.py, test_landing.py, test_visual.py and test_analytics.py: branch coverage of
src/preflight/lifecycle/steps/ and src/preflight/lifecycle/clicks.py, pyproject's `source_pkgs`, in
every `preflight run` subprocess) and checks that each failure branch of those modules fired at
least once: each `raise` statement
ran, and each value check (`expect_equal(...)`, `expect_reason(...)`, a statement of its own)
raised at least once, which branch coverage records as an arc from its line out of the function.
Prints the figure and every branch no fault reached; exits 1 when there is one.

    .venv/bin/python tests/tools/raises_covered.py [COVERAGE_DATA_FILE]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE = ROOT / "src" / "preflight" / "lifecycle"
STEPS = LIFECYCLE / "steps"
# The modules whose failures count: every step, and the click library the steps and the audit share
# (a click's hops judged once for the HTTP client and the browser). Keep in step with pyproject's
# [tool.coverage.run] source_pkgs.
SHARED = (LIFECYCLE / "clicks.py",)
WHERE = "lifecycle/steps and lifecycle/clicks.py"


VALUE_CHECKS = ("expect_equal", "expect_reason")


def raises(path: Path) -> list[int]:
    return sorted(node.lineno for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Raise))


def value_checks(path: Path) -> list[int]:
    """The lines of statements that call a value check (its result ignored or assigned)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) in VALUE_CHECKS:
            found.append(node.lineno)
    return sorted(found)


def counted() -> list[Path]:
    return sorted(STEPS.glob("*.py")) + list(SHARED)


def main(data_file: str) -> int:
    cov = coverage.Coverage(data_file=data_file)
    cov.load()
    data = cov.get_data()
    measured = {Path(name).resolve(): name for name in data.measured_files()}
    if not any(STEPS.resolve() in path.parents for path in measured):
        # e.g. the package imported from another checkout (an editable install elsewhere)
        print(
            f"raises_covered: {data_file} holds no coverage of {STEPS.relative_to(ROOT)} in this checkout "
            f"({len(measured)} file(s) measured elsewhere): run the matrices under coverage here (make test), "
            "with preflight imported from this checkout's src/"
        )
        return 1
    missing, total = [], 0
    for path in counted():
        name = measured.get(path.resolve())
        ran = set(data.lines(name) or []) if name else set()
        raised = {a for a, b in (data.arcs(name) or []) if b < 0} if name else set()
        source = path.read_text().splitlines()
        for n in raises(path):
            total += 1
            if n not in ran:
                missing.append(f"{path.relative_to(ROOT)}:{n}: {source[n - 1].strip()}")
        for n in value_checks(path):
            total += 1
            if n not in raised:
                missing.append(f"{path.relative_to(ROOT)}:{n}: {source[n - 1].strip()} (never failed)")
    percent = cov.report(include=[str(path) for path in counted()], file=open("/dev/null", "w"))  # noqa: SIM115
    print(
        f"failure branches of {WHERE} fired by the fault matrix: {total - len(missing)} of {total}; "
        f"coverage of {WHERE} (statements and branches): {percent:.1f}%"
    )
    for line in missing:
        print(f"  no fault reaches {line}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "reports" / "coverage" / ".coverage")))
