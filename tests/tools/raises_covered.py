"""Every finding, and every branch that cannot judge, fires under the fault matrices.

Reads the coverage data of a `coverage run` of the fault matrices (`make test` makes it from the
Makefile's MATRIX: branch coverage, in every `preflight run` subprocess, of pyproject's `source_pkgs`)
and checks that each finding of the lifecycle's steps (with the click library and the checks they
share), of the audit and of the browser fired at least once. What counts as a finding that fired:

- a `raise X` statement (a PreflightFailure, an Unjudged, a NotChecked, or one made elsewhere) whose
  line ran. Where one raise serves several findings (the branches before it pick its message and
  cause, e.g. "no visible form" or "a form without an email field"), each branch into it is a finding
  of its own, fired when coverage recorded that arc into the raise line;
- a `return fail(...)` / `return Unjudged(...)` of a helper that builds a finding for its caller to
  raise: the same, per branch into it (e.g. "the site dropped the tag" vs "the platform lost it");
- a value check (`expect_equal(...)`, `expect_reason(...)`, a statement of its own, or an `expect_status(...)`
  alone in the `if` that tests for the failure, e.g. route-preview answering other than 200) that raised: an
  arc from its line out of its function, which only an exception makes when the check is not the last
  statement its function runs. A check that is (a normal return records the same arc) cannot be told
  apart: it is listed as such, to be moved or followed by an explicit statement.

Prints "findings fired per package (steps, audit, browser): N of M" and every finding no case
fires; exits 1 when there is one.

    .venv/bin/python tests/tools/raises_covered.py [COVERAGE_DATA_FILE]
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import coverage
from coverage.parser import PythonParser

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "src" / "preflight"
LIFECYCLE = PKG / "lifecycle"
# Each package's modules, as pyproject's [tool.coverage.run] source_pkgs measures them (keep in step).
PACKAGES = {
    "steps": lambda: [*sorted((LIFECYCLE / "steps").glob("*.py")), LIFECYCLE / "clicks.py", LIFECYCLE / "checks.py"],
    "audit": lambda: sorted((PKG / "audit").glob("*.py")),
    "browser": lambda: sorted((PKG / "browser").glob("*.py")),
}
VALUE_CHECKS = ("expect_equal", "expect_reason")
# Checks of an answer that mostly pass; called alone in an `if` that tests for the failure, they are one.
ANSWER_CHECKS = ("expect_status", "expect_json_object")
# What a `return X(...)` builds for its caller to raise.
BUILDERS = ("fail", "PreflightFailure", "Unjudged", "NotChecked", "failure_from_exchange")
KINDS = {"Unjudged": "unjudged", "NotChecked": "not checked"}


@dataclass(frozen=True)
class Site:
    path: Path
    line: int  # the statement
    kind: str  # finding, unjudged, not checked, value check
    via: int | None = None  # the branch into it, when several lead there

    def where(self) -> str:
        text = self.path.read_text().splitlines()[self.line - 1].strip()
        branch = ""
        if self.via is not None:
            branch = f" (the branch from line {self.via}: {self.path.read_text().splitlines()[self.via - 1].strip()})"
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.kind}: {text}{branch}"


def _called(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _kind(node: ast.AST | None) -> str:
    return KINDS.get(_called(node) or "", "finding")


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def sites(path: Path) -> tuple[list[Site], list[Site]]:
    """(the findings of a module, its value checks that a normal return cannot be told from)."""
    tree = ast.parse(path.read_text())
    parser = PythonParser(filename=str(path))
    parser.parse_source()
    arcs = parser.arcs()
    found: list[Site] = []
    ambiguous: list[Site] = []
    guarded = {
        node.body[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and len(node.body) == 1
        and isinstance(node.body[0], ast.Expr)
        and _called(node.body[0].value) in ANSWER_CHECKS
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            statement, kind, built = node, _kind(node.exc), _called(node.exc) in BUILDERS
        elif isinstance(node, ast.Return) and _called(node.value) in BUILDERS:
            statement, kind, built = node, _kind(node.value), True
        elif isinstance(node, ast.Expr | ast.Assign) and (_called(node.value) in VALUE_CHECKS or node in guarded):
            site = Site(path, node.lineno, "value check")
            if any(a == node.lineno and b < 0 for a, b in arcs):  # its normal end leaves the function too
                ambiguous.append(site)
            else:
                found.append(site)
            continue
        else:
            continue
        into = sorted({a for a, b in arcs if b == statement.lineno and a > 0 and a != statement.lineno})
        # A finding built here with several ways in (the branches before it pick what it says): one per way.
        if built and len(into) > 1:
            found.extend(Site(path, statement.lineno, kind, via) for via in into)
        else:
            found.append(Site(path, statement.lineno, kind))
    return found, ambiguous


def fired(site: Site, ran: set[int], arcs: set[tuple[int, int]]) -> bool:
    if site.kind == "value check":
        return any(a == site.line and b < 0 for a, b in arcs)
    if site.via is not None:
        return (site.via, site.line) in arcs
    return site.line in ran


def main(data_file: str) -> int:
    cov = coverage.Coverage(data_file=data_file)
    cov.load()
    data = cov.get_data()
    measured = {Path(name).resolve(): name for name in data.measured_files()}
    absent = [name for name, modules in PACKAGES.items() if not any(path.resolve() in measured for path in modules())]
    if absent:
        # e.g. the package imported from another checkout (an editable install elsewhere), or left out of source_pkgs
        print(
            f"raises_covered: {data_file} holds no coverage of {', '.join(absent)} in this checkout "
            f"({len(measured)} file(s) measured): run the matrices under coverage here (make test), with preflight "
            "imported from this checkout's src/ and pyproject's source_pkgs naming every package"
        )
        return 1
    figures, missing, unclear = [], [], []
    for package, modules in PACKAGES.items():
        total = hit = 0
        for path in modules():
            name = measured.get(path.resolve())
            ran = set(data.lines(name) or []) if name else set()
            arcs = set(data.arcs(name) or []) if name else set()
            found, ambiguous = sites(path)
            unclear.extend(ambiguous)
            for site in found:
                total += 1
                if fired(site, ran, arcs):
                    hit += 1
                else:
                    missing.append(site)
        figures.append(f"{package} {hit} of {total}")
    print(f"findings fired per package (steps, audit, browser): {', '.join(figures)}")
    for site in missing:
        print(f"  no case fires {site.where()}")
    for site in unclear:
        print(
            f"  cannot tell whether it fired (a normal return records the same arc: put a statement after it) "
            f"{site.where()}"
        )
    return 1 if missing or unclear else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "reports" / "coverage" / ".coverage")))
