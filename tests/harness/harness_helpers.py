"""Build a throwaway copy of the project and run preflight in it as a user would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("suites", "fixtures", "conftest.py", "config", "allurerc.mjs", "package.json")
SECRET_SHAPES = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.|patv1_[A-Za-z0-9]+\.[A-Za-z0-9_-]{8,}")


@dataclass
class RunResult:
    code: int
    stdout: str
    stderr: str
    reports: Path

    @property
    def gate(self) -> dict[str, Any]:
        return json.loads((self.reports / "gate.json").read_text())

    def results(self, test: str) -> list[dict[str, Any]]:
        """Gate results whose nodeid contains `test` (a test name, optionally with its id)."""
        return [r for r in self.gate["results"] if test in r["nodeid"]]

    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.gate["results"] if r["outcome"] in ("failed", "error")]

    def allure_results(self) -> list[dict[str, Any]]:
        folder = self.reports / "allure-results"
        return [json.loads(p.read_text()) for p in folder.glob("*-result.json")]

    def allure_result(self, nodeid_part: str) -> dict[str, Any]:
        matches = [r for r in self.allure_results() if nodeid_part in r.get("fullName", "") + r.get("name", "")]
        assert matches, f"no Allure result for {nodeid_part!r}"
        return matches[0]

    def attachment_text(self, attachment: dict[str, Any]) -> str:
        return (self.reports / "allure-results" / attachment["source"]).read_text()

    def leaked_secrets(self, extra: tuple[str, ...] = ()) -> list[str]:
        """Places under reports/ (the HTML app bundle aside) and in the output that hold a token."""
        places = []
        texts = {"stdout": self.stdout, "stderr": self.stderr}
        for path in self.reports.rglob("*"):
            if path.is_file() and "allure-report" not in path.parts:
                texts[str(path)] = path.read_text(errors="replace")
        for report_data in (self.reports / "allure-report" / "data").rglob("*"):
            if report_data.is_file():
                texts[str(report_data)] = report_data.read_text(errors="replace")
        for where, text in texts.items():
            if SECRET_SHAPES.search(text) or any(secret in text for secret in extra if secret):
                places.append(where)
        return places


@dataclass
class PreflightProject:
    path: Path
    sandbox: Any = None
    runs: list[RunResult] = field(default_factory=list)

    @property
    def config_file(self) -> Path:
        return self.path / "config" / "preflight.yaml"

    def edit_config(self, change) -> None:
        data = yaml.safe_load(self.config_file.read_text())
        change(data)
        self.config_file.write_text(yaml.safe_dump(data, sort_keys=False))

    def run(self, *args: str, html: bool = False, faults: dict | None = None, timeout: float = 300) -> RunResult:
        """`preflight run` in the project; faults (if any) are switched on in the sandbox first."""
        if self.sandbox is not None:
            self.sandbox.set_faults(faults or {})
        command = [sys.executable, "-m", "preflight", "run", *([] if html else ["--no-html"]), *args]
        done = subprocess.run(command, cwd=self.path, capture_output=True, text=True, timeout=timeout,
                              env=_env())
        result = RunResult(done.returncode, done.stdout, done.stderr, self.path / "reports")
        self.runs.append(result)
        return result

    def pytest(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Plain pytest in the project, as `pytest suites …` would be typed."""
        return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=self.path, capture_output=True,
                              text=True, timeout=timeout, env=_env())


def make_project(dst: Path, *, sandbox: Any = None) -> PreflightProject:
    dst.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, dst / name)
    if (ROOT / "node_modules").is_dir():
        (dst / "node_modules").symlink_to(ROOT / "node_modules")
    (dst / "pytest.ini").write_text("[pytest]\ntestpaths = suites\naddopts = -p no:cacheprovider\n")
    project = PreflightProject(dst, sandbox)
    if sandbox is not None:
        attach_to(project, sandbox.url)
    return project


def attach_to(project: PreflightProject, url: str) -> None:
    """Point the project's default target at an already running sandbox."""
    targets = project.path / "config" / "targets"
    target = yaml.safe_load((targets / "sandbox.yaml").read_text())
    target.update(name="attached", base_url=url)
    (targets / "attached.yaml").write_text(yaml.safe_dump(target, sort_keys=False))
    project.edit_config(lambda data: data.update(target="attached"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env
