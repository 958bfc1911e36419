"""Results -> HTML: the sandboxed Jinja environment and the self-containment check.

All templates (shipped or a user's ``--templates DIR``, which overrides shipped ones by
name) are rendered in Jinja's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` with
autoescape and :class:`~jinja2.StrictUndefined`. The HTML is one self-contained file:
figures and equations are inline ``data:`` SVGs, the CSS is inlined, and a
Content-Security-Policy forbids the browser to fetch anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from reportgen.render.context import build_context
from reportgen.render.errors import RenderError
from reportgen.render.figures import FigureInfo
from reportgen.render.format import FILTERS
from reportgen.store.paths import templates_dir as shipped_templates_dir
from reportgen.store.results import resolve

ENTRY_TEMPLATE = "handout.html"
#: The print stylesheet: given to WeasyPrint only, so the HTML holds no paged-media CSS.
PRINT_STYLESHEET = "handout-print.css"


def environment(templates_dir: Path | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed Jinja environment: user templates first, then the shipped ones."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        folder = Path(templates_dir)
        if not folder.is_dir():
            raise RenderError(f"templates folder not found: {folder}")
        loaders.append(jinja2.FileSystemLoader(str(folder)))
    loaders.append(jinja2.FileSystemLoader(str(shipped_templates_dir())))
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    env.filters["value"] = _value_text
    return env


def _value_text(value: Any) -> str:
    """A config value as a table shows it: ``0.02``, ``[4, 3]``, ``text``."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)


def render_html(results: dict[str, Any], manifest: dict[str, Any] | None,
                figures: dict[str, FigureInfo], templates_dir: Path | None = None) -> str:
    """The handout as one self-contained HTML document.

    Raises :class:`RenderError` naming the template and line for any template error:
    an undefined variable, a syntax error, or an operation the sandbox forbids.
    """
    env = environment(templates_dir)
    context = build_context(results, manifest, figures)
    context["exercises"] = exercise_views(env, context)
    try:
        html = env.get_template(ENTRY_TEMPLATE).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"template {exc.filename or exc.name}, line {exc.lineno}: "
                          f"{exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(f"template refused by the sandbox: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(f"template uses an undefined value: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"template error: {exc}") from exc
    check_self_contained(html)
    return html


def exercise_views(env: jinja2.Environment, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The handout's exercises with prompts (and, for instructors, solutions) rendered.

    Prompts and solutions are Jinja in the same sandbox as the templates; a solution also
    reads ``answer``. Student copies carry neither the answer nor the solution.
    """
    config = context["config"]
    instructor = config.get("audience") == "instructor"
    views = []
    for index, exercise in enumerate(config.get("exercises") or []):
        view = {"number": index + 1, "id": exercise["id"], "points": exercise["points"],
                "tolerance": exercise["tolerance"],
                "prompt": _render_text(env, exercise["prompt"], context,
                                       f"exercises[{index}].prompt")}
        if instructor:
            answer = resolve(context["results"], exercise["answer"])
            view["answer"] = answer
            view["solution"] = _render_text(env, exercise["solution"],
                                            {**context, "answer": answer},
                                            f"exercises[{index}].solution")
        views.append(view)
    return views


def _render_text(env: jinja2.Environment, text: str, context: dict[str, Any],
                 where: str) -> str:
    try:
        return env.from_string(text).render(context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"{where}: {exc}") from exc


def print_stylesheet(templates_dir: Path | None = None) -> str:
    """The print stylesheet's text (a user's ``--templates`` may override it by name)."""
    env = environment(templates_dir)
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, PRINT_STYLESHEET)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from exc
    return source


# What a browser fetches by itself: src/srcset/poster/data attributes, <link href>, CSS
# url() and @import. Plain <a href> links are only followed when the reader clicks.
_FETCHED = (
    re.compile(r"""<(?:img|script|iframe|frame|embed|source|track|audio|video|input|object)\b"""
               r"""[^>]*?\s(?:src|srcset|poster|data)\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""<link\b[^>]*?\shref\s*=\s*["']?([^"'\s>]+)""", re.I),
    re.compile(r"""url\(\s*["']?([^"')\s]+)""", re.I),
    re.compile(r"""@import\s+["']([^"']+)""", re.I),
    re.compile(r"""<image\b[^>]*?\s(?:xlink:)?href\s*=\s*["']?([^"'\s>]+)""", re.I),
)


def check_self_contained(html: str) -> None:
    """Raise :class:`RenderError` naming the first resource the page would fetch.

    The handout must work offline and leak nothing: only ``data:`` URIs and in-page
    ``#fragments`` may be loaded, whatever a user template writes.
    """
    for pattern in _FETCHED:
        for match in pattern.finditer(html):
            url = match.group(1)
            if not url.lower().startswith(("data:", "#")):
                raise RenderError(f"the HTML would fetch {url}: a handout may only embed data: "
                                  f"URIs (nothing is loaded from files or the network)")
