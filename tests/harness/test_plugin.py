"""The pytest plugin, run the way pytest-httpx tests its plugin: real pytest runs (pytester)
of generated suites in a copy of the project, against real sandbox processes.

Every run here is a subprocess (`runpytest_subprocess`), so each one sees exactly what a
user sees: its exit code, its terminal, the files it leaves behind. Hypothesis' and
schemathesis' pytest plugins (dev dependencies, unrelated to the harness) are switched off
in those runs only because importing them costs seconds per process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from harness_helpers import SandboxWatch, explain, make_project, write_target

from preflight.lifecycle.playbook import STEPS

QUIET = ("-p", "no:hypothesispytest", "-p", "no:schemathesis")
CAMPAIGNS = {"spring-ab": ["spring-a", "spring-b"], "diwali-sale": ["diwali-a", "diwali-b", "diwali-c"]}
UC07 = ["health", "pat_health", "lead_capture", "test_conversion", "publish", "conversion", "readiness"]

# A suite written in reverse UC-07 order: the plugin must put it back in order. It uses the
# plugin's fixtures (platform, run_id, campaign, variant) and the project's reusable ones
# (throwaway_campaign, fresh_ctx), and logs what each test saw to flow.jsonl.
FLOW_SUITE = """
import json
import os
from pathlib import Path

import pytest

from preflight.http.client import idempotency_key

LOG = Path(__file__).resolve().parent.parent / "flow.jsonl"


def log(request, step, campaign, **fields):
    entry = {"nodeid": request.node.nodeid, "step": step, "campaign": campaign.stem,
             "worker": os.environ.get("PYTEST_XDIST_WORKER", "-"), "pid": os.getpid(), **fields}
    with LOG.open("a") as out:
        out.write(json.dumps(entry) + "\\n")


@pytest.mark.preflight_step("readiness")
def test_7_readiness(request, campaign, platform, throwaway_campaign):
    ex = platform.call("campaign_health", step="readiness", campaignId=throwaway_campaign.campaign_id)
    assert ex.status == 200, ex.label
    log(request, "readiness", campaign, checks=[c["id"] for c in ex.response_body["checks"]])


@pytest.mark.preflight_step("conversion")
def test_6_conversion(request, campaign, variant, fresh_ctx, run_id):
    ctx = fresh_ctx(variant.slug)
    log(request, "conversion", campaign, variant=variant.slug, slug=ctx.slug, ctxCampaign=ctx.campaign_id,
        runId=run_id)


@pytest.mark.preflight_step("publish")
def test_5_publish(request, campaign, throwaway_campaign):
    log(request, "publish", campaign, campaignId=throwaway_campaign.campaign_id)


@pytest.mark.preflight_step("test_conversion")
def test_4_test_conversion(request, campaign, variant, platform, throwaway_campaign, fresh_ctx, run_id):
    ctx = fresh_ctx(variant.slug)
    key = idempotency_key(run_id, "test_conversion", throwaway_campaign.campaign_id, ctx.slug, "generated")
    ex = platform.call("test_conversion", step="test_conversion", key=key, json_body={"ctx": ctx.token},
                       campaignId=throwaway_campaign.campaign_id)
    assert ex.status == 201, ex.label
    log(request, "test_conversion", campaign, variant=variant.slug, slug=ex.response_body["slug"])


@pytest.mark.preflight_step("lead_capture")
@pytest.mark.preflight_goal("LEAD_CAPTURE")
def test_3_lead_capture(request, campaign, throwaway_campaign):
    log(request, "lead_capture", campaign, goal=throwaway_campaign.goal_type)


@pytest.mark.preflight_step("pat_health")
def test_2_pat_health(request, campaign, platform, throwaway_campaign):
    ex = platform.call("public_campaign_health", step="pat_health", campaignId=throwaway_campaign.campaign_id)
    assert ex.status == 200, ex.label
    log(request, "pat_health", campaign)


@pytest.mark.preflight_step("health")
def test_1_health(request, campaign, run_id, throwaway_campaign):
    log(request, "health", campaign, runId=run_id, campaignId=throwaway_campaign.campaign_id,
        slugs=throwaway_campaign.slugs)
"""

# One test per campaign (so one per xdist worker), asking the run's sandbox what it saw.
PROBE_SUITE = """
import json
import os
from pathlib import Path

import httpx
import pytest

LOG = Path(__file__).resolve().parent.parent / "probe.jsonl"


@pytest.mark.preflight_step("health")
def test_probe(campaign, preflight):
    url = preflight.runtime.base_url
    log = httpx.get(url + "/__sandbox/requests", params={"limit": 10000}).json()["items"]
    entry = {"campaign": campaign.stem, "worker": os.environ.get("PYTEST_XDIST_WORKER", "-"),
             "pid": os.getpid(), "ppid": os.getppid(), "url": url, "embedded": preflight.runtime.sandbox,
             "tokenMints": sum(1 for e in log if e["method"] == "POST" and e["path"] == "/__sandbox/tokens"),
             "sandboxHere": getattr(getattr(preflight, "opened", None), "sandbox", None) is not None}
    with LOG.open("a") as out:
        out.write(json.dumps(entry) + "\\n")
"""


@pytest.fixture
def tree(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's suites, fixtures, conftest and config copied into pytester.path."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PREFLIGHT_JWT", "PREFLIGHT_PAT"):
        monkeypatch.delenv(name, raising=False)
    make_project(pytester.path)
    return pytester.path


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*QUIET, *args, timeout=180)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def gate(root: Path) -> dict:
    return json.loads((root / "reports" / "gate.json").read_text())


def stderr_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.errlines if line.strip()]


def expected_sequence(stem: str) -> list[tuple[str, str | None]]:
    """(step, variant) in the order a campaign's generated tests must run."""
    seq: list[tuple[str, str | None]] = [("health", None), ("pat_health", None)]
    if stem == "spring-ab":
        seq.append(("lead_capture", None))
    seq += [("test_conversion", v) for v in CAMPAIGNS[stem]]
    seq.append(("publish", None))
    seq += [("conversion", v) for v in CAMPAIGNS[stem]]
    seq.append(("readiness", None))
    return seq


def sequence(entries: list[dict]) -> list[tuple[str, str | None]]:
    return [(e["step"], e.get("variant")) for e in entries]


def check_flow(root: Path, result: pytest.RunResult, sandbox, target_name: str) -> list[dict]:
    """What both flow runs (with and without xdist) must show; returns the log entries."""
    why = explain(result)
    assert result.ret == 0, why
    result.assert_outcomes(passed=19)
    header = [line for line in result.outlines if line.startswith("preflight: run ")]
    assert len(header) == 1, why
    run_id = gate(root)["runId"]
    assert header[0] == (
        f"preflight: run {run_id}, target {target_name} ({sandbox.url}), handle gharart, 2 campaign(s)"
    ), why
    entries = read_jsonl(root / "flow.jsonl")
    assert len(entries) == 19, why
    suffix = __import__("hashlib").sha256(run_id.encode()).hexdigest()[:6]
    for stem, variants in CAMPAIGNS.items():
        mine = [e for e in entries if e["campaign"] == stem]
        assert sequence(mine) == expected_sequence(stem), f"{stem}: {sequence(mine)}{why}"
        health = mine[0]
        assert health["runId"] == run_id
        assert health["campaignId"] == f"pf-{run_id}-{stem}"
        assert health["slugs"] == [f"{v}-{suffix}" for v in variants]
        for entry in mine:
            if entry["step"] in ("conversion", "test_conversion"):
                assert entry["slug"] == f"{entry['variant']}-{suffix}", entry
            if entry["step"] == "conversion":
                assert entry["ctxCampaign"] == f"pf-{run_id}-{stem}", entry
        assert mine[-1]["checks"] == ["primary_link", "traffic_tags", "click_seen", "conversion_signal", "detail_page"]
    spring = [e for e in entries if e["campaign"] == "spring-ab"]
    assert [e["step"] for e in spring].count("lead_capture") == 1  # preflight_goal kept it off diwali-sale
    ids = [e["nodeid"] for e in entries]
    assert "flow/test_flow.py::test_4_test_conversion[spring-ab:spring-b]" in ids
    assert "flow/test_flow.py::test_7_readiness[diwali-sale]" in ids
    # Each throwaway campaign was created once, by the one process that ran its tests.
    stats = sandbox.stats()
    assert (stats["campaigns"], stats["links"], stats["testConversions"]) == (2, 5, 5), stats
    doc = gate(root)
    assert doc["verdict"] == "PASS" and doc["target"] == target_name, doc
    assert sorted(r["nodeid"] for r in doc["results"]) == sorted(ids)
    assert {r["outcome"] for r in doc["results"]} == {"passed"}
    steps = {r["nodeid"]: r["step"] for r in doc["results"]}
    assert all(steps[e["nodeid"]] == e["step"] for e in entries)
    return entries


# -- the lifecycle, with and without xdist -------------------------------------------------------


def test_flow_without_xdist_runs_in_uc07_order(pytester, tree, sandbox):
    """`-p no:xdist` (so pytest_configure_node and the scheduler hook have no hookspec) and
    `--target <name>`: the generated suite runs in UC-07 order, not file order."""
    sandbox.reset()
    write_target(tree, sandbox.url, name="attached")
    (tree / "flow").mkdir()
    (tree / "flow" / "test_flow.py").write_text(FLOW_SUITE)
    with SandboxWatch() as watch:
        result = run(pytester, "flow", "-p", "no:xdist", "--target", "attached", "-v")
    entries = check_flow(tree, result, sandbox, "attached")
    assert {e["worker"] for e in entries} == {"-"}
    assert len({e["pid"] for e in entries}) == 1
    order = [STEPS[e["step"]].order for e in entries]
    assert order == sorted(order), [e["step"] for e in entries]
    assert [e["step"] for e in entries][:4] == ["health", "health", "pat_health", "pat_health"]
    assert watch.started == {}, f"an attached run started a sandbox: {watch.started}"


def test_flow_with_two_workers_groups_each_campaign(pytester, tree, sandbox):
    """`-n 2 --dist loadgroup` and `--target <path>`: the campaigns go to different workers,
    and each campaign's steps stay on its worker, in UC-07 order."""
    sandbox.reset()
    write_target(tree, sandbox.url, dest=tree / "elsewhere" / "shared-sandbox.yaml", name=None)
    (tree / "flow").mkdir()
    (tree / "flow" / "test_flow.py").write_text(FLOW_SUITE)
    with SandboxWatch() as watch:
        result = run(pytester, "flow", "-n", "2", "--dist", "loadgroup", "--target", "elsewhere/shared-sandbox.yaml")
    entries = check_flow(tree, result, sandbox, "shared-sandbox")
    why = explain(result)
    workers = {stem: {e["worker"] for e in entries if e["campaign"] == stem} for stem in CAMPAIGNS}
    assert all(len(w) == 1 for w in workers.values()), f"a campaign was split over workers: {workers}{why}"
    assert workers["spring-ab"] | workers["diwali-sale"] == {"gw0", "gw1"}, f"{workers}{why}"
    for worker in ("gw0", "gw1"):
        # The log is appended in execution order, so a worker's lines are its run order.
        mine = [e for e in entries if e["worker"] == worker]
        (stem,) = {e["campaign"] for e in mine}
        assert sequence(mine) == expected_sequence(stem), f"{worker}: {sequence(mine)}{why}"
    assert watch.started == {}, f"an attached run started a sandbox: {watch.started}"


# -- the embedded sandbox: started once by the controller, stopped at the end --------------------


@pytest.mark.parametrize("xdist", [(), ("-n", "2", "--dist", "loadgroup")], ids=["serial", "xdist"])
def test_embedded_sandbox_starts_and_stops_exactly_once(pytester, tree, xdist):
    (tree / "probe").mkdir()
    (tree / "probe" / "test_probe.py").write_text(PROBE_SUITE)
    with SandboxWatch() as watch:
        result = run(pytester, "probe", *xdist)
    why = explain(result)
    assert result.ret == 0, why
    result.assert_outcomes(passed=2)
    entries = read_jsonl(tree / "probe.jsonl")
    assert len(entries) == 2, why
    (url,) = {e["url"] for e in entries}  # every process used the same sandbox
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    assert all(e["embedded"] for e in entries)
    assert [e["tokenMints"] for e in entries] == [2, 2], "tokens were minted more than once (JWT + PAT)"
    assert len(watch.started) == 1, f"expected one sandbox process, saw {watch.started}{why}"
    ((pid, info),) = watch.started.items()
    assert info["cmdline"].split()[1:4] == ["-m", "preflight", "sandbox"], info
    if xdist:
        assert {e["worker"] for e in entries} == {"gw0", "gw1"}, entries
        assert not any(e["sandboxHere"] for e in entries), "a worker owns a sandbox process"
        # The workers' parent (the controller) started it.
        assert {e["ppid"] for e in entries} == {info["ppid"]}, (entries, info)
    else:
        assert [e["sandboxHere"] for e in entries] == [True, True]
        assert {e["pid"] for e in entries} == {info["ppid"]}, (entries, info)
    # The process is gone, so nothing of it serves its port (a probe of the port itself would race with
    # another test's server taking the freed port).
    assert watch.alive() == [], f"sandbox {pid} still running after the run: {info}"
    assert gate(tree)["verdict"] == "PASS"


# -- a folder without config: the plugin stays disarmed -----------------------------------------


def test_plugin_stays_disarmed_without_config(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeini("[pytest]\n")
    pytester.makepyfile(
        test_plain="""
import pytest

def test_arithmetic():
    assert 1 + 1 == 2

def test_plugin_fixtures_absent(request):
    with pytest.raises(pytest.FixtureLookupError):
        request.getfixturevalue("platform")

@pytest.mark.parametrize("n", [1, 2])
def test_params_untouched(n):
    assert n in (1, 2)
"""
    )
    with SandboxWatch() as watch:
        result = run(pytester, "-p", "no:cacheprovider")
    why = explain(result)
    assert result.ret == 0, why
    result.assert_outcomes(passed=4)
    assert not any(line.startswith("preflight:") for line in result.outlines), why
    assert "campaign preflight" not in result.stdout.str()
    assert not (pytester.path / "reports").exists(), "a disarmed run wrote reports/"
    assert watch.started == {}, f"a disarmed run started a sandbox: {watch.started}"


# -- problems before the start: one line each, exit 4, gate ERROR, no sandbox, no traceback -------


def check_cannot_start(
    pytester, tree, result, expected_lines: list[str], watch: SandboxWatch, category: str = "config"
) -> None:
    """A run that cannot start: verdict ERROR, exit 2, one terminal line per problem (as in the gate),
    no traceback, no test, no sandbox started."""
    why = explain(result)
    assert result.ret == 2, why
    out = result.outlines
    head = next(i for i, line in enumerate(out) if line.startswith("verdict: ERROR"))
    assert out[head].endswith(f"the run could not start its tests ({category}; nothing was written):"), why
    assert out[head + 1 : head + 1 + len(expected_lines)] == [f"  {line}" for line in expected_lines], why
    everything = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in everything and 'File "' not in everything, why
    doc = gate(tree)
    assert (doc["verdict"], doc["exitCode"], doc["problemCategory"]) == ("ERROR", 2, category), doc
    assert doc["results"] == []
    assert doc["problem"] == "\n".join(expected_lines)
    assert watch.started == {}, f"the run started a sandbox before failing: {watch.started}"


def test_misspelled_config_keys_are_one_line_each(pytester, tree):
    config = tree / "config" / "preflight.yaml"
    text = config.read_text()
    text = text.replace("  timeout_seconds: 10 ", "  timeout_secnds: 10 ", 1)
    text = text.replace("goalType: PRODUCT_SALE", "goalType: PRODUCT_SAL", 1)
    config.write_text(text)
    with SandboxWatch() as watch:
        result = run(pytester)
    check_cannot_start(
        pytester,
        tree,
        result,
        [
            (
                "config/preflight.yaml: run.timeout_secnds: unknown key 'timeout_secnds'; allowed: timeout_seconds, "
                "retry, rate_limit_per_second, pacing, publish_via, peak_windows; did you mean 'timeout_seconds'?"
            ),
            (
                "config/preflight.yaml: campaigns[1].goalType: got 'PRODUCT_SAL'; allowed: PRODUCT_SALE, LEAD_CAPTURE, "
                "NEWSLETTER, AFFILIATE_CLICKOUT, APP_INSTALL; did you mean 'PRODUCT_SALE'?"
            ),
        ],
        watch,
    )


def test_misspelled_required_key(pytester, tree):
    """A required key misspelled: the unknown key (with its did-you-mean) and the missing one."""
    config = tree / "config" / "preflight.yaml"
    config.write_text(config.read_text().replace("    goalType: LEAD_CAPTURE ", "    goalTyp: LEAD_CAPTURE ", 1))
    with SandboxWatch() as watch:
        result = run(pytester)
    check_cannot_start(
        pytester,
        tree,
        result,
        [
            (
                "config/preflight.yaml: campaigns[0].goalType: missing (required); allowed: PRODUCT_SALE, "
                "LEAD_CAPTURE, NEWSLETTER, AFFILIATE_CLICKOUT, APP_INSTALL"
            ),
            (
                "config/preflight.yaml: campaigns[0].goalTyp: unknown key 'goalTyp'; "
                "allowed: campaignId, goalType, name, "
                "leadVerification, tracking, variants, detailPage, conversion, live, flight, expected_clicks, "
                "audiences, expect; did you mean 'goalType'?"
            ),
        ],
        watch,
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("--run-id", "Spring_Run!"),
            (
                "--run-id: 'Spring_Run!' is not a valid run id; use 3-24 lowercase letters, digits or dashes, "
                "starting with a letter or digit (e.g. 20261127-121800-3fa9)"
            ),
        ),
        (
            ("--target", "sandbx"),
            (
                "--target: got 'sandbx': no such file config/targets/sandbx.yaml; allowed: a target name from "
                "config/targets/ (production, rehearsal, sandbox, sandbox-large) or a path to a target YAML; "
                "did you mean 'sandbox'?"
            ),
        ),
        (
            ("--target", "production"),
            (
                "config/targets/production.yaml: credentials.jwt: environment variable PREFLIGHT_JWT is not set; "
                "export it or use --target sandbox"
            ),
        ),
    ],
    ids=["run-id", "target-name", "production-without-jwt"],
)
def test_bad_start_options_are_one_line(pytester, tree, monkeypatch, args, line):
    pat = "patv1_tok123." + "s3cr3tvalue0123456789"  # in parts: no committed line looks like a token
    monkeypatch.setenv("PREFLIGHT_PAT", pat)  # only the JWT is missing
    with SandboxWatch() as watch:
        result = run(pytester, *args)
    check_cannot_start(pytester, tree, result, [line], watch)
    assert pat not in result.stdout.str() + result.stderr.str() + (tree / "reports" / "gate.json").read_text()


def test_xdist_run_with_bad_config_stops_before_workers(pytester, tree):
    """Under -n 2 the controller refuses the config before any worker or sandbox starts."""
    config = tree / "config" / "preflight.yaml"
    config.write_text(config.read_text().replace("  publish_via: pat ", "  publish_via: PAT ", 1))
    with SandboxWatch() as watch:
        result = run(pytester, "-n", "2")
    check_cannot_start(
        pytester,
        tree,
        result,
        ["config/preflight.yaml: run.publish_via: got 'PAT'; allowed: pat, jwt; did you mean 'pat'?"],
        watch,
    )
    assert "created: 2/2 workers" not in result.stdout.str() and "bringing up nodes" not in result.stdout.str()
