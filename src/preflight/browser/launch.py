"""Finding and launching the Chromium a run drives, once per process (each xdist worker its own).

Where the browser comes from, first found wins: `browser.executable` in the config,
`$PREFLIGHT_CHROMIUM`, a `chromium` (or `chromium-browser`, `google-chrome`) on the PATH (Debian's,
`make browser`), else the Chromium Playwright downloads (`playwright install chromium`, the
fallback `make setup` uses where no package manager can install one). Nothing is downloaded here.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.config.browser import BrowserSettings

# On top of Playwright's own switches: nothing in the background reaches out at start (on a closed
# network each would fail many times over), and nothing needs a GPU.
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
)
ON_PATH = ("chromium", "chromium-browser", "google-chrome")
ENV = "PREFLIGHT_CHROMIUM"


class BrowserUnavailable(Exception):
    """No browser can run here; the message says why and what to do, in one line."""


@dataclass(frozen=True)
class Located:
    executable: str | None  # None: Playwright's own Chromium, if it downloaded one
    source: str  # where it came from, in words


def locate(settings: BrowserSettings, environ: Any = None) -> Located:
    """The Chromium to drive (no process is started)."""
    environ = os.environ if environ is None else environ
    if settings.executable:
        return _existing(settings.executable, "browser.executable in the config")
    if environ.get(ENV):
        return _existing(environ[ENV], f"${ENV}")
    for name in ON_PATH:
        found = shutil.which(name)
        if found:
            return Located(found, f"{name} on the PATH")
    return Located(None, "Playwright's own Chromium (playwright install chromium)")


def _existing(path: str, source: str) -> Located:
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        raise BrowserUnavailable(f"{source} names {path}, which is not an executable file: fix the path")
    return Located(path, source)


class Shopper:
    """One headless Chromium for one process, reused by every visit (each visit gets its own fresh
    context: no cookie or cache carries over)."""

    def __init__(self, settings: BrowserSettings) -> None:
        self.settings = settings
        self.located = locate(settings)
        self._playwright: Any = None
        self.browser: Any = None

    def start(self) -> Shopper:
        try:
            from playwright.sync_api import Error, sync_playwright
        except ImportError as exc:  # a dependency, but a broken install says so (test_step_findings.py)
            raise BrowserUnavailable(f"Playwright is not installed ({exc}): run make setup") from None
        self._playwright = sync_playwright().start()
        try:
            self.browser = self._playwright.chromium.launch(
                executable_path=self.located.executable,
                headless=True,
                args=list(LAUNCH_ARGS),
                # Playwright's default, said out loud: Chromium's sandbox cannot run as root.
                chromium_sandbox=False,
                timeout=self.settings.timeout_seconds * 1000,
            )
        except Error as exc:
            self.close()
            raise BrowserUnavailable(
                f"Chromium from {self.located.source} does not start: {_first_line(exc)}; install it with make "
                "browser (or playwright install chromium), or set browser.executable"
            ) from None
        return self

    @property
    def version(self) -> str:
        return self.browser.version if self.browser is not None else ""

    def describe(self) -> str:
        where = self.located.executable or "Playwright's own"
        return f"Chromium {self.version} ({where}, from {self.located.source})"

    def close(self) -> None:
        if self.browser is not None:
            try:
                self.browser.close()
            except Exception:  # a browser already gone (a signal, a crash) has nothing left to close
                pass
            self.browser = None
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception:
                pass
            self._playwright = None


def probe(settings: BrowserSettings) -> str:
    """Launch and close the browser once: its description, or BrowserUnavailable saying why not."""
    shopper = Shopper(settings).start()
    try:
        return shopper.describe()
    finally:
        shopper.close()


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
