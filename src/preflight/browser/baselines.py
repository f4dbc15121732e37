"""The approved looks on disk: one PNG per campaign, variant (its slug as configured, never a run's
throwaway one) and viewport, under `<config dir>/<browser.visual.baselines>/<target>/` (the sandbox's
copy of a site is not the real site: each target has its own), with `manifest.json` saying when
each look was approved, from which run, and of which page (its URL without the ctx).

`preflight approve` stores them (the user commits the folder); every journey reads them. Facts
only: what a difference means is the lifecycle's.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from preflight.browser.pixels import png_size

MANIFEST = "manifest.json"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Approved:
    """One approved look, and what the manifest says of it."""

    campaign: str
    variant: str
    viewport: str
    png: bytes
    approved_at: str | None = None
    run_id: str | None = None
    url: str | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        return png_size(self.png)

    def describe(self) -> str:
        when = self.approved_at or "at an unknown time"
        return f"approved {when}" + (f" from run {self.run_id}" if self.run_id else "")


def key(campaign: str, variant: str, viewport: str) -> str:
    return f"{campaign}/{variant}.{viewport}"


class Baselines:
    """A target's approved looks (`folder` is `<baselines>/<target>/`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, campaign: str, variant: str, viewport: str) -> Path:
        return self.folder / _safe(campaign) / f"{_safe(variant)}.{_safe(viewport)}.png"

    def manifest(self) -> dict[str, Any]:
        try:
            doc = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"looks": {}}
        return doc if isinstance(doc, dict) and isinstance(doc.get("looks"), dict) else {"looks": {}}

    def find(self, campaign: str, variant: str, viewport: str) -> Approved | None:
        """The approved look, or None when there is none (or the file is no PNG)."""
        try:
            png = self.path(campaign, variant, viewport).read_bytes()
        except OSError:
            return None
        if png_size(png) is None:
            return None
        entry = self.manifest()["looks"].get(key(campaign, variant, viewport)) or {}
        return Approved(campaign, variant, viewport, png, entry.get("approvedAt"), entry.get("runId"), entry.get("url"))

    def store(
        self, campaign: str, variant: str, viewport: str, png: bytes, *, run_id: str | None, url: str | None
    ) -> Path:
        """Keep `png` as the approved look, and say so in the manifest."""
        path = self.path(campaign, variant, viewport)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, png)
        manifest = self.manifest()
        manifest["looks"][key(campaign, variant, viewport)] = {
            "file": str(path.relative_to(self.folder)),
            "approvedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runId": run_id,
            "url": url,
            "size": list(png_size(png) or ()),
        }
        manifest["looks"] = dict(sorted(manifest["looks"].items()))
        _write(self.folder / MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
        return path


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _safe(part: str) -> str:
    return _SAFE.sub("-", part)
