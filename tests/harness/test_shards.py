"""`preflight run --shard I/N` and `preflight merge`, end to end against a real sandbox.

One module-scoped pair of real shard runs of the shipped config (2 shards: diwali-sale on the
first, spring-ab on the second), the first one with a platform fault on (FAIL), the second clean
(PASS); each merge test joins their reports folders, as given or edited, the way CI would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from harness_helpers import _env, explain, make_project

from preflight.lifecycle.shard import assign


def merge(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "preflight", "merge", *args, "--no-html"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )


def gate_of(folder: Path) -> dict:
    return json.loads((folder / "gate.json").read_text())


@pytest.fixture(scope="module")
def shards(tmp_path_factory, sandbox):
    sandbox.reset()
    project = make_project(tmp_path_factory.mktemp("shards") / "project", sandbox=sandbox)
    assert assign(["spring-ab", "diwali-sale"], 2) == {1: ["diwali-sale"], 2: ["spring-ab"]}
    # Without xdist (-n 0), so pytest itself says what the shard deselected.
    second = project.run("-n", "0", "--shard", "2/2", "--reports", "reports/shard-2")
    token = sandbox.mint_jwt("gharart")
    meters = sandbox.admin.get("/v2/handles/gharart/usage-meters", headers={"authorization": f"Bearer {token}"}).json()
    first = project.run("--shard", "1/2", "--reports", "reports/shard-1", faults={"schema_fetch_fails": {}})
    # The same platform fault seen on the other shard too: one root cause across two shards.
    second_failing = project.run(
        "--shard", "2/2", "--reports", "reports/shard-2-failing", faults={"schema_fetch_fails": {}}
    )
    sandbox.set_faults({})
    reports = project.path / "reports"
    return SimpleNamespace(
        project=project,
        path=project.path,
        first=first,
        second=second,
        writes_second=meters,
        second_failing=second_failing,
        s1=reports / "shard-1",
        s2=reports / "shard-2",
        s2_failing=reports / "shard-2-failing",
    )


def test_a_shard_runs_its_own_campaigns_and_deselects_the_others(shards):
    run = shards.second
    assert run.code == 0, explain(run)
    assert "28 deselected" in run.stdout, explain(run)
    gate = gate_of(shards.s2)
    assert gate["verdict"] == "PASS"
    assert gate["shard"] == {
        "index": 2,
        "total": 2,
        "campaigns": ["spring-ab"],
        "configured": ["spring-ab", "diwali-sale"],
    }
    assert (gate["tests"]["planned"], gate["tests"]["selected"], gate["tests"]["ran"]) == (53, 25, 25)
    assert gate["tests"]["selection"] == "--shard 2/2"
    assert {r["campaign"] for r in gate["results"]} == {"spring-ab"}
    summary = (shards.s2 / "summary.md").read_text()
    assert "Shard 2/2: campaign(s) spring-ab of the 2 configured." in summary


def test_a_shard_of_one_campaign_borrows_a_decoy_and_its_plan_counts_every_write(shards):
    plan = gate_of(shards.s2)["writePlan"]
    # spring-ab alone: its foreign ctx comes from a one-link decoy, never from diwali-sale (shard 1's).
    assert plan["byCampaign"] == {"spring-ab": 7, "spring-ab-x": 2}
    assert shards.writes_second["writesToday"] == plan["writesTotal"] == 9
    foreign = [r for r in gate_of(shards.s2)["results"] if "test_foreign_ctx_refused" in r["nodeid"]]
    assert [r["outcome"] for r in foreign] == ["passed"]
    # `preflight plan --shard` says the same before any run.
    planned = subprocess.run(
        [sys.executable, "-m", "preflight", "plan", "--shard", "2/2", "--json"],
        cwd=shards.path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert planned.returncode == 0, planned.stderr
    doc = json.loads(planned.stdout)
    assert (doc["byCampaign"], doc["writesTotal"]) == (plan["byCampaign"], 9)


def test_the_order_of_the_config_does_not_move_a_campaign(shards, tmp_path):
    """The same shard selects the same tests when the config lists its campaigns the other way round."""

    def collected(config: Path) -> set[str]:
        out = tmp_path / f"{config.stem}.json"
        done = shards.project.pytest(
            "suites",
            "--collect-only",
            "-q",
            "--preflight-config",
            str(config),
            "--shard",
            "2/2",
            "--preflight-collect-to",
            str(out),
        )
        assert out.is_file(), done.stdout + done.stderr
        return {item["nodeid"] for item in json.loads(out.read_text())["selected"]}

    config = yaml.safe_load(shards.project.config_file.read_text())
    reversed_file = shards.project.config_file.with_name("reversed.yaml")
    reversed_file.write_text(yaml.safe_dump({**config, "campaigns": config["campaigns"][::-1]}, sort_keys=False))
    ids = collected(shards.project.config_file)
    assert ids == collected(reversed_file) and len(ids) == 25 and all("spring-ab" in i for i in ids)


def test_the_merge_of_a_fail_and_a_pass_shard_is_fail_with_every_result(shards, tmp_path):
    assert shards.first.code == 1, explain(shards.first)
    out = tmp_path / "merged"
    done = merge(shards.path, str(shards.s1), str(shards.s2), "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    gate = gate_of(out)
    assert gate["verdict"] == "FAIL" and gate["exitCode"] == 1
    assert len(gate["results"]) == 53 and gate["tests"]["planned"] == 53 and gate["tests"]["selected"] == 53
    failed = [r for r in gate["results"] if r["outcome"] == "failed"]
    assert [r["nodeid"] for r in failed] == ["suites/test_publish.py::test_schema_fetch_matches_publish[diwali-sale]"]
    [esc] = gate["escalations"]
    assert Path(esc["file"]).parent == out / "escalations" and Path(esc["file"]).is_file()
    assert failed[0]["escalation"] == esc["file"]
    assert [s["verdict"] for s in gate["shards"]] == ["FAIL", "PASS"]
    # `preflight gate` reads the merged folder as it reads one run's.
    judged = subprocess.run(
        [sys.executable, "-m", "preflight", "gate", "--reports", str(out), "--github"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    assert judged.returncode == 1
    assert "::error file=suites/test_publish.py,title=[schema_fetch] test_schema_fetch_matches_publish" in judged.stdout
    assert (out / "junit.xml").is_file()
    assert (out / "summary.md").read_text().startswith("## campaign-preflight: ❌ FAIL")


def test_one_root_cause_on_two_shards_is_one_escalation_listing_both(shards, tmp_path):
    assert shards.second_failing.code == 1, explain(shards.second_failing)
    out = tmp_path / "merged"
    done = merge(shards.path, str(shards.s1), str(shards.s2_failing), "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    gate = gate_of(out)
    failing = {
        f"suites/test_publish.py::test_schema_fetch_matches_publish[{stem}]" for stem in ("spring-ab", "diwali-sale")
    }
    [esc] = gate["escalations"]  # as one run of both campaigns would have it
    assert set(esc["tests"]) == failing and esc["campaigns"] == sorted({r["campaignId"] for r in gate["results"]})
    assert [p.name for p in (out / "escalations").iterdir()] == [Path(esc["file"]).name]
    payload = json.loads(Path(esc["file"]).read_text())
    assert {a["test"] for a in payload["reproArtifact"]["affected"]} == failing
    assert payload["summary"].endswith(f"(seen by 2 test(s) on {', '.join(esc['campaigns'])})"), payload["summary"]
    shard_ids = [
        i for folder in (shards.s1, shards.s2_failing) for e in gate_of(folder)["escalations"] for i in e["requestIds"]
    ]
    assert set(payload["reproArtifact"]["requestIds"]) == set(shard_ids) and len(shard_ids) >= 2
    assert {r["escalation"] for r in gate["results"] if r["outcome"] == "failed"} == {esc["file"]}


def test_a_missing_shard_makes_the_merge_error_naming_it(shards, tmp_path):
    out = tmp_path / "merged"
    done = merge(shards.path, str(shards.s2), "--out", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    gate = gate_of(out)
    assert gate["verdict"] == "ERROR"
    assert gate["reason"] == (
        "the shards do not make a whole run: shard 1/2 is missing (campaigns diwali-sale): "
        "no folder given holds its gate"
    )
    assert "preflight merge: shard 1/2 is missing (campaigns diwali-sale)" in done.stderr


def test_a_shard_folder_without_its_gate_is_missing_too(shards, tmp_path):
    empty = tmp_path / "shard-1"
    empty.mkdir()
    done = merge(shards.path, str(empty), str(shards.s2), "--out", str(tmp_path / "merged"))
    assert done.returncode == 2
    reason = gate_of(tmp_path / "merged")["reason"]
    assert f"{empty}: no gate.json" in reason and "shard 1/2 is missing" in reason, reason


def test_an_error_shard_makes_the_merge_error_even_beside_a_fail(shards, tmp_path):
    broken = tmp_path / "shard-2"
    shutil.copytree(shards.s2, broken)
    gate = gate_of(broken)
    gate.update(verdict="ERROR", exitCode=2, reason="interrupted by SIGTERM: 3 of 24 selected tests ran")
    (broken / "gate.json").write_text(json.dumps(gate))
    done = merge(shards.path, str(shards.s1), str(broken), "--out", str(tmp_path / "merged"))
    assert done.returncode == 2
    assert gate_of(tmp_path / "merged")["reason"] == (
        "the shards do not make a whole run: shard 2/2 is ERROR: interrupted by SIGTERM: 3 of 24 selected tests ran"
    )


def test_a_shard_given_twice_or_a_campaign_run_twice_is_error(shards, tmp_path):
    done = merge(shards.path, str(shards.s1), str(shards.s2), str(shards.s2), "--out", str(tmp_path / "twice"))
    assert done.returncode == 2
    assert f"shard 2/2 is given twice: {shards.s2}, {shards.s2}" in gate_of(tmp_path / "twice")["reason"]
    # A shard that ran a campaign the hash gives to another (another harness version?) is caught too.
    odd = tmp_path / "shard-2"
    shutil.copytree(shards.s2, odd)
    gate = gate_of(odd)
    gate["shard"]["campaigns"] = ["spring-ab", "diwali-sale"]
    (odd / "gate.json").write_text(json.dumps(gate))
    done = merge(shards.path, str(shards.s1), str(odd), "--out", str(tmp_path / "odd"))
    assert done.returncode == 2
    assert "campaign diwali-sale ran on 2 shards (shard 1/2, shard 2/2)" in gate_of(tmp_path / "odd")["reason"]


def test_more_shards_expected_than_came_is_error(shards, tmp_path):
    done = merge(shards.path, str(shards.s1), str(shards.s2), "--expect", "3", "--out", str(tmp_path / "merged"))
    assert done.returncode == 2
    assert "the shards disagree on how many there are: 2, 3" in gate_of(tmp_path / "merged")["reason"]


@pytest.mark.parametrize(
    "value, why",
    [
        ("4/3", "--shard '4/3': shard 4 of 3 does not exist"),
        ("x", "--shard 'x' is not I/N"),
        ("1/0", "--shard '1/0': there must be at least one shard"),
    ],
)
def test_a_bad_shard_is_a_one_line_usage_error(embedded_project, value, why):
    run = embedded_project.run("--shard", value)
    lines = run.stderr.strip().splitlines()
    assert run.code == 2 and len(lines) == 1, explain(run)
    assert (
        lines[0] == f"preflight run: {why}; give I/N, the shard's number I from 1 to N and the number of "
        "shards N, e.g. --shard 1/3"
    )
    assert not (embedded_project.path / "reports" / "gate.json").exists()


def test_a_bad_shard_under_plain_pytest_is_error_before_anything_starts(embedded_project):
    done = embedded_project.pytest("suites", "--shard", "4/3")
    assert done.returncode == 2, done.stdout + done.stderr
    gate = gate_of(embedded_project.path / "reports")
    assert gate["verdict"] == "ERROR" and gate["results"] == []
    assert gate["reason"].startswith("the run could not start its tests: --shard '4/3': shard 4 of 3 does not exist")
    assert "Traceback" not in done.stdout + done.stderr
