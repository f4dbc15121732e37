"""The pages the ads lead to, at a glance: every screenshot of the shopper's journey is also kept in
`<reports>/landing/` (with a small JSON of what the browser saw), and at the end of the run one
self-contained page shows each campaign's variants side by side, phone and desktop, and where a
page has an approved look (`preflight approve`), its approved | now | diff. It is the
report's global attachment `landing-pages.html` and the gate's `browser` block says what ran, what
was skipped and why, and what the browser blocked.

A landing page is someone else's content: nothing of it is rendered here but its screenshot. Every
text it gave (a title, a URL) is escaped, and the page forbids every script and every request but
its own inline images (Content-Security-Policy), so nothing a page says can run in the report.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FOLDER = "landing"
OVERVIEW = "landing-pages.html"
STEPS = ("landing", "live_landing")  # the lifecycle's journey, and the audit's on the live links
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
LOOK_FILES = ("now", "approved", "diff")  # a landing page's first screen, its approved look, their diff


def save(
    folder: Path,
    *,
    campaign: str,
    variant: str | None,
    page: str,
    viewport: dict[str, Any],
    png: bytes | None,
    facts: dict[str, Any],
    failed: bool,
    look: dict[str, Any] | None = None,
) -> Path:
    """Keep one visit's screenshot and facts (each worker writes its own files: no shared file), and
    a landing page's first screen (`look`: its facts, and the PNGs `now`, `approved`, `diff`), the
    files `preflight approve` takes."""
    name = ".".join(_SAFE.sub("-", part) for part in (variant or page, viewport["name"]))
    where = folder / _SAFE.sub("-", campaign)
    where.mkdir(parents=True, exist_ok=True)
    if png:
        (where / f"{name}.png").write_bytes(png)
    doc = {
        **facts,
        "campaign": campaign,
        "variant": variant,
        "page": page,
        "viewport": viewport,
        "failed": failed,
        "screenshot": f"{name}.png" if png else None,
    }
    if look is not None:
        files = {}
        for kind in LOOK_FILES:
            if look.get(kind):
                (where / f"{name}.{kind}.png").write_bytes(look[kind])
                files[kind] = f"{name}.{kind}.png"
        doc["look"] = {**look["facts"], "files": files}
    temporary = where / f"{name}.json.tmp"
    temporary.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, where / f"{name}.json")
    return where / f"{name}.json"


def entries(folder: Path) -> list[dict[str, Any]]:
    """Every kept visit, in campaign order, then the landing pages by variant, then the detail page."""
    found = []
    for path in sorted(folder.glob("*/*.json")) if folder.is_dir() else ():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        doc["_dir"] = str(path.parent)
        found.append(doc)
    return found


def blocked_totals(found: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    total: Counter = Counter()
    for entry in found:
        total.update(entry.get("blocked") or {})
    return dict(sorted(total.items()))


def browser_facts(
    results: Iterable[Mapping[str, Any]], folder: Path, *, use: str, configured_campaigns: int | None = None
) -> dict[str, Any] | None:
    """The gate's `browser` block: did the shopper's journey run, and if not, why (never a silent pass)."""
    if use == "off":
        return {"use": use, "status": "off", "reason": "browser.use: off in the config: no browser check ran"}
    tests = [r for r in results if r.get("step") in STEPS]
    if not tests:
        return None  # not selected: the gate's test counts say so
    skipped = [r for r in tests if r.get("outcome") == "skipped"]
    status = "skipped" if len(skipped) == len(tests) else "partly skipped" if skipped else "ran"
    found = entries(folder)
    reasons = list(dict.fromkeys((r.get("message") or "no reason given").splitlines()[0] for r in skipped))
    return {
        "use": use,
        "status": status,
        "reason": "; ".join(reasons) or None,
        "tests": {
            "ran": len(tests) - len(skipped),
            "skipped": len(skipped),
            "failed": sum(r.get("outcome") in ("failed", "error") for r in tests),
        },
        "screenshots": sum(1 for e in found if e.get("screenshot")),
        "blocked": blocked_totals(found),
        "overview": None,
    }


def write_overview(folder: Path) -> Path | None:
    found = entries(folder)
    if not any(e.get("screenshot") for e in found):
        return None
    path = folder / OVERVIEW
    path.write_text(overview_page(found), encoding="utf-8")
    return path


def overview_page(found: list[dict[str, Any]]) -> str:
    """One page: per campaign, each variant side by side on each viewport, then its detail page."""
    campaigns = list(dict.fromkeys(e["campaign"] for e in found))
    parts = [
        "<h1>The pages the ads lead to</h1>",
        "<p>Each variant's click, followed in headless Chromium on each viewport: the first screen of the page "
        "it lands on. A red frame is a page that failed a check (its test says why).</p>",
    ]
    for campaign in campaigns:
        mine = [e for e in found if e["campaign"] == campaign]
        parts.append(f"<h2>{_e(campaign)}</h2>")
        landing = [e for e in mine if e.get("variant")]
        variants = list(dict.fromkeys(e["variant"] for e in landing))
        # the narrowest screen first: the phone, where most ad clicks land
        viewports = [
            name for _, name in sorted({(e["viewport"].get("width", 0), e["viewport"]["name"]) for e in landing})
        ]
        head = "".join(f"<th>{_e(v)}</th>" for v in variants)
        rows = []
        for viewport in viewports:
            cells = []
            for variant in variants:
                entry = next(
                    (e for e in landing if e["variant"] == variant and e["viewport"]["name"] == viewport), None
                )
                cells.append(f"<td>{_figure(entry) if entry else '—'}</td>")
            rows.append(f"<tr><th>{_e(viewport)}</th>{''.join(cells)}</tr>")
        if variants:
            parts.append(f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>")
        parts.append(_looks_table(landing))
        details = [e for e in mine if not e.get("variant")]
        if details:
            parts.append("<h3>Published detail page, as a visitor without a session sees it</h3>")
            parts.append("<div class='row'>" + "".join(_figure(e) for e in details) + "</div>")
    blocked = blocked_totals(found)
    parts.append("<h2>Blocked (ad and analytics hosts: a preflight visit never counts as a real one)</h2>")
    parts.append(
        "<ul>" + "".join(f"<li>{_e(host)}: {count} request(s)</li>" for host, count in blocked.items()) + "</ul>"
        if blocked
        else "<p>none were asked for</p>"
    )
    style = (
        "body{font-family:sans-serif;margin:1.5em;color:#1d2733}table{border-collapse:collapse}"
        "td,th{vertical-align:top;padding:.4em .6em;text-align:left}figure{margin:0 0 .8em}"
        "img{display:block;border:1px solid #ccc;object-fit:cover;object-position:top}"
        ".failed img{border:3px solid #d93025}.looks th{font-weight:normal;font-size:12px;max-width:200px}"
        "figcaption{font-size:12px;max-width:360px;word-break:break-all}"
        ".row{display:flex;gap:1em;flex-wrap:wrap}"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>Landing pages</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


def _figure(entry: Mapping[str, Any]) -> str:
    viewport = entry.get("viewport") or {}
    width = 180 if viewport.get("mobile") else 340
    height = round(width * viewport.get("height", 800) / max(viewport.get("width", 1280), 1))
    image = "<p>(no screenshot)</p>"
    shot = entry.get("screenshot")
    if shot:
        data = (Path(entry["_dir"]) / shot).read_bytes() if entry.get("_dir") else b""
        if data[:8] == b"\x89PNG\r\n\x1a\n":  # a PNG and nothing else goes into the page
            image = (
                f'<img alt="" width="{width}" height="{height}" '
                f'src="data:image/png;base64,{base64.b64encode(data).decode()}">'
            )
    status = entry.get("finalStatus")
    answered = status if status is not None else "no answer"
    caption = (
        f"<b>{_e(entry.get('variant') or entry.get('page'))}</b> · {_e(viewport.get('name'))} "
        f"{_e(viewport.get('width'))}×{_e(viewport.get('height'))} · {_e(answered)}"
        f"{' · ✗ failed' if entry.get('failed') else ''}<br>{_e(entry.get('title') or '')}<br>"
        f"<small>{_e(_where(entry.get('finalUrl') or ''))}</small>"
    )
    css = " class='failed'" if entry.get("failed") else ""
    return f"<figure{css}>{image}<figcaption>{caption}</figcaption></figure>"


def _looks_table(landing: list[dict[str, Any]]) -> str:
    """Approved | now | diff for each variant and viewport that has an approved look."""
    compared = [e for e in landing if ((e.get("look") or {}).get("files") or {}).get("approved")]
    if not compared:
        return ""
    rows = []
    for entry in compared:
        look = entry["look"]
        viewport = entry.get("viewport") or {}
        cells = "".join(f"<td>{_image(entry, look['files'].get(kind), viewport)}</td>" for kind in LOOK_FILES)
        share = look.get("share")
        verdict = "✗ changed" if look.get("status") == "changed" else "same"
        said = f"{share * 100:.2f}% changed · {verdict}" if isinstance(share, (int, float)) else _e(look.get("status"))
        approved = look.get("approved") or {}
        caption = (
            f"<b>{_e(entry.get('variant'))}</b> · {_e(viewport.get('name'))}<br>{_e(said)}<br>"
            f"<small>approved {_e(approved.get('at') or '?')} (run {_e(approved.get('runId') or '?')})</small>"
        )
        css = " class='failed'" if look.get("status") == "changed" else ""
        rows.append(f"<tr{css}><th>{caption}</th>{cells}</tr>")
    head = "<tr><th></th><th>approved</th><th>now</th><th>diff</th></tr>"
    return (
        "<h3>The approved look, and now (the first screen; red in the diff: changed pixels)</h3>"
        f"<table class='looks'>{head}{''.join(rows)}</table>"
    )


def _image(entry: Mapping[str, Any], file: str | None, viewport: Mapping[str, Any]) -> str:
    width = 180 if viewport.get("mobile") else 340
    height = round(width * viewport.get("height", 800) / max(viewport.get("width", 1280), 1))
    data = (Path(entry["_dir"]) / file).read_bytes() if file and entry.get("_dir") else b""
    if data[:8] != b"\x89PNG\r\n\x1a\n":  # a PNG and nothing else goes into the page
        return "—"
    source = f"data:image/png;base64,{base64.b64encode(data).decode()}"
    return f'<img alt="" width="{width}" height="{height}" src="{source}">'


def _where(url: str) -> str:
    """The page and the names its query kept (the ctx's value is long and says nothing at a glance)."""
    parts = urlsplit(url)
    names = list(dict.fromkeys(name for name, _ in parse_qsl(parts.query, keep_blank_values=True)))
    return f"{parts.netloc}{parts.path}" + (f" · kept: {', '.join(names)}" if names else " · no query string")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
