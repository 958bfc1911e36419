"""Display equations: read back from the SVG they are typeset into, glyph by glyph.

Each glyph of a typeset equation is a ``<use>`` of an outline defined once, placed by a
translation (and scaled for a script): from the outlines and the placements the test finds
where every glyph's ink lies, and which character it is (through the font's own cmap).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib as mpl
import pytest
from matplotlib.ft2font import FT2Font

from reportgen.render import mathtex

FONT_DIR = Path(mpl.get_data_path()) / "fonts" / "ttf"
EM = 100.0  # glyph outlines are written at a font size of 100 units
#: Superscripts that must sit against their base: transpose and star.
TOP = "\u22a4"  # the transpose sign
TIGHT = {TOP, "*", "\u2217"}
#: The most ink gap between a base and its transpose or * superscript (in em of the equation's
#: font): mathtext's own spacing leaves 0.10 em after θ and 0.22 em after an upright X.
MAX_SUPERSCRIPT_GAP = 0.06
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Glyph:
    char: str
    font: str
    left: float  # ink, in the equation's units (EM per em)
    right: float
    bottom: float
    scale: float


@cache
def _font_chars(font: str) -> dict[int, str]:
    """Glyph index -> character of a font shipped with matplotlib, by its PostScript name
    (what the SVG's glyph ids start with)."""
    return {index: chr(code) for code, index in _faces()[font].get_charmap().items()}


@cache
def _faces() -> dict[str, FT2Font]:
    faces = (FT2Font(str(path)) for path in sorted(FONT_DIR.glob("*.ttf")))
    return {face.postscript_name: face for face in faces}


def _glyphs(svg: str) -> list[Glyph]:
    """Every glyph of the SVG in drawing order, with its ink extent."""
    outlines = {}
    for glyph_id, d, unit in re.findall(r'<path id="([^"]+)"\s+d="([^"]*)"'
                                        r'(?:\s+transform="scale\(([-\d.e]+)\)")?', svg):
        values = [float(v) * float(unit or 1.0) for v in NUMBER.findall(d)]
        xs, ys = values[0::2], values[1::2]
        outlines[glyph_id] = (min(xs), max(xs), min(ys)) if xs else (0.0, 0.0, 0.0)
    glyphs = []
    for glyph_id, tx, ty, scale in re.findall(
            r'<use xlink:href="#([^"]+)" transform="translate\(([-\d.e]+) ([-\d.e]+)\)'
            r'(?: scale\(([-\d.e]+)\))?"', svg):
        font, _, index = glyph_id.rpartition("-")
        s = float(scale or 1.0)
        x0, x1, y0 = outlines.get(glyph_id, (0.0, 0.0, 0.0))
        # outlines are y-up, as the translations (the group around them flips both)
        char = _font_chars(font).get(int(index, 16), "?")
        glyphs.append(Glyph(char, font, float(tx) + s * x0, float(tx) + s * x1,
                            float(ty) + s * y0, s))
    return glyphs


def _superscript_gaps(svg: str) -> list[tuple[str, str, float]]:
    """(base, superscript, ink gap in em) for every transpose or * set as a superscript."""
    glyphs = _glyphs(svg)
    gaps = []
    for before, glyph in itertools.pairwise(glyphs):
        if glyph.char in TIGHT and glyph.scale < 1:
            gaps.append((before.char, glyph.char, (glyph.left - before.right) / EM))
    return gaps


def test_the_svg_reader_finds_characters_and_superscripts() -> None:
    svg, _, _ = mathtex.typeset(r"$X^{\top}$", "probe")
    glyphs = _glyphs(svg)
    assert [g.char for g in glyphs] == ["X", TOP]
    assert glyphs[1].scale < 1 and glyphs[1].bottom > glyphs[0].bottom + 0.2 * EM


@pytest.mark.parametrize("name", sorted(mathtex.EQUATIONS))
def test_transposes_and_stars_are_tight_superscripts(name: str) -> None:
    equation = mathtex.equation(name)
    for base, mark, gap in _superscript_gaps(equation.svg):
        assert gap <= MAX_SUPERSCRIPT_GAP, f"{name}: {base} {mark} {gap:.3f} em apart"


def test_the_gap_check_fails_on_mathtexts_default_spacing() -> None:
    """Without the tightening, mathtext leaves gaps after X and θ that the test sees."""
    svg, _, _ = mathtex.typeset(r"$X^{\top}X\theta^{*}$", "probe")
    gaps = {(base, mark): gap for base, mark, gap in _superscript_gaps(svg)}
    assert gaps[("X", TOP)] > MAX_SUPERSCRIPT_GAP and gaps[("θ", "*")] > MAX_SUPERSCRIPT_GAP


def test_the_normal_equations_have_every_transpose_and_star() -> None:
    gaps = _superscript_gaps(mathtex.equation("normal").svg)
    assert sum(mark == TOP for _, mark, _ in gaps) == 4
    assert sum(mark == "*" for _, mark, _ in gaps) == 3


def test_one_font_and_an_upright_x_in_every_display() -> None:
    """The displays are set in DejaVu Serif, the font of the prose (and of its inline
    maths); X is upright (roman), as in the worked numbers set in text."""
    css = (Path(mathtex.__file__).parents[2] / "templates" / "handout.css").read_text()
    assert re.search(r'body\s*\{[^}]*font-family:\s*"DejaVu Serif"', css)
    for name in mathtex.EQUATIONS:
        glyphs = _glyphs(mathtex.equation(name).svg)
        # DejaVu Serif Display: the same family's large operators (the sum); STIX's sized
        # variants only where a bracket or radical grows past every DejaVu glyph
        others = {(g.char, g.font) for g in glyphs if not g.font.startswith("DejaVuSerif")}
        assert all(font.startswith("STIXSize") and char in "[]()√"
                   for char, font in others), (name, others)
        assert [g for g in glyphs if g.char == "X" and g.font != "DejaVuSerif"] == [], name


def test_column_vectors_are_bracketed_not_binomials() -> None:
    for name in ("gradient", "minibatch"):
        chars = "".join(g.char for g in _glyphs(mathtex.equation(name).svg))
        assert "[1xi]" in chars and "(1xi)" not in chars, (name, chars)


@pytest.mark.parametrize(("name", "absent", "present"), [
    ("loss", "L", "J"), ("gradient", "L", "J"), ("normal", "L", "J"),
    ("bound", "L", "λ"), ("adam", "v", "s"), ("adam-step", "v", "s"),
])
def test_equations_use_the_handouts_notation(name: str, absent: str, present: str) -> None:
    """J for the loss, 2/λ_max for the bound, s for Adam's second moment (v is momentum's)."""
    chars = [g.char for g in _glyphs(mathtex.equation(name).svg)]
    assert present in chars and absent not in chars, (name, "".join(chars))
