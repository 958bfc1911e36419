"""Equations typeset with matplotlib's mathtext into SVG: no TeX, no JavaScript.

The same SVG is embedded in the HTML and, through it, in the PDF, so the two show the
equations identically. Glyphs are written as paths (``svg.fonttype = "path"``), so no
font has to be present where the handout is read.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any, Protocol

import matplotlib as mpl
from matplotlib.figure import Figure

__all__ = ["EQUATIONS", "Equation", "equation", "typeset"]

FONT_SIZE = 13.0  # pt; the HTML scales the SVG by its own width/height attributes
#: The displays' font: the body text's (handout.css sets prose, and so inline maths, in
#: DejaVu Serif), so that θ, X and λ look the same in a display and in the sentence after it.
FONTSET = "dejavuserif"

# Notation (one symbol per meaning, as the prose writes it): the loss J(θ) with minimum J*;
# the Hessian's eigenvalues λ_min, λ_max and the bound 2/λ_max; the momentum velocity v;
# Adam's running means m and s. X is upright, as in the worked numbers set in text.
# The transpose and * are tight superscripts: negative thin spaces pull them against their
# base (mathtext otherwise leaves both glyphs' side bearings, "X T X θ *"); the braces
# keep * an ordinary symbol (after a space mathtext would set it as a binary operator,
# with space around it). A column vector is bracketed, not a binomial coefficient.
_X = r"\mathrm{X}"
_XT = r"\mathrm{X}^{\!\!\top}"
_STAR = r"\theta^{\!{*}}"
_COLUMN = r"\genfrac{[}{]}{0}{0}{1}{x_i}"  # the column vector [1; x_i]
_REALS = "\u211d"  # DejaVu Serif's double-struck R (mathtext's \mathbb takes STIX italic)

# name -> (mathtext source, words for screen readers and text extraction)
EQUATIONS: dict[str, tuple[str, str]] = {
    "model": (r"$\hat{y} = \theta_0 + \theta_1\, x$",
              "y-hat equals theta-zero plus theta-one times x"),
    "loss": (r"$J(\theta) = \frac{1}{n}\sum_{i=1}^{n}\left(y_i - \theta_0 - \theta_1 x_i\right)^2"
             rf" = \frac{{1}}{{n}}\,\Vert y - {_X}\theta \Vert^2$",
             "J of theta equals the mean over i of (y_i minus theta-zero minus theta-one x_i) "
             "squared"),
    "gradient": (r"$\nabla J(\theta) = -\frac{2}{n}\sum_{i=1}^{n}\left(y_i - \theta_0 - "
                 rf"\theta_1 x_i\right){_COLUMN} = -\frac{{2}}{{n}}\,{_XT}(y - {_X}\theta)$",
                 "the gradient of J equals minus 2 over n times X transpose times "
                 "(y minus X theta)"),
    "hessian": (rf"$H = \nabla^2 J = \frac{{2}}{{n}}\,{_XT}{_X}, \qquad "
                rf"{_X} = [\,\mathbf{{1}}\quad x\,] \in \mathrm{{{_REALS}}}^{{n \times 2}}$",
                "the Hessian H equals 2 over n times X transpose X, X has a column of ones and x"),
    "gd": (r"$\theta_{k+1} = \theta_k - \eta\,\nabla J(\theta_k)$",
           "theta k plus one equals theta k minus eta times the gradient of J at theta k"),
    "minibatch": (r"$\theta_{k+1} = \theta_k + \eta\,\frac{2}{|B_k|}\sum_{i \in B_k}"
                  rf"\left(y_i - \theta_{{k,0}} - \theta_{{k,1}} x_i\right){_COLUMN}$",
                  "theta k plus one equals theta k minus eta times the gradient of the loss on "
                  "the batch B_k only"),
    "bound": (r"$0 < \eta < \dfrac{2}{\lambda_{\max}}$",
              "eta between 0 and 2 over lambda-max, the largest eigenvalue of the Hessian H"),
    "contraction": (rf"$\theta_{{k+1}} - {_STAR} = (I - \eta H)\,(\theta_k - {_STAR}),"
                    r"\qquad |1 - \eta\lambda_{\min}|,\ |1 - \eta\lambda_{\max}|$",
                    "the error is multiplied by I minus eta H at every step; along each "
                    "eigenvector by the absolute value of 1 minus eta lambda"),
    "momentum": (r"$v_{k+1} = \beta v_k + \nabla J(\theta_k), \qquad "
                 r"\theta_{k+1} = \theta_k - \eta\, v_{k+1}$",
                 "heavy-ball momentum: the velocity v keeps beta of itself and adds the gradient"),
    "nesterov": (r"$v_{k+1} = \beta v_k + \nabla J(\theta_k), \qquad \theta_{k+1} = \theta_k"
                 r" - \eta\,\left(\beta v_{k+1} + \nabla J(\theta_k)\right)$",
                 "Nesterov momentum: the step looks ahead along the velocity v"),
    "adam": (r"$m_{k+1} = \beta_1 m_k + (1-\beta_1)\, g_k, \qquad "
             r"s_{k+1} = \beta_2 s_k + (1-\beta_2)\, g_k^2$",
             "Adam's running means: m of the gradient g, s of its square, with decay rates "
             "beta-one and beta-two"),
    "adam-step": (r"$\hat{m} = \frac{m_{k+1}}{1-\beta_1^{k+1}},\quad "
                  r"\hat{s} = \frac{s_{k+1}}{1-\beta_2^{k+1}},\quad "
                  r"\theta_{k+1} = \theta_k - \eta\,\frac{\hat{m}}{\sqrt{\hat{s}} + \epsilon}$",
                  "the bias-corrected means m-hat and s-hat; each coordinate steps by eta times "
                  "m-hat over the square root of s-hat plus epsilon"),
    "rmsprop": (r"$s_{k+1} = \rho\, s_k + (1-\rho)\, g_k^2, \qquad \theta_{k+1} = \theta_k"
                r" - \eta\,\frac{g_k}{\sqrt{s_{k+1} + \epsilon}}$",
                "RMSProp: the step divides the gradient by the root of a running mean of its "
                "square"),
    "normal": (rf"$\nabla J({_STAR}) = 0 \quad\Longleftrightarrow\quad {_XT}{_X}\,{_STAR}"
               rf" = {_XT}y \quad\Longleftrightarrow\quad "
               rf"{_STAR} = ({_XT}{_X})^{{-1}}{_XT}y$",
               "the gradient vanishes at theta-star exactly when X transpose X theta-star equals "
               "X transpose y, so theta-star equals the inverse of X transpose X times X "
               "transpose y"),
}


@dataclass(frozen=True)
class Equation:
    """A typeset equation: its SVG, its size in points and its words."""

    name: str
    source: str
    alt: str
    svg: str
    width_pt: float
    height_pt: float

    @property
    def data_uri(self) -> str:
        """The equation's SVG as a ``data:`` URI."""
        return svg_data_uri(self.svg)


def svg_data_uri(svg: str) -> str:
    """An SVG document as a base64 ``data:`` URI (what self-contained HTML embeds)."""
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


def typeset(source: str, name: str = "equation",
            size: float = FONT_SIZE) -> tuple[str, float, float]:
    """Typeset one mathtext string; returns (svg, width_pt, height_pt), deterministic."""
    rc: Any = {"mathtext.fontset": FONTSET, "svg.fonttype": "path",
          "svg.hashsalt": f"reportgen-eq:{name}", "font.size": size}
    with mpl.rc_context(rc):
        fig = Figure(figsize=(1, 1), dpi=72)
        fig.text(0, 0, source, fontsize=size)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.03, transparent=True,
                    metadata={"Date": None})
    svg = buf.getvalue()
    width, height = _svg_size(svg)
    return svg, width, height


def _svg_size(svg: str) -> tuple[float, float]:
    head = svg[svg.index("<svg"): svg.index(">", svg.index("<svg"))]

    def attr(key: str) -> float:
        start = head.index(f'{key}="') + len(key) + 2
        return float(head[start: head.index('"', start)].removesuffix("pt"))

    return attr("width"), attr("height")


class FigureCache(Protocol):
    """Where drawn figures and typeset equations are kept between builds: JSON text by
    the digest of their inputs (``render.figures.MemoryCache``, ``store.cache.FigureStore``).
    """

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, text: str) -> None: ...


#: Equations typeset in this process (or read from a store), by name.
_TYPESET: dict[str, Equation] = {}


def equation(name: str) -> Equation:
    """The named equation of :data:`EQUATIONS`, typeset (cached per process)."""
    if name not in _TYPESET:
        source, alt = EQUATIONS[name]
        svg, width, height = typeset(source, name)
        _TYPESET[name] = Equation(name, source, alt, svg, width, height)
    return _TYPESET[name]


def typeset_all(store: FigureCache | None = None) -> None:
    """Typeset every equation of :data:`EQUATIONS` into this process's cache, reading them
    from ``store`` (a figure cache) when it has this code's typesetting, else storing it
    there: a rebuild typesets nothing (what the helper process does while numbers are
    computed, and a build before its HTML)."""
    key = _store_key() if store is not None else ""
    if store is not None and _load(store.get(key)):
        return
    for name in EQUATIONS:
        equation(name)
    if store is not None:
        typeset = {name: equation(name) for name in EQUATIONS}
        store.put(key, json.dumps({name: [item.svg, item.width_pt, item.height_pt]
                                   for name, item in typeset.items()}))


def _store_key() -> str:
    """What typesetting depends on: this module's code, matplotlib and its FreeType."""
    from matplotlib import ft2font

    from reportgen import codebase as sources

    return hashlib.sha256(repr(("equations", sources.code_digest(__name__), mpl.__version__,
                                getattr(ft2font, "__freetype_version__", None))).encode()
                          ).hexdigest()


def _load(text: str | None) -> bool:
    """Fill the process cache from a stored typesetting; False if it is missing or is not
    one (then nothing is filled)."""
    if text is None:
        return False
    try:
        stored = json.loads(text)
        typeset = {name: Equation(name, source, alt, str(stored[name][0]),
                                  float(stored[name][1]), float(stored[name][2]))
                   for name, (source, alt) in EQUATIONS.items()}
    except (ValueError, KeyError, TypeError, IndexError):
        return False
    if set(stored) != set(EQUATIONS) or \
            not all(item.svg.startswith("<?xml") for item in typeset.values()):
        return False
    _TYPESET.update(typeset)
    return True
