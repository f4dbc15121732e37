"""Names that could be misspelt silently (failure categories, sandbox faults, what makes a click's hop
wrong) are constants, and a misspelt one fails: at import, when it is used, or here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from preflight.core.categories import Category
from preflight.core.faults import CATALOGUE, FaultName
from preflight.core.hops import Wrong
from preflight.lifecycle.classify import NEXT_STEPS
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.playbook import STEPS
from preflight.sandbox.faults import Faults

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for folder in ("src", "tests", "bench", "suites", "fixtures") for p in (ROOT / folder).rglob("*.py")]
ENUMS = {"Category": Category, "FaultName": FaultName, "Wrong": Wrong}


def trees() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in CODE]


def test_every_named_constant_exists():
    unknown = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}"
        for path, tree in trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ENUMS
        and not node.attr.startswith("_")
        and node.attr not in ENUMS[node.value.id].__members__
        and not hasattr(ENUMS[node.value.id], node.attr)
    ]
    assert unknown == []


def test_the_harness_names_categories_and_faults_by_their_constants_only():
    typed = []
    for path, tree in trees():
        if "src" not in path.relative_to(ROOT).parts[:1]:
            continue
        # `fail` is the lifecycle's (preflight.lifecycle.checks) where a module imports it from there
        checks_fail = any(
            isinstance(n, ast.ImportFrom)
            and n.module == "preflight.lifecycle.checks"
            and any(a.name == "fail" for a in n.names)
            for n in ast.walk(tree)
        )
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0] if node.args else None
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name in ("hit", "wants", "PreflightFailure") + (("fail",) if checks_fail else ()) and literal:
                typed.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}({first.value!r})")
            for keyword in node.keywords:
                if keyword.arg == "category" and isinstance(keyword.value, ast.Constant):
                    typed.append(f"{path.relative_to(ROOT)}:{node.lineno} category={keyword.value.value!r}")
    assert typed == []


def test_a_misspelt_name_fails_where_it_is_used():
    with pytest.raises(ValueError):
        PreflightFailure("helth_not_ready", "a misspelt category")
    faults = Faults()
    with pytest.raises(ValueError):
        faults.hit("slow_answer")  # no fault is on, and still the name is checked
    faults.replace({FaultName.SLOW_ANSWERS: {"rate": 1.0, "delayMs": 0}})
    assert faults.hit(FaultName.SLOW_ANSWERS) is not None and faults.hit("slow_answers") is not None


def test_the_catalogue_and_the_names_agree():
    assert set(CATALOGUE) == set(FaultName) and all(CATALOGUE[name].name is name for name in FaultName)


def test_each_category_has_one_next_step_and_each_step_owns_its_own():
    assert set(NEXT_STEPS) == set(Category)
    owned = [category for step in STEPS.values() for category in step.next_steps]
    assert len(owned) == len(set(owned))
    for step in STEPS.values():
        for category, text in step.next_steps.items():
            assert step.reference in text, (step.name, category)


def test_every_suite_test_is_titled_by_a_whole_sentence():
    """The report titles a test by its docstring's first line: a line cut mid-sentence reads as
    "…tags kept,: spring-a" to someone who has never seen pytest."""
    cut = []
    for path in (ROOT / "suites").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                lines = (ast.get_docstring(node) or "").splitlines()
                whole = lines and lines[0].rstrip().endswith((".", ")")) and (len(lines) == 1 or not lines[1].strip())
                if not whole:
                    cut.append(f"{path.relative_to(ROOT)}::{node.name}: {lines[:1]}")
    assert not cut, "a docstring whose first line is not a whole sentence (the report's title):\n" + "\n".join(cut)
