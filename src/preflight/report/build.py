"""Build the Allure 3 HTML report (npm `allure`, no Java), serve it on loopback, and look at it
with headless Chromium.

An Allure 3 multi-file report loads its data with fetch(), so it renders only over http
(or as a singleFile report): serve() exists for screenshots and for a person to open it.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from preflight.report import front

ALLURE_BIN = Path("node_modules") / ".bin" / "allure"
CONFIG = "allurerc.mjs"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
)


class ReportBuildError(RuntimeError):
    """The report could not be built or looked at; the message is one line saying why."""


def build_report(
    results_dir: str | Path,
    report_dir: str | Path,
    *,
    project_root: str | Path,
    gate: dict[str, Any] | None = None,
    history_path: str | Path | None = None,
    single_file: bool = False,
) -> Path:
    """Generate the report from results_dir into report_dir; returns report_dir.

    Two views of the same results: report_dir/index.html (by playbook step, the first screen:
    the verdict and readiness matrix from `gate`) and report_dir/by-campaign/index.html
    (campaign → variant → step). History goes to `history_path` (per target and reports
    folder). The built pages make no request to any third party: Allure's analytics snippet is
    taken out of every page.
    """
    root = Path(project_root).resolve()
    results, report = Path(results_dir).resolve(), Path(report_dir).resolve()
    allure_bin = root / ALLURE_BIN
    if not allure_bin.exists():
        raise ReportBuildError(f"{allure_bin} not found: node_modules is missing, run make setup")
    if not (root / CONFIG).exists():
        raise ReportBuildError(f"{root / CONFIG} not found: the Allure config is missing")
    if not results.is_dir():
        raise ReportBuildError(f"no allure results at {results}: did pytest run with --alluredir?")
    _clear(report, root=root, results=results)
    tidy_results(results)
    history = Path(history_path).resolve() if history_path else None
    if history is not None:
        history.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pf-front-") as scratch:
        attachments = []
        if gate:
            page = Path(scratch) / front.MATRIX_FILE
            page.write_text(front.matrix_page(gate), encoding="utf-8")
            attachments.append(str(page))
            overview = (gate.get("browser") or {}).get("overview")
            if overview and Path(overview).is_file():  # the landing pages side by side (report.landing)
                attachments.append(str(overview))
            chart = front.funnel_page(gate)
            if chart is not None:
                page = Path(scratch) / front.FUNNEL_FILE
                page.write_text(chart, encoding="utf-8")
                attachments.append(str(page))
        for view, output in (("step", report), ("campaign", report / front.CAMPAIGN_VIEW)):
            context = (
                front.context(gate, view=view, history_path=history, single_file=single_file, attachments=attachments)
                if gate
                else {
                    "view": view,
                    "historyPath": str(history) if history else None,
                    "appendHistory": view == "step",
                    "singleFile": single_file,
                }
            )
            _generate(allure_bin, results, output, root=root, context=context)
    strip_analytics(report)
    return report


def _generate(allure_bin: Path, results: Path, output: Path, *, root: Path, context: dict[str, Any]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="pf-report-", delete=False) as handle:
        json.dump(context, handle)
    cmd = [str(allure_bin), "generate", str(results), "--config", str(root / CONFIG), "--output", str(output)]
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "PREFLIGHT_REPORT_CONTEXT": handle.name}
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    except FileNotFoundError as exc:  # node itself is missing (the bin is a `#!/usr/bin/env node` script)
        raise ReportBuildError(f"cannot run {allure_bin}: {exc}; install Node 20 and run make setup") from exc
    except subprocess.TimeoutExpired as exc:
        raise ReportBuildError("allure generate took more than 300 s") from exc
    finally:
        os.unlink(handle.name)
    if proc.returncode != 0 or not (output / "index.html").exists():
        raise ReportBuildError(f"allure generate failed (exit {proc.returncode}): {_tail(proc.stderr or proc.stdout)}")


# The awesome plugin (3.18.0) writes Google Tag Manager into every page, with no option to turn
# it off (allure3#476): a report of a client's campaigns must not call a third party.
ANALYTICS = re.compile(
    r'\s*<script async src="https://www\.googletagmanager\.com/gtag/js\?id=[^"]*"></script>'
    r"\s*<script>.*?gtag\('config'.*?</script>",
    re.S,
)


def strip_analytics(report: Path) -> None:
    for page in report.rglob("index.html"):
        html = page.read_text(encoding="utf-8")
        cleaned = ANALYTICS.sub("", html)
        if "googletagmanager" in cleaned:
            raise ReportBuildError(f"{page} still loads Google Tag Manager: the allure page template changed")
        if cleaned != html:
            page.write_text(cleaned, encoding="utf-8")


# allure-pytest records a failure's message as `<module>.<Class>: <text>` and its trace as the
# report's longrepr, which for a platform failure repeats the message: one block, starting with
# the category, is what a reader needs.
EXCEPTION_PREFIX = re.compile(r"^[A-Za-z_][\w.]*: (?=\[)")


def tidy_results(results: Path) -> None:
    # A file half-way to its final name when a run was interrupted (allure-commons writes *.tmp,
    # then renames): never read by Allure, so not left beside the results either.
    for path in results.glob("*.tmp"):
        path.unlink(missing_ok=True)
    for path in results.glob("*-result.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        details = doc.get("statusDetails") or {}
        message = details.get("message")
        if not message:
            continue
        details["message"] = EXCEPTION_PREFIX.sub("", message, count=1)
        trace = details.get("trace") or ""
        if details["message"].strip() and details["message"].strip() in trace:
            details.pop("trace", None)
        path.write_text(json.dumps(doc), encoding="utf-8")


def _clear(report: Path, *, root: Path, results: Path) -> None:
    # Allure 3 has no --clean, and stale files from an older build would be served as current.
    # Guard the rmtree: never the project itself, a parent of it, or a folder holding the results.
    if report == root or report in root.parents or report == results or report in results.parents:
        raise ReportBuildError(f"refusing to delete {report} as the report folder")
    shutil.rmtree(report, ignore_errors=True)


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


@contextlib.contextmanager
def serve(report_dir: str | Path) -> Iterator[str]:
    """Serve report_dir on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(report_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval so leaving the block (shutdown) takes milliseconds, not half a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="report-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass  # keep the test output clean


def chromium_binary() -> str:
    found = os.environ.get("PREFLIGHT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise ReportBuildError("chromium not found: run make browser (apt-get install chromium)")
    return found


def _chromium(url: str, extra: list[str], *, width: int, height: int, wait_ms: int) -> subprocess.CompletedProcess:
    # A fresh profile per call: no state between screenshots, nothing written to $HOME.
    with tempfile.TemporaryDirectory(prefix="pf-chromium-") as profile:
        cmd = [
            chromium_binary(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--virtual-time-budget={wait_ms}",
            *extra,
            url,
        ]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60 + wait_ms / 1000, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportBuildError(f"chromium did not finish with {url}") from exc


def screenshot(url: str, png_path: str | Path, *, width: int = 1400, height: int = 1000, wait_ms: int = 5000) -> Path:
    """A PNG of url after wait_ms of (virtual) page time, so the report's scripts have rendered."""
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    proc = _chromium(url, [f"--screenshot={png}"], width=width, height=height, wait_ms=wait_ms)
    if not png.exists() or png.stat().st_size == 0:
        raise ReportBuildError(f"chromium wrote no screenshot of {url} (exit {proc.returncode}): {_tail(proc.stderr)}")
    return png


def dump_dom(url: str, *, width: int = 1400, height: int = 1000, wait_ms: int = 5000) -> str:
    """The rendered DOM (after scripts ran) as HTML text, to assert on what the report shows."""
    proc = _chromium(url, ["--dump-dom"], width=width, height=height, wait_ms=wait_ms)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ReportBuildError(f"chromium could not dump {url} (exit {proc.returncode}): {_tail(proc.stderr)}")
    return proc.stdout
