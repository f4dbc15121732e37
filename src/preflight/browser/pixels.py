"""How much a first screen changed from its approved look: pixelmatch's perceptual measure (a
pixel counts as changed when its colour moved further than `threshold` in the YIQ space, the way
an eye weighs brightness over hue; anti-aliased edges, which shift with font rendering, do not
count) and the diff image (changed pixels red over a faded copy of the approved look).

pybind11-pixelmatch, a C++17 port of mapbox/pixelmatch with its options and its counts (a unit test
holds it to the pure-Python `pixelmatch` on the same images), with binary wheels for Linux, macOS
and Windows: tens of milliseconds for a phone or desktop screen where the pure-Python port takes 2
to 20 seconds (bench/RESULTS.md, "Browser"). Pillow decodes and encodes the PNGs; numpy only hands
the pixels over.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Difference:
    changed: int  # pixels counted as changed
    total: int  # pixels of the screen
    diff_png: bytes | None  # None when nothing changed

    @property
    def share(self) -> float:
        return self.changed / self.total if self.total else 0.0


def png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height from its header, or None for anything that is not a PNG."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def compare(approved: bytes, now: bytes, *, threshold: float) -> Difference:
    """The changed pixels of two screens of one size (the caller compares sizes first)."""
    size = png_size(now)
    if approved == now and size is not None:  # the same PNG (Chromium encodes alike): nothing to decode
        return Difference(0, size[0] * size[1], None)
    import numpy
    import pybind11_pixelmatch as pixelmatch

    before, after = _pixels(approved), _pixels(now)
    # A programming guard, not a finding: landing_look.compare reads both sizes from the PNG headers and
    # judges two sizes itself (not compared, saying why) before it calls this, and a PNG decodes to the
    # size its header says. An assert, so tests/tools/raises_covered.py does not count it as a finding.
    assert before.shape == after.shape, f"two sizes: {before.shape[:2]} and {after.shape[:2]} (compare sizes first)"
    total = before.shape[0] * before.shape[1]
    if numpy.array_equal(before, after):
        return Difference(0, total, None)
    options = pixelmatch.Options()
    options.threshold = threshold
    options.includeAA = False
    options.alpha = 0.1
    diff = numpy.zeros_like(before)
    changed = pixelmatch.pixelmatch(before, after, output=diff, options=options)
    return Difference(changed, total, _png(diff) if changed else None)


def _pixels(png: bytes):
    import numpy
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return numpy.array(image.convert("RGBA"), dtype=numpy.uint8)


def _png(pixels) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()
