"""A landing page's first screen, taken so that an unchanged page looks the same on every visit:
its web fonts settled, scrolled to the top, animations and transitions stopped (finite ones run to
their end, endless ones back to their start) and the text caret hidden, and painted over where a
page changes on every visit: the regions the config masks (a clock, a counter) and any element
whose text or field shows a value of this visit (the click's ctx, the run's own ids).

Facts only: what the shot is compared with, and what a difference means, is the lifecycle's
(`lifecycle/steps/landing_look.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from preflight.core.redact import redact_text

MARK = "data-preflight-mask"  # set on the elements that show a value of this visit
MASK_COLOR = "#FF00FF"  # what a masked region is painted with, on the approved look and on every shot alike

# Fonts settled, scrolled to the top, and every element marked whose own text (or a field's value)
# holds one of the given values. Two frames after, the page has painted what the shot will show.
SETTLE_SCRIPT = """async (hidden) => {
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  window.scrollTo(0, 0);
  let marked = 0;
  const holds = (text) => hidden.some((value) => text && text.includes(value));
  if (hidden.length && document.body) {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement && holds(node.data)) { node.parentElement.setAttribute("__MARK__", ""); marked += 1; }
    }
    for (const input of document.querySelectorAll("input, textarea")) {
      if (holds(input.value)) { input.setAttribute("__MARK__", ""); marked += 1; }
    }
  }
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return marked;
}""".replace("__MARK__", MARK)


@dataclass(frozen=True)
class LookRequest:
    """What to paint over: `mask`, CSS selectors; `hide`, values of this run that must not show; the
    values of the URL's `hide_params` (the ctx) are found in the page's URL and its response's."""

    mask: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    hide_params: tuple[str, ...] = ("ctx",)


@dataclass
class Shot:
    png: bytes | None = None
    error: str | None = None
    marked: int = 0  # elements painted over because they showed a value of this visit
    masks: list[str] = field(default_factory=list)


def hidden_values(request: LookRequest, *urls: str) -> list[str]:
    """The values that must not show: the request's own, and its params' values in each URL."""
    values = [value for value in request.hide if value]
    for url in urls:
        for name, value in parse_qsl(urlsplit(url or "").query, keep_blank_values=False):
            if name in request.hide_params and len(value) >= 4:
                values.append(value)
    return list(dict.fromkeys(values))


def take(page: Any, request: LookRequest, *urls: str) -> Shot:
    """The first screen (the viewport, no scrolling), as a PNG of CSS pixels."""
    shot = Shot(masks=list(request.mask))
    try:
        shot.marked = page.evaluate(SETTLE_SCRIPT, hidden_values(request, page.url, *urls))
        masks = [page.locator(selector) for selector in (*request.mask, f"[{MARK}]")]
        shot.png = page.screenshot(
            full_page=False,
            type="png",
            animations="disabled",
            caret="hide",
            scale="css",
            mask=masks,
            mask_color=MASK_COLOR,
        )
    except Exception as exc:  # a page gone, or a mask that is no CSS selector
        shot.error = _first_line(exc)
    return shot


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return redact_text(lines[0][:300]) if lines else type(exc).__name__
