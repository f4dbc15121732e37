"""report.build: a real Allure 3 report from real allure-pytest results, served and rendered."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from preflight.report import allure as report_allure
from preflight.report.build import ReportBuildError, build_report, dump_dom, serve

ROOT = Path(__file__).resolve().parents[2]
ALLURE = ROOT / "node_modules" / ".bin" / "allure"
needs_allure = pytest.mark.skipif(
    not ALLURE.exists() or not shutil.which("node"), reason="node_modules/.bin/allure or node missing: run make setup"
)
needs_chromium = pytest.mark.skipif(not shutil.which("chromium"), reason="chromium missing: run make browser")

# A throwaway suite whose results feed the report: one pass, one [invalid_ctx] failure with an
# exchange attachment, one unlabelled KeyError, one skip.
TINY_SUITE = """
import pytest
from preflight.lifecycle.classify import failure_from_exchange
from preflight.http.exchange import Exchange
from preflight.report import allure as rep

JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # in parts: no committed line looks like a token

def test_health_ok():
    rep.set_labels("health", "spring-ab", "spring-a", campaign_id="pf-1", slug="spring-a")

def test_conversion_refused():
    rep.set_labels("test_conversion", "spring-ab", "spring-b", campaign_id="pf-1", slug="spring-b")
    ex = Exchange.build(method="POST", url="http://127.0.0.1:9/v2/handles/gharart/campaigns/pf-1/test-conversion",
                        path="/v2/handles/gharart/campaigns/pf-1/test-conversion", surface="jwt", status=400,
                        duration_ms=4, request_id="req-abc", request_headers=[("authorization", "Bearer " + JWT)],
                        request_body={"ctx": "c"}, response_body={"error": "invalid_ctx", "reason": "bad_signature"})
    rep.attach_exchange(ex)
    raise failure_from_exchange(ex, step="test_conversion", expected="201", context="spring-b")

def test_broken():
    {}["x"]

@pytest.mark.skip(reason="not a lead funnel")
def test_skipped():
    pass
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(project root, report dir): a scratch project so the real reports/history.jsonl is untouched."""
    if not ALLURE.exists() or not shutil.which("node"):
        pytest.skip("node_modules/.bin/allure or node missing: run make setup")
    work = tmp_path_factory.mktemp("allure")
    (work / "suite").mkdir()
    (work / "suite" / "test_tiny.py").write_text(TINY_SUITE)
    (work / "suite" / "pytest.ini").write_text("[pytest]\n")
    results = work / "allure-results"
    # The preflight plugin is off: this is a plain allure-pytest run, as the real suites' results are.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:preflight",
            "-p",
            "no:cacheprovider",
            "--alluredir",
            str(results),
            str(work / "suite"),
        ],
        cwd=work / "suite",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert len(list(results.glob("*-result.json"))) == 4, run.stdout + run.stderr
    report_allure.write_environment(results, {"target": "sandbox", "run_id": "run-1"})
    report_allure.write_executor(results, {"buildName": "run-1"})
    root = work / "project"
    root.mkdir()
    (root / "node_modules").symlink_to(ROOT / "node_modules")
    shutil.copy(ROOT / "allurerc.mjs", root / "allurerc.mjs")
    report = build_report(
        results,
        root / "reports" / "allure-report",
        project_root=root,
        history_path=root / "reports" / "history" / "sandbox.allure.jsonl",
    )
    return root, report


def _by_name(report: Path) -> dict[str, dict]:
    out = {}
    for path in (report / "data" / "test-results").glob("*.json"):
        doc = json.loads(path.read_text())
        out[doc["name"]] = doc
    return out


@needs_allure
def test_report_puts_failures_in_their_category(built):
    _, report = built
    tree = json.loads((report / "widgets" / "categories.json").read_text())
    nodes = tree["nodes"]
    roots = {nodes[i]["name"]: nodes[i] for i in tree["roots"]}
    assert "invalid_ctx" in roots
    children = [nodes[c]["name"] for c in roots["invalid_ctx"]["childrenIds"]]
    assert children == ["test_conversion_refused"]
    assert "Test defects" in roots  # the KeyError falls back
    results = _by_name(report)
    assert results["test_conversion_refused"]["categories"][0]["name"] == "invalid_ctx"


@needs_allure
def test_report_has_labels_and_the_redacted_exchange_attachment(built):
    _, report = built
    tr = _by_name(report)["test_conversion_refused"]
    assert tr["groupedLabels"]["epic"] == ["Campaign lifecycle"]
    assert tr["groupedLabels"]["feature"] == ["4 · Test conversion"]
    assert tr["groupedLabels"]["preflight_step"] == ["4 · Test conversion"]
    assert (tr["groupedLabels"]["campaign"], tr["groupedLabels"]["variant"]) == (["spring-ab"], ["spring-b"])
    # The error starts with the category (allure-pytest's "<module>.<Class>: " prefix is taken out
    # before the build; a real trace, as here without the plugin, is kept).
    assert tr["error"]["message"].startswith("[invalid_ctx] test_conversion: spring-b: "), tr["error"]
    assert {p["name"]: p["excluded"] for p in tr["parameters"]} == {"campaignId": True, "slug": True}
    links = [s["link"] for s in tr["steps"] if s.get("type") == "attachment"]
    assert [link["name"] for link in links] == [
        "POST /v2/handles/gharart/campaigns/pf-1/test-conversion -> 400 (request req-abc)"
    ]
    body = (report / "data" / "attachments" / (links[0]["id"] + links[0]["ext"])).read_text()
    assert "Bearer [REDACTED]" in body and "eyJhbGci" not in body and "$PREFLIGHT_JWT" in body


@needs_allure
def test_report_keeps_history_and_environment(built):
    root, report = built
    assert (root / "reports" / "history" / "sandbox.allure.jsonl").read_text().strip()
    env = json.loads((report / "widgets" / "allure_environment.json").read_text())
    assert {"name": "target", "values": ["sandbox"]} in env


@needs_allure
def test_every_page_is_free_of_third_party_analytics_and_there_are_two_views(built):
    _, report = built
    pages = sorted(report.rglob("index.html"))
    assert [p.relative_to(report).as_posix() for p in pages] == ["by-campaign/index.html", "index.html"]
    for page in pages:
        text = page.read_text()
        assert "googletagmanager" not in text and "gtag(" not in text, page


@needs_allure
def test_report_is_served_over_loopback(built):
    _, report = built
    with serve(report) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "widgets/categories.json", timeout=5) as answer:
            assert "invalid_ctx" in answer.read().decode()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


@needs_allure
@needs_chromium
def test_categories_page_renders_in_chromium(built):
    _, report = built
    with serve(report) as url:
        dom = dump_dom(url + "#/categories")
    assert "invalid_ctx" in dom and "test_conversion_refused" in dom


def test_missing_node_modules_is_one_clear_line(tmp_path):
    (tmp_path / "allurerc.mjs").write_text("export default {};\n")
    with pytest.raises(ReportBuildError, match="run make setup") as info:
        build_report(tmp_path / "res", tmp_path / "out", project_root=tmp_path)
    assert "\n" not in str(info.value)


def test_refuses_to_delete_the_project(tmp_path):
    (tmp_path / "node_modules" / ".bin").mkdir(parents=True)
    (tmp_path / "node_modules" / ".bin" / "allure").write_text("")
    (tmp_path / "allurerc.mjs").write_text("")
    (tmp_path / "res").mkdir()
    with pytest.raises(ReportBuildError, match="refusing to delete"):
        build_report(tmp_path / "res", tmp_path, project_root=tmp_path)
    assert (tmp_path / "allurerc.mjs").exists()


def test_missing_results_is_reported(tmp_path):
    (tmp_path / "node_modules" / ".bin").mkdir(parents=True)
    (tmp_path / "node_modules" / ".bin" / "allure").write_text("")
    (tmp_path / "allurerc.mjs").write_text("")
    with pytest.raises(ReportBuildError, match="no allure results"):
        build_report(tmp_path / "nope", tmp_path / "out", project_root=tmp_path)


def test_tidy_drops_files_an_interrupted_run_left_half_written(tmp_path):
    from preflight.report.build import tidy_results

    (tmp_path / "a-attachment.json.tmp").write_text('{"half":')
    (tmp_path / "b-result.json").write_text(
        json.dumps(
            {"name": "t", "statusDetails": {"message": "preflight.lifecycle.failures.PreflightFailure: [auth] x"}}
        )
    )
    tidy_results(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b-result.json"]
    assert json.loads((tmp_path / "b-result.json").read_text())["statusDetails"]["message"] == "[auth] x"
