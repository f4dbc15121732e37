"""The Allure 3 HTML report of a real run, served over http and opened in headless Chromium:
the overview lists the six lifecycle features, and a test's page lists its attachments
(its HTTP exchanges and its `artifacts` JSON). Screenshots are kept in tmp_path."""

from __future__ import annotations

import html
import json
import shutil
import struct
from pathlib import Path

import pytest
from harness_helpers import ROOT, explain, make_project

from preflight.report.build import (
    ReportBuildError,
    chromium_binary,
    dump_dom,
    screenshot,
    serve,
)

FEATURES = ("Campaign health", "PAT health", "Lead capture", "Test conversion", "Detail page publish",
            "Public conversion")
WIDTH, HEIGHT = 1400, 1000


def _missing() -> str | None:
    if not (ROOT / "node_modules" / ".bin" / "allure").exists() or not shutil.which("node"):
        return "node_modules/.bin/allure (or node) is missing: run make setup"
    try:
        chromium_binary()
    except ReportBuildError as exc:
        return str(exc)
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture(scope="module")
def report(sandbox, tmp_path_factory):
    sandbox.reset()
    project = make_project(tmp_path_factory.mktemp("report") / "project", sandbox=sandbox)
    run = project.run(html=True)
    assert run.code == 0 and run.gate["verdict"] == "PASS", explain(run)
    folder = run.reports / "allure-report"
    assert (folder / "index.html").is_file(), f"no HTML report was built{explain(run)}"
    with serve(folder) as url:
        yield run, folder, url


def report_result(folder: Path, name: str) -> dict:
    """The report's own data for one test (its id is the route of its page)."""
    matches = [json.loads(p.read_text()) for p in (folder / "data" / "test-results").glob("*.json")]
    matches = [doc for doc in matches if doc["name"] == name]
    assert len(matches) == 1, f"{len(matches)} results named {name}"
    return matches[0]




def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def check_png(path: Path) -> None:
    assert png_size(path) == (WIDTH, HEIGHT)
    # A blank page of this size compresses to ~6 KB; a rendered report is well over 50 KB.
    assert path.stat().st_size > 30_000, f"{path} looks blank ({path.stat().st_size} bytes)"


def test_overview_shows_the_six_features(report, tmp_path):
    run, _folder, url = report
    dom = dump_dom(url, width=WIDTH, height=HEIGHT)
    missing = [feature for feature in FEATURES if f">{feature}<" not in dom]
    assert missing == [], f"features not rendered: {missing}"
    assert ">campaign-preflight<" in dom
    assert f">{run.gate['runId']}<" in dom  # the environment block: run_id
    png = screenshot(url, tmp_path / "overview.png", width=WIDTH, height=HEIGHT)
    check_png(png)
    print(f"overview screenshot: {png}")


def test_test_page_shows_its_attachments(report, tmp_path):
    run, folder, url = report
    name = "test_variant_test_conversion[spring-ab:spring-b]"
    result = report_result(folder, name)
    attachments = [step["link"]["name"] for step in result["steps"] if step.get("type") == "attachment"]
    assert attachments[-1] == "artifacts" and len(attachments) == 4, attachments
    assert attachments[0].startswith("GET /_edge/redirect/gharart/spring-b-")
    assert attachments[1].startswith("GET /v2/public/context -> 200")
    assert attachments[2].startswith(f"POST /v2/handles/gharart/campaigns/pf-{run.gate['runId']}-spring-ab/"
                                     "test-conversion -> 201")
    page = f"{url}#/{result['id']}/attachments"
    dom = dump_dom(page, width=WIDTH, height=HEIGHT)
    assert f">{name}<" in dom
    for attachment in attachments:
        assert html.escape(attachment, quote=False) in dom, f"attachment {attachment!r} not shown"
    png = screenshot(page, tmp_path / "test-attachments.png", width=WIDTH, height=HEIGHT)
    check_png(png)
    print(f"test page screenshot: {png}")
