"""The tree shows the architecture, and keeps showing it: packages import only downwards, module
and class names cannot be mistaken, and no private name of pytest, xdist or allure is used
outside the one adapter that says why (docs/DESIGN.md, "Layout")."""

from __future__ import annotations

import ast
import functools
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "preflight"
# A package may import its own and lower layers only. The sandbox stands beside the harness: it
# reads core's names alone, and only http and above start or call it.
LAYERS = {
    "core": 0,
    "config": 1,
    "sandbox": 1,
    "http": 2,
    "browser": 2,  # the shopper's browser: facts only, which the lifecycle step judges
    "lifecycle": 3,
    "audit": 4,  # the audit of the live campaign: builds on the lifecycle's clicks and checks
    "ops": 4,
    "report": 4,
    "harness": 5,
    "cli": 6,
}
SIDE = {"sandbox": {"core"}}  # what a side package may import
DEPENDENCIES = ("pytest", "_pytest", "xdist", "allure", "allure_commons", "allure_pytest", "pluggy")
# The one place a private name of a dependency is used, and why (see the module's docstring).
ADAPTER = {("harness/xdist_adapter.py", "_split_scope")}


@functools.cache
def modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(SRC)), ast.parse(p.read_text(), str(p))) for p in sorted(SRC.rglob("*.py"))]


def imported(tree: ast.Module) -> list[tuple[str, list[str], int]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
    return out


def test_every_package_imports_only_its_own_and_lower_layers():
    assert {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(LAYERS)
    upward = []
    for path, tree in modules():
        package = path.split("/")[0] if "/" in path else None
        if package is None:
            continue
        for module, _, line in imported(tree):
            parts = module.split(".")
            if parts[0] != "preflight" or len(parts) < 2:
                continue
            other = parts[1]
            if other == package or other not in LAYERS:
                continue
            if not may_import(package, other):
                upward.append(f"{path}:{line} imports preflight.{other}")
    assert not upward, "\n".join(upward)


def may_import(package: str, other: str) -> bool:
    if package in SIDE:
        return other in SIDE[package]
    if other in SIDE:
        return LAYERS[package] >= LAYERS["http"]
    return LAYERS[other] < LAYERS[package]  # ops and report, on one level, stay apart


def test_the_layer_rule_itself():
    assert may_import("harness", "lifecycle") and not may_import("lifecycle", "harness")
    assert not may_import("ops", "report") and not may_import("config", "sandbox")
    assert may_import("sandbox", "core") and not may_import("sandbox", "http") and may_import("http", "sandbox")


def test_no_module_pytest_would_collect_and_no_two_classes_share_a_name():
    named_like_tests = [p for p in SRC.rglob("*.py") if p.name.startswith("test_") or p.stem.endswith("_test")]
    assert not named_like_tests
    classes = Counter(node.name for _, tree in modules() for node in ast.walk(tree) if isinstance(node, ast.ClassDef))
    assert [name for name, count in classes.items() if count > 1] == []


def test_no_private_name_of_pytest_xdist_or_allure_outside_the_adapter():
    ours = set()  # every name our own code defines: a private attribute of ours is fine
    for _, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                ours.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                ours.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                ours.add(node.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                ours.add(node.target.id)
    found = []
    for path, tree in modules():
        dependency_names = {
            alias for module, names, _ in imported(tree) if module.split(".")[0] in DEPENDENCIES for alias in names
        }
        for module, names, line in imported(tree):
            if module.split(".")[0] in DEPENDENCIES and any(_private(part) for part in module.split(".") + names):
                found.append(f"{path}:{line} imports a private name of {module}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in ours:
                found.append(f"{path}:{node.lineno} uses .{node.attr}, which our code does not define")
            if isinstance(node, ast.ClassDef) and any(_base_name(b) in dependency_names for b in node.bases):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and _private(item.name) and (path, item.name) not in ADAPTER:
                        found.append(f"{path}:{item.lineno} overrides {item.name} of a dependency's class")
    # argparse's subparsers type is the standard library's, not a dependency's.
    assert [f for f in found if "_SubParsersAction" not in f] == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


# -- no import circle, and modules a reader can hold in mind ------------------------------------------

# The one module allowed past MAX_LINES: a table, not logic (the fault catalogue: one entry per fault).
LONG_TABLES = {"core/faults.py"}
MAX_LINES = 500


def module_name(path: str) -> str:
    parts = ["preflight", *path[: -len(".py")].split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of src/preflight -> the modules of ours it imports: at the top, inside a function or
    under TYPE_CHECKING alike (a circle through a type-only import is still a circle to a reader)."""
    names = {module_name(path) for path, _ in modules()}
    graph: dict[str, set[str]] = {}
    for path, tree in modules():
        edges = graph.setdefault(module_name(path), set())
        for module, aliases, _ in imported(tree):
            if not module.startswith("preflight"):
                continue
            targets = [f"{module}.{alias}" for alias in aliases if f"{module}.{alias}" in names]
            edges.update(targets or ([module] if module in names else []))
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_type_checking_imports_included():
    graph = import_graph()
    assert "preflight.harness.controller" in graph and graph["preflight.harness.controller"]
    assert circles(graph) == []


def test_the_circle_finder_itself():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_500_lines_but_a_table():
    long = {path for path, _ in modules() if len((SRC / path).read_text().splitlines()) > MAX_LINES}
    assert long <= LONG_TABLES, sorted(long - LONG_TABLES)
