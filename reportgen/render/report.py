"""Results -> the rendered files of a report: figures, ``index.html``, ``handout.pdf`` and
``handout.ipynb``.

Everything is rendered in memory and returned as bytes by relative path; writing them
(atomically) is the store's job. That keeps rendering free of file-system effects, so
the same function serves a local build, a worker process and a Dask task.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import BrokenExecutor, Executor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from reportgen.layout import HTML_FILE as HTML_FILE
from reportgen.layout import NOTEBOOK_FILE as NOTEBOOK_FILE
from reportgen.layout import PDF_FILE as PDF_FILE
from reportgen.render import FORMATS
from reportgen.render.errors import RenderError
from reportgen.render.figures import FigureCache, make_figures
from reportgen.render.html import print_stylesheet, render_html
from reportgen.render.mathtex import typeset_all
from reportgen.render.pagination import PlanStore
from reportgen.render.pdf import render_pdf
from reportgen.store.results import Results

T = TypeVar("T")

#: A form copy's PDF is typeset without ligatures: WeasyPrint embeds a form's font whole,
#: and its ligature glyphs would extract as "ﬁ" and "ﬂ" (search and copy would fail).
NO_LIGATURES = "\nhtml { font-variant-ligatures: none; }\n"


def renderer_environment() -> dict[str, Any]:
    """What the renderer adds to a manifest's environment: FreeType's version.

    FreeType (as matplotlib was built against it) shapes the glyphs in every figure.
    """
    from matplotlib import ft2font

    return {"freetype": str(getattr(ft2font, "__freetype_version__", None))}


def render_report(
    results: Results,
    manifest: dict[str, Any] | None,
    formats: Collection[str],
    *,
    arrays: Mapping[str, np.ndarray] | None = None,
    templates_dir: Path | None = None,
    attachments: Mapping[str, bytes] | None = None,
    progress: Callable[[str], Any] | None = None,
    figure_cache: FigureCache | None = None,
    plan_store: PlanStore | None = None,
    helper: Executor | None = None,
) -> dict[str, bytes]:
    """Render a handout's figures, HTML, PDF and notebook (as ``formats`` asks).

    Args:
      results: the results; for a student copy, its student view
        (``store.student.student_view``), which lacks what the copy withholds.
      manifest: the provenance shown in small print and embedded in the HTML.
      formats: any of ``html``, ``pdf`` and ``ipynb``; the figures (and the HTML, which
        the PDF is typeset from and the notebook takes its text from) are always rendered.
      arrays: large arrays kept beside results.json (``surface.npy``), by file name.
      templates_dir: templates overriding the shipped ones by name.
      attachments: files the PDF carries, by name.
      progress: called with each stage's name as it starts.
      figure_cache: figures drawn before, reused when their inputs are the same.
      plan_store: where the PDF's figure moves are kept between builds (default
        ``figure_cache``); given alone, figures are drawn afresh and only the layout's
        search is skipped (``verify``: the bytes are compared either way).
      helper: a one-process executor (``reportgen.renderer_process``, its renderer imported while
        this process computed) that draws some of the figures, renders the HTML and
        typesets the PDF.

    Returns:
      The files by their path relative to the report folder.

    Raises:
      RenderError: a template error or a resource the handout tried to fetch.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise RenderError(f"unknown format(s) {sorted(unknown)}; expected any of "
                          f"{', '.join(FORMATS)}")
    say = progress or (lambda _stage: None)
    config = results.config
    say("figures")
    if helper is not None:  # the HTML is rendered there: its equations first
        with contextlib.suppress(BrokenExecutor):
            helper.submit(typeset_all, figure_cache)
    figures = make_figures(results, arrays, figure_cache, helper, phone="html" in formats)
    if helper is None and figure_cache is not None:
        typeset_all(figure_cache)
    files = {figure.filename: figure.svg.encode("utf-8") for figure in figures.values()}
    say("html")
    # The PDF and the notebook are made from the page without the phone variants, so that
    # their bytes never depend on whether index.html was asked for too.
    printed = {name: dataclasses.replace(figure, narrow_svg=None)
               for name, figure in figures.items()}
    html = _in_helper(helper, render_html, results, manifest, printed, templates_dir)
    if "html" in formats:
        page = html if printed == figures else _in_helper(
            helper, render_html, results, manifest, figures, templates_dir)
        files[HTML_FILE] = page.encode("utf-8")
    if "pdf" in formats:
        say("pdf")
        forms = results.is_student_copy
        arguments = (html, config.paper, config.date, attachments)
        options = {"print_css": print_stylesheet(templates_dir) + (NO_LIGATURES if forms else ""),
                   "standard": config.pdf.standard, "forms": forms,
                   "plan_store": figure_cache if plan_store is None else plan_store}
        files[PDF_FILE] = _in_helper(helper, render_pdf, *arguments, **options)
    if "ipynb" in formats:
        say("notebook")
        from reportgen.render.notebook import render_notebook

        files[NOTEBOOK_FILE] = render_notebook(results, html)
    return files


def _in_helper(helper: Executor | None, function: Callable[..., T], *args: Any,
               **kwargs: Any) -> T:
    """``function(*args, **kwargs)`` in the helper process if there is one (its WeasyPrint
    is imported already), else here; here too if the helper has died."""
    if helper is not None:
        try:
            return helper.submit(function, *args, **kwargs).result()
        except BrokenExecutor:
            pass
    return function(*args, **kwargs)
