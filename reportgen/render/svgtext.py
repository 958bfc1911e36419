"""A centred or end-anchored figure label moved to its start, measured as WeasyPrint
measures it, so that WeasyPrint does not draw it in a PDF group of its own (one step of
:func:`reportgen.render.printsvg.lighten`).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from reportgen.render.svgpaths import NUMBER, style_declarations

#: The font matplotlib writes figure text in, and the one file of it we measure.
TEXT_FONT = "DejaVu Sans"
_ANCHOR_SHARE = {"middle": 0.5, "end": 1.0}
#: Pango's units per pixel.
PANGO_SCALE = 1024
_TEXT_ATTRIBUTES = frozenset({"x", "y", "style", "transform"})


@functools.cache
def text_advances() -> tuple[dict[int, int], int] | None:
    """DejaVu Sans's advance widths by code point and its units per em (matplotlib's copy
    of the font, found without importing matplotlib, read with fontTools, which WeasyPrint
    depends on), or None."""
    try:
        from fontTools.ttLib import TTFont

        spec = importlib.util.find_spec("matplotlib")
        assert spec is not None and spec.origin is not None
        path = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        font = TTFont(path, lazy=True)
        metrics = font["hmtx"]
        return ({code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()},
                font["head"].unitsPerEm)
    except Exception:  # no font, no fontTools: anchors are left to WeasyPrint
        return None


def anchor_at_start(text: ET.Element, effective: dict[str, str]) -> None:
    """Move a centred or end-anchored DejaVu Sans text to its start, in place.

    WeasyPrint draws every such text into a group of its own (a PDF form XObject) to
    measure it before shifting it; a text that starts where it is drawn needs none (and
    extracting the text of a PDF with hundreds of form XObjects is slow: pypdf reads the
    fonts again for each). WeasyPrint lays an SVG text out letter by letter (no kerning),
    so the text's width is the sum of its letters' advances, each as HarfBuzz rounds it
    at the font size WeasyPrint gives Pango (1/1024 px units): the same numbers, to the
    last bit, as WeasyPrint's own measure. Texts in another font, with spacing, several
    positions or inner elements are left as they are.
    """
    share = _ANCHOR_SHARE.get(effective.get("text-anchor", "start"))
    content = text.text or ""
    advances = text_advances()
    if share is None or advances is None or len(text) or set(text.attrib) - _TEXT_ATTRIBUTES \
            or not content or content != " ".join(content.split()) \
            or effective.get("font-family", "").strip("'\" ") != TEXT_FONT \
            or effective.get("font-weight", "normal") not in ("normal", "400") \
            or effective.get("font-style", "normal") != "normal" \
            or effective.get("direction", "ltr") != "ltr" \
            or any(name in effective for name in ("letter-spacing", "word-spacing")):
        return
    size = re.fullmatch(rf"({NUMBER})(?:px)?", effective.get("font-size", "").strip())
    widths, units = advances
    try:
        x = float(text.get("x", "0"))
    except ValueError:
        return
    if size is None or any(ord(letter) not in widths for letter in content):
        return
    scale = int(float(size[1]) * PANGO_SCALE)  # WeasyPrint truncates the size so
    width = sum((widths[ord(letter)] * scale + units // 2) // units for letter in content)
    text.set("x", repr(x - share * width / PANGO_SCALE))
    declarations = style_declarations(text.get("style"))
    declarations["text-anchor"] = "start"  # over the text's own or an inherited anchor
    text.set("style", "; ".join(f"{k}: {v}" for k, v in declarations.items()))

