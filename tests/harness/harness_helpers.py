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
        matches = [
            r
            for r in self.allure_results()
            if any(label["name"] == "_nodeid" and nodeid_part in label["value"] for label in r.get("labels", []))
        ]
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

    def run(
        self,
        *args: str,
        html: bool = False,
        faults: dict | None = None,
        timeout: float = 300,
        env: dict[str, str] | None = None,
    ) -> RunResult:
        """`preflight run` in the project; faults (if any) are switched on in the sandbox first; `env`:
        variables set for the run on top of this process's."""
        if self.sandbox is not None:
            self.sandbox.set_faults(faults or {})
        command = [sys.executable, "-m", "preflight", "run", *([] if html else ["--no-html"]), *args]
        done = subprocess.run(
            command, cwd=self.path, capture_output=True, text=True, timeout=timeout, env={**_env(), **(env or {})}
        )
        result = RunResult(done.returncode, done.stdout, done.stderr, self.path / "reports")
        self.runs.append(result)
        return result

    def pytest(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Plain pytest in the project, as `pytest suites …` would be typed."""
        return subprocess.run(
            [sys.executable, "-m", "pytest", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_env(),
        )


def make_project(dst: Path, *, sandbox: Any = None, browser: bool = False) -> PreflightProject:
    """A copy of the project. `browser`: keep the shipped browser checks (the shopper's journey in
    Chromium); off by default, so the many runs that test the API's pipeline stay as fast as they
    were (the browser tests, the shipped run and the report view turn it on)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, dst / name)
    if (ROOT / "node_modules").is_dir():
        (dst / "node_modules").symlink_to(ROOT / "node_modules")
    # As pyproject.toml says for the project itself (the copy has no pyproject.toml).
    (dst / "pytest.ini").write_text(
        "[pytest]\ntestpaths = suites\naddopts = -p no:hypothesispytest -p no:schemathesis\n"
        "cache_dir = reports/.pytest_cache\n"
    )
    project = PreflightProject(dst, sandbox)
    if not browser:
        browser_off(project)
    if sandbox is not None:
        attach_to(project, sandbox.url)
    return project


def browser_off(project: PreflightProject) -> None:
    """`browser.use: off`, edited in the text so the copy keeps the shipped file's comments and layout
    (tests edit it as text too)."""
    text = project.config_file.read_text()
    edited, count = re.subn(r"^(browser:[^\n]*\n  use: )auto\b", r"\g<1>off ", text, count=1, flags=re.M)
    if count:
        project.config_file.write_text(edited)
    else:
        project.edit_config(lambda data: data.update(browser={**(data.get("browser") or {}), "use": "off"}))


def attach_to(project: PreflightProject, url: str) -> None:
    """Point the project's default target at an already running sandbox."""
    targets = project.path / "config" / "targets"
    target = yaml.safe_load((targets / "sandbox.yaml").read_text())
    target.update(name="attached", base_url=url, allow_writes=True)
    (targets / "attached.yaml").write_text(yaml.safe_dump(target, sort_keys=False))
    project.edit_config(lambda data: data.update(target="attached"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


# -- added for the plugin/run/escalation/screenshot tests (additive) ---------------------------


def tail(text: str | None, lines: int = 40) -> str:
    """The last lines of a run's output, for assertion messages."""
    return "\n".join((text or "").rstrip().splitlines()[-lines:])


def explain(run: Any) -> str:
    """An assertion message suffix: the tail of a RunResult's (or pytester result's) output."""
    if hasattr(run, "outlines"):  # pytester.RunResult
        out, err = "\n".join(run.outlines), "\n".join(run.errlines)
    else:
        out, err = run.stdout, run.stderr
    return f"\n--- stdout (tail) ---\n{tail(out)}\n--- stderr (tail) ---\n{tail(err, 15)}"


def write_target(project_dir: Path, url: str, *, dest: Path | None = None, name: str | None = "attached") -> Path:
    """A copy of the project's sandbox target that attaches to `url` (a running sandbox).

    Written to config/targets/<name>.yaml unless `dest` is given; name=None leaves the
    `name:` key out, so the target is named after its file."""
    target = yaml.safe_load((project_dir / "config" / "targets" / "sandbox.yaml").read_text())
    target["base_url"] = url
    target["allow_writes"] = True
    target.pop("name", None)
    if name is not None:
        target = {"name": name, **target}
    path = dest or project_dir / "config" / "targets" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    return path


def sandbox_processes() -> dict[int, dict[str, Any]]:
    """Every live `preflight sandbox` process on the machine: pid -> {ppid, cmdline}."""
    found: dict[int, dict[str, Any]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = [a.decode(errors="replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a]
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if not fields or fields[0] == "Z":  # a zombie has stopped already
            continue
        if any(a.endswith("preflight") and argv[i + 1 : i + 2] == ["sandbox"] for i, a in enumerate(argv)):
            found[int(entry.name)] = {"ppid": int(fields[1]), "cmdline": " ".join(argv)}
    return found


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1 and len(chain) < 64:
        try:
            pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[-1].split()[1])
        except (OSError, IndexError, ValueError):
            break
        chain.append(pid)
    return chain


class SandboxWatch:
    """Polls the process list while a run goes on and records every `preflight sandbox`
    process that this test process (or its children) started meanwhile.

        with SandboxWatch() as watch:
            pytester.runpytest_subprocess(...)
        watch.started   # {pid: {"ppid", "cmdline"}}
        watch.alive()   # those still running now
    """

    def __init__(self, interval: float = 0.02) -> None:
        import threading

        self.interval = interval
        self.before = set(sandbox_processes())
        self.started: dict[int, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="sandbox-watch", daemon=True)

    def _poll(self) -> None:
        me = os.getpid()
        while True:
            for pid, info in sandbox_processes().items():
                if pid not in self.before and pid not in self.started and me in _ancestors(pid):
                    self.started[pid] = info
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> SandboxWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def alive(self) -> list[int]:
        running = sandbox_processes()
        return [pid for pid in self.started if pid in running]


# -- a remote target: the sandbox as the real platform would be used ----------------------------


def remote_target(project: PreflightProject, url: str, *, name: str = "remote", **overrides: Any) -> Path:
    """config/targets/<name>.yaml: kind remote at `url`, tokens from $PREFLIGHT_JWT/$PREFLIGHT_PAT
    (minted beforehand), so the harness cannot lean on /__sandbox/."""
    target = {
        "name": name,
        "kind": "remote",
        "base_url": url,
        "handle": "gharart",
        "plan": "ENTERPRISE",
        "role": "CREATOR",
        "click_url": url + "/_edge/redirect/{handle}/{slug}",
        "allow_writes": True,
        "credentials": {"jwt": "${PREFLIGHT_JWT}", "pat": "${PREFLIGHT_PAT}"},
        "contract": {"click_preview": "prefetch"},
        **overrides,
    }
    path = project.path / "config" / "targets" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    return path


def token_env(jwt: str | None, pat: str | None) -> dict[str, str]:
    env = _env()
    env.pop("PREFLIGHT_JWT", None)
    env.pop("PREFLIGHT_PAT", None)
    env.update({k: v for k, v in (("PREFLIGHT_JWT", jwt), ("PREFLIGHT_PAT", pat)) if v})
    return env


def links_of(sandbox: Any, run_id: str) -> dict[str, bool]:
    """slug -> enabled, for every link of the run's campaigns (read with a JWT of its own)."""
    token = sandbox.mint_jwt("gharart")
    listed = sandbox.admin.get(
        "/v2/handles/gharart/links", params={"limit": 200}, headers={"authorization": f"Bearer {token}"}
    ).json()["items"]
    return {
        link["slug"]: link["enabled"] for link in listed if (link.get("campaignId") or "").startswith(f"pf-{run_id}-")
    }


def journal_events(reports: Path, event: str) -> int:
    return sum(
        line.count(f'"event": "{event}"')
        for path in (reports / "journal").rglob("*.jsonl")
        for line in path.read_text().splitlines()
    )
