"""reportgen.render.printsvg: the SVGs WeasyPrint draws have fewer nodes, the same pixels.

Every figure and equation of the default handout is drawn by WeasyPrint as matplotlib
wrote it and as ``lighten`` rewrote it, rasterised by poppler, and compared pixel by
pixel; small SVGs check each rule that keeps a merge from changing a pixel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from results_fixture import built_handout

from reportgen.render import mathtex, printsvg

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                   reason="poppler-utils (pdftoppm) not installed; .ci/run "
                                   "installs it")

HEAD = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '


def _nodes(svg: str) -> int:
    return len(re.findall(r"<[a-zA-Z]", svg))


def _pixels(svg: str, dpi: int = 150) -> Any:
    """The SVG drawn by WeasyPrint on a page of its own size, rasterised in grey."""
    import weasyprint
    from PIL import Image

    from reportgen.render.mathtex import svg_data_uri

    width, height = (re.search(rf'{key}="([\d.]+)(pt)?"', svg)[1]  # type: ignore[index]
                     for key in ("width", "height"))
    page = (f"<style>@page {{ size: {width}pt {height}pt; margin: 0 }} body {{ margin: 0 }}"
            f"img {{ display: block; width: {width}pt; height: {height}pt }}</style>"
            f'<img src="{svg_data_uri(svg)}">')
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "x.pdf"
        pdf.write_bytes(weasyprint.HTML(string=page).write_pdf())
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf),
                        str(Path(folder) / "x")], check=True, capture_output=True, timeout=60)
        return Image.open(Path(folder) / "x.png").convert("L")


def _differences(before: Any, after: Any) -> tuple[int, int]:
    """(pixels of either image that differ by more than 1/8 of the grey range from every
    pixel within one pixel of them in the other, the largest such difference).

    A glyph's edge pixel may change by more than 1/8 when only the PDF's transforms are
    written differently: WeasyPrint draws a path with ``translate(...) scale(...)`` on
    itself a fraction of a pixel from the same path inside ``<g transform=...>`` (seen on
    DejaVu Serif's glyphs at 150 dpi: 5 edge pixels, none a whole pixel off). What this
    counts is what a reader could see: a shape moved, grown, recoloured or gone.
    """
    from PIL import ImageChops, ImageFilter

    assert before.size == after.size

    def beyond(a: Any, b: Any) -> Any:
        """How far each pixel of ``a`` lies outside the range of b's 3 x 3 neighbours."""
        low = ImageChops.subtract(b.filter(ImageFilter.MinFilter(3)), a)
        high = ImageChops.subtract(a, b.filter(ImageFilter.MaxFilter(3)))
        return ImageChops.lighter(low, high)

    histogram = ImageChops.lighter(beyond(before, after), beyond(after, before)).histogram()
    return sum(histogram[33:]), max(i for i, count in enumerate(histogram) if count)


def _same_pixels(svg: str) -> None:
    large, largest = _differences(_pixels(svg), _pixels(printsvg.lighten(svg)))
    # anti-aliasing may shift an edge by a fraction of a pixel; a shape that moved, grew,
    # lost its colour or vanished would differ by far more than a few edge pixels
    assert large <= 3, (large, largest)


def _handout_svgs() -> dict[str, str]:
    folder = built_handout() / "figures"
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.svg"))}


def test_equations_become_a_few_paths_each() -> None:
    """The glyphs join into a few paths; a rectangle (a minus sign, a fraction bar) stays
    alone, as do glyphs set so tight that their boxes meet (X and its transpose)."""
    for name in ("loss", "gradient", "normal"):
        svg = mathtex.equation(name).svg
        light = printsvg.lighten(svg)
        assert "<use" in svg and "<use" not in light
        assert 3 * _nodes(light) <= _nodes(svg), (name, _nodes(light), _nodes(svg))


def test_figures_lose_most_of_their_nodes_and_keep_their_text() -> None:
    svgs = _handout_svgs()
    before = sum(_nodes(svg) for svg in svgs.values())
    after = sum(_nodes(printsvg.lighten(svg)) for svg in svgs.values())
    assert after < before / 2, (before, after)
    for svg in svgs.values():
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
        assert re.findall(r"<text[^>]*>([^<]*)</text>", printsvg.lighten(svg)) == texts


@needs_poppler
@pytest.mark.parametrize("name", list(mathtex.EQUATIONS))
def test_equations_draw_the_same_pixels(name: str) -> None:
    _same_pixels(mathtex.equation(name).svg)


@needs_poppler
def test_figures_draw_the_same_pixels() -> None:
    for name, svg in _handout_svgs().items():
        try:
            _same_pixels(svg)
        except AssertionError as failure:
            raise AssertionError(f"{name}: {failure}") from None


CIRCLE = "M 0 5 C 3 5 5 3 5 0 C 5 -3 3 -5 0 -5 C -3 -5 -5 -3 -5 0 C -5 3 -3 5 0 5 z"


def _svg(body: str) -> str:
    return f'{HEAD}width="60pt" height="30pt" viewBox="0 0 60 30">{body}</svg>'


def _paths(svg: str) -> int:
    return len(re.findall(r"<path\b", svg))


def test_copies_of_a_marker_join_and_overlapping_fills_stay_apart() -> None:
    markers = _svg("<defs><path id='m' d='" + CIRCLE + "'/></defs>" + "".join(
        f"<use xlink:href='#m' x='{x}' y='15' style='fill: #0072b2; stroke: #0072b2'/>"
        for x in (10, 14, 18)))
    assert _paths(printsvg.lighten(markers)) == 1  # copies of one shape, one colour
    # a triangle over a square, drawn the other way round: one path would punch a hole
    crossing = _svg("<path d='M 5 5 L 25 5 L 25 25 L 5 25 Z M 0 0 L 1 0 L 0 1 Z'/>"
                    "<path d='M 10 10 L 30 30 L 30 10 Z'/>")
    assert _paths(printsvg.lighten(crossing)) == 2
    apart = _svg("<path d='M 5 5 L 10 5 L 10 10 Z'/><path d='M 20 5 L 25 5 L 25 10 Z'/>")
    assert _paths(printsvg.lighten(apart)) == 1


@pytest.mark.parametrize("style", [
    "fill: #0072b2; fill-opacity: 0.5",  # see-through: overlaps would darken
    "fill: #0072b2; stroke: #000000",  # outlines of one drawn over fills of the next
    "fill: url(#gradient)",  # a gradient spans each shape's own box
])
def test_paint_that_would_change_stays_apart(style: str) -> None:
    markers = _svg("<defs><path id='m' d='" + CIRCLE + "'/></defs>" + "".join(
        f"<use xlink:href='#m' x='{x}' y='15' style='{style}'/>" for x in (10, 14, 18)))
    assert _paths(printsvg.lighten(markers)) == 3


def test_a_universal_rule_counts_as_the_paths_own_paint() -> None:
    markers = "".join(f"<use xlink:href='#m' x='{x}' y='15' style='fill: #0072b2'/>"
                      for x in (10, 14, 18))
    opaque = _svg("<defs><path id='m' d='" + CIRCLE + "'/></defs>" + markers)
    assert _paths(printsvg.lighten(opaque)) == 1
    faded = opaque.replace("<defs>", "<style>*{fill-opacity: 0.5}</style><defs>")
    assert _paths(printsvg.lighten(faded)) == 3  # see-through, whatever its parents say


def test_scaled_strokes_lines_and_rectangles_stay_apart() -> None:
    scaled = _svg("".join(f"<path d='M 0 0 L 5 5 L 0 5' transform='translate({x} 5) scale(2)' "
                          f"style='fill: none; stroke: #000000'/>" for x in (5, 20)))
    assert _paths(printsvg.lighten(scaled)) == 2  # the stroke would lose its scale
    moved = scaled.replace(" scale(2)", "")
    assert _paths(printsvg.lighten(moved)) == 1  # copies of one marker
    lines = moved.replace(" L 0 5", "")
    assert _paths(printsvg.lighten(lines)) == 2  # viewers snap a lone line to the pixels
    bars = _svg("<path d='M 5 5 L 5 6 L 25 6 L 25 5 L 5 5 z'/>"
                "<path d='M 35 5 L 35 6 L 55 6 L 55 5 L 35 5 z'/>")
    assert _paths(printsvg.lighten(bars)) == 2  # and a lone rectangle (a rule, a bar)


@pytest.mark.parametrize("svg", [
    _svg("<style>.a { fill: red }</style><path class='a' d='M 0 0 L 5 5 L 0 5 Z'/>"
         "<path d='M 10 0 L 15 5 L 10 5 Z'/>"),  # a selector could tell the pieces apart
    _svg("<path d='m 0 0 l 5 5 l 0 5 z'/><path d='m 10 0 l 5 5 l 0 5 z'/>"),  # relative
    "<svg><path d='M 0 0 L 1 1 Z'/><path d='M 5 5 L 6 6 Z'/></svg>",  # not SVG's namespace
    "not XML at all <",
])
def test_what_it_does_not_understand_is_left_as_it_is(svg: str) -> None:
    light = printsvg.lighten(svg)
    assert light == svg or _paths(light) == _paths(svg)


@needs_poppler
def test_the_rules_hold_pixel_for_pixel() -> None:
    body = ("<defs><path id='m' d='" + CIRCLE + "'/><linearGradient id='gradient'>"
            "<stop offset='0' stop-color='#000'/><stop offset='1' stop-color='#fff'/>"
            "</linearGradient></defs>"
            + "".join(f"<use xlink:href='#m' x='{x}' y='8' style='fill: #0072b2; "
                      f"stroke: #d55e00'/>" for x in (8, 12, 16))
            + "".join(f"<use xlink:href='#m' x='{x}' y='20' style='fill: #009e73; "
                      f"fill-opacity: 0.5'/>" for x in (8, 12, 16))
            + "<path d='M 30 2 L 50 2 L 50 14 L 30 14 L 31 8 Z'/>"
            + "<path d='M 35 6 L 55 28 L 55 6 Z'/>"
            + "".join(f"<path d='M 0 0 L 3 3 L 0 3' transform='translate({x} 22) scale(2)' "
                      f"style='fill: none; stroke: #000000'/>" for x in (30, 40))
            + "".join(f"<path d='M 0 0 L 3 3 L 0 3' transform='translate({x} 22)' "
                      f"style='fill: none; stroke: #000000'/>" for x in (44, 46, 48))
            + "<path d='M 2 28 L 58 28' style='stroke: #000000; stroke-width: 0.8'/>"
            + "<path d='M 2 2 L 2 28' style='stroke: #000000; stroke-width: 0.8'/>")
    _same_pixels(_svg(body))


def test_centred_and_end_anchored_labels_start_where_they_are_drawn() -> None:
    svg = _handout_svgs()["data.svg"]
    assert "text-anchor: middle" in svg and "text-anchor: end" in svg
    light = printsvg.lighten(svg)
    assert "text-anchor: middle" not in light and "text-anchor: end" not in light


@needs_poppler
def test_labels_moved_to_their_start_draw_the_same_pixels() -> None:
    labels = [("−10.0", 7.5, "middle"), ("0.484", 7.5, "end"), ("θ₁ (slope)", 8.5, "middle"),
              ("Loss of the run, log scale", 7.0, "end"), ("η = 0.1", 8.333333, "middle")]
    body = "".join(
        f"<text style='font-size: {size}px; font-family: \"DejaVu Sans\"; text-anchor: {anchor}'"
        f" x='{100 + 13.37 * i}' y='{14 + 11 * i}'{rotate}>{text}</text>"
        for i, (text, size, anchor) in enumerate(labels)
        for rotate in ("", f" transform='rotate(-90 {40 + 9 * i} {60 + 3 * i})'"))
    svg = f'{HEAD}width="200pt" height="80pt" viewBox="0 0 200 80">{body}</svg>'
    assert "text-anchor: start" in printsvg.lighten(svg)
    _same_pixels(svg)


def test_the_handout_pdf_draws_no_group_per_label() -> None:
    # WeasyPrint puts each centred SVG text in a form XObject of its own: 200 in this
    # handout before its labels were moved to their start (pypdf, which the student
    # copies' leak check reads them with, parses the fonts again for each)
    pdf = (built_handout() / "handout.pdf").read_bytes()
    assert pdf.count(b"/Subtype /Form") < 20
