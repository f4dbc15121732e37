"""What bench/overhead.py and bench/scaling.py share: generated configs, a sandbox with a large
enough write quota, the pytest command a run uses, machine facts and the RESULTS.md writer.

Everything generated goes under bench/out/ (git-ignored). The runs execute this checkout's
code: children get PYTHONPATH=<checkout>/src (the venv's editable install may point at
another checkout).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"

sys.path.insert(0, str(ROOT / "src"))
from preflight.sandbox.process import SandboxProcess  # noqa: E402

# Start-up plugins the suites never use; pyproject.toml's addopts blocks them for `pytest suites`.
HANDLE = "gharart"


def say(message: str) -> None:
    print(message, flush=True)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a run: this checkout's source first, bench/ importable (for -p plugins),
    no pytest settings inherited from whoever started the bench."""
    env = dict(os.environ)
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_PLUGINS", "PREFLIGHT_JWT", "PREFLIGHT_PAT"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(BENCH)])
    env.update(extra)
    return env


# --- configs -------------------------------------------------------------------------------


def shipped_config() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / "preflight.yaml").read_text())


def generate_config(
    campaigns: int, *, variants: int | None = None, rate: float | None = None, target: str = "attached.yaml"
) -> dict[str, Any]:
    """`campaigns` campaigns made from the shipped config's, in turn (so the goal types and the
    steps they take stay in the shipped mix). `variants`: each campaign gets exactly that many
    (else the template's own count, 2 and 3 as shipped). `rate`: run.rate_limit_per_second
    (else as shipped). The browser checks are off: these configs measure the harness and its pace
    (bench/browser.py measures the browser)."""
    base = shipped_config()
    templates = base["campaigns"]
    out = []
    for index in range(campaigns):
        template = templates[index % len(templates)]
        tag = f"c{index:03d}"
        count = variants or len(template["variants"])
        variant_list = []
        for number in range(count):
            model = dict(template["variants"][number % len(template["variants"])])
            letter = "abcdefghij"[number]
            model["slug"] = f"{tag}-{letter}"
            model["destinationUrl"] = f"https://gharart.example/{tag}?v={letter}"
            model["title"] = f"{model.get('title') or 'Variant'} {letter}"
            variant_list.append(model)
        page = dict(template["detailPage"], detailsPageSlug=f"{tag}-offer")
        out.append(
            {
                **template,
                "campaignId": f"{tag}-{template['campaignId']}",
                "name": f"{template['name']} #{index}",
                "variants": variant_list,
                "detailPage": page,
            }
        )
    run = dict(base.get("run") or {})
    if rate is not None:
        run["rate_limit_per_second"] = rate
    browser = {**(base.get("browser") or {}), "use": "off"}
    return {**base, "target": target, "run": run, "browser": browser, "campaigns": out}


def write_attached_target(path: Path, url: str) -> Path:
    """The shipped sandbox target, attached to a sandbox that is already running at `url`."""
    target = yaml.safe_load((ROOT / "config" / "targets" / "sandbox.yaml").read_text())
    target.update(name="bench", base_url=url, allow_writes=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    return path


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def writes_needed(campaigns: int, variants: int) -> int:
    """The plan's count per campaign (README): 3v + 1, and a margin for the foreign-ctx borrow."""
    return campaigns * (3 * variants + 1) + 10


# --- the sandbox -----------------------------------------------------------------------------

ENTERPRISE_WRITES = 500


class BenchSandbox(SandboxProcess):
    """`preflight sandbox` (ENTERPRISE) with a daily write quota of `writes_per_day` when it exceeds
    ENTERPRISE's 500 (`--writes-per-day`, as a big customer's own quota)."""

    def __init__(self, *, writes_per_day: int | None = None, **kwargs: Any) -> None:
        self.quota = writes_per_day if writes_per_day and writes_per_day > ENTERPRISE_WRITES else None
        self.quota_note = (
            f"{self.quota:,} writes a day (--writes-per-day)" if self.quota else "ENTERPRISE quota (500 writes a day)"
        )
        super().__init__(writes_per_day=self.quota, **kwargs)

    def start(self) -> BenchSandbox:
        # The child runs this checkout's sandbox (SandboxProcess starts it with our environment).
        env_before = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = child_env()["PYTHONPATH"]
        try:
            super().start()
        finally:
            if env_before is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = env_before
        return self


# --- pytest, as `preflight run` runs it ----------------------------------------------------------


def pytest_command(
    config: Path,
    reports: Path,
    *,
    workers: int = 0,
    alluredir: bool = True,
    extra: list[str] | None = None,
    python: list[str] | None = None,
) -> list[str]:
    """`pytest suites` with the options `preflight run` adds (src/preflight/cli/run.py), minus HTML."""
    command = [
        *(python or [sys.executable, "-m", "pytest"]),
        "suites",
        "-q",
        "--preflight-config",
        str(config),
        "--preflight-reports",
        str(reports),
        "--preflight-journal",
        str(reports / "journal"),
        "--preflight-html-report",
        "none",
        "--junitxml",
        str(reports / "junit.xml"),
        "-o",
        "junit_family=xunit1",
    ]
    if alluredir:
        command += ["--alluredir", str(reports / "allure-results")]
    command += ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    return command + list(extra or [])


# --- facts and RESULTS.md ---------------------------------------------------------------------


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def gate_outcome(reports: Path, code: int, log: Path) -> tuple[bool, str, int]:
    """(passed, note, tests ran) of a run from its gate.json: a run that did not PASS is not a figure."""
    try:
        gate = json.loads((reports / "gate.json").read_text())
    except (OSError, ValueError):
        return False, f"exit {code}, no gate.json (see {log})", 0
    ran = (gate.get("tests") or {}).get("ran") or 0
    if gate.get("verdict") != "PASS":
        return False, f"verdict {gate.get('verdict')}: {gate.get('reason')}", ran
    return code == 0, f"exit {code}" if code else "", ran


def machine() -> dict[str, str]:
    cpu = cpu_model()
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or "?"
        )
        # The results file itself does not count: the benches write it.
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                f":(exclude){RESULTS.relative_to(ROOT)}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.SubprocessError):
        commit = "?"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit,
        "kernel": platform.release(),
    }


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace `heading`'s section (up to the next `## ` heading), or add it; keep every other one."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section.rstrip("\n") + "\n\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares y = a + b*x: (a, b)."""
    if len(set(xs)) < 2:
        raise ValueError("a line needs at least two different sizes")
    b, a = statistics.linear_regression(xs, ys)
    return a, b


def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"{what} {text!r}: give whole numbers separated by commas, e.g. 10,30") from None
    if not values or any(v < 0 for v in values):
        raise SystemExit(f"{what} {text!r}: give one or more whole numbers, 0 or more")
    return values
