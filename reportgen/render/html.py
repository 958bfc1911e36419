"""Results -> HTML: the bounded Jinja sandbox, the Content-Security-Policy, and the
self-containment check.

All templates (shipped or a user's ``--templates DIR``, which overrides shipped ones by
name) are rendered in a bounded :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`
(:mod:`reportgen.render.sandbox`) with autoescape and :class:`~jinja2.StrictUndefined`.
The HTML is one self-contained file: figures and equations are inline ``data:`` SVGs,
the CSS is inlined, and a Content-Security-Policy, which the renderer puts first in
``<head>`` whatever the templates write, forbids the browser to fetch anything.
"""

from __future__ import annotations

import functools
import re
import traceback
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2

from reportgen.render import sandbox
from reportgen.render.context import build_context
from reportgen.render.errors import RenderError
from reportgen.render.figures import FigureInfo
from reportgen.render.format import FILTERS
from reportgen.render.policy import CONTENT_SECURITY_POLICY as CONTENT_SECURITY_POLICY
from reportgen.render.policy import CSP_META
from reportgen.shipped import templates_dir as shipped_templates_dir
from reportgen.store.results import Results, answers

ENTRY_TEMPLATE = "handout.html"
#: The print stylesheet: given to WeasyPrint only, so the HTML holds no paged-media CSS.
PRINT_STYLESHEET = "handout-print.css"



def environment(templates_dir: Path | None = None) -> sandbox.BoundedSandbox:
    """The bounded sandboxed Jinja environment: user templates first, then the shipped ones.

    The shipped templates' environment is made once per process, so that a warm process
    (a batch worker, ``watch``) compiles them once; Jinja still reloads a template whose
    file changed. Every render gets a fresh budget (``sandbox.render``) whichever it is.
    """
    if templates_dir is None:
        return _shipped_environment()
    return _new_environment(templates_dir)


@functools.cache
def _shipped_environment() -> sandbox.BoundedSandbox:
    return _new_environment(None)


def _new_environment(templates_dir: Path | None) -> sandbox.BoundedSandbox:
    folders = [str(shipped_templates_dir())]
    if templates_dir is not None:
        folder = Path(templates_dir)
        if not folder.is_dir():
            raise RenderError(f"templates folder not found: {folder}")
        folders.insert(0, str(folder))
    env = sandbox.BoundedSandbox(
        loader=jinja2.ChoiceLoader([sandbox.BoundedLoader(folder) for folder in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.add_filters(FILTERS)
    env.add_filters({"value": _value_text})
    return env


def _value_text(value: Any) -> str:
    """A config value as a table shows it: ``0.02``, ``[4, 3]``, ``text``."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    return str(value)


def render_context(results: Results, manifest: dict[str, Any] | None,
                   figures: dict[str, FigureInfo],
                   env: jinja2.Environment | None = None) -> dict[str, Any]:
    """The whole template context (``context.HandoutContext``): built, with the exercises'
    prompts (and solutions) rendered in the sandbox."""
    context = build_context(results, manifest, figures)
    context["exercises"] = exercise_views(env or environment(), context, results)
    return context


def render_html(results: Results, manifest: dict[str, Any] | None,
                figures: dict[str, FigureInfo], templates_dir: Path | None = None) -> str:
    """The handout as one self-contained HTML document.

    Raises :class:`RenderError` naming the template and line for any template error:
    an undefined variable, a syntax error, an operation the sandbox forbids, or a bound
    on work or size exceeded (:mod:`reportgen.render.sandbox`). With user templates any
    error they raise is reported so; with the shipped ones only template errors are.
    """
    env = environment(templates_dir)
    context = render_context(results, manifest, figures, env)
    try:
        html = sandbox.render(env.get_template(ENTRY_TEMPLATE), context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(_one_line(f"template {_template_name(exc.filename or exc.name)}, "
                                    f"line {exc.lineno}: {exc.message}")) from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from exc
    except jinja2.exceptions.SecurityError as exc:
        raise RenderError(_one_line(f"{_where(exc)}refused by the sandbox: {exc}")) from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(_one_line(f"{_where(exc)}uses an undefined value: "
                                    f"{exc.message}")) from exc
    except jinja2.TemplateError as exc:
        raise RenderError(_one_line(f"{_where(exc)}template error: {exc}")) from exc
    except RecursionError as exc:
        raise RenderError(_one_line(f"{_where(exc)}recursion too deep (a template that "
                                    f"includes or calls itself?)")) from None
    except (OverflowError, MemoryError) as exc:
        raise RenderError(_one_line(f"{_where(exc)}{type(exc).__name__}: {exc}")) from None
    except Exception as exc:
        if templates_dir is None:
            raise  # the shipped templates failing is a bug, not bad input
        raise RenderError(_one_line(f"{_where(exc)}{type(exc).__name__}: {exc}")) from exc
    html = with_content_security_policy(html)
    check_self_contained(html)
    return html


def exercise_views(env: jinja2.Environment, context: dict[str, Any],
                   results: Results) -> list[dict[str, Any]]:
    """The handout's exercises with prompts (and, for instructors, solutions) rendered.

    Prompts and solutions are Jinja in the same sandbox as the templates; a solution also
    reads ``answer``. Student copies carry neither the answer nor the solution.
    """
    instructor = results.config.audience == "instructor"
    expected = answers(results) if instructor else []
    views = []
    for index, exercise in enumerate(results.config.exercises):
        view = {"number": index + 1, "id": exercise.id, "points": exercise.points,
                "tolerance": exercise.tolerance,
                "prompt": _render_text(env, exercise.prompt, context,
                                       f"exercises[{index}].prompt")}
        if instructor:
            answer = expected[index].value
            view["answer"] = answer
            view["solution"] = _render_text(env, exercise.solution,
                                            {**context, "answer": answer},
                                            f"exercises[{index}].solution")
        views.append(view)
    return views


def _render_text(env: jinja2.Environment, text: str, context: dict[str, Any],
                 where: str) -> str:
    try:
        return sandbox.render(env.from_string(text), context)
    except (jinja2.TemplateError, RecursionError, OverflowError, MemoryError) as exc:
        raise RenderError(_one_line(f"{where}: {exc}")) from exc


def print_stylesheet(templates_dir: Path | None = None) -> str:
    """The print stylesheet's text (a user's ``--templates`` may override it by name)."""
    env = environment(templates_dir)
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, PRINT_STYLESHEET)
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"template not found: {exc.name}") from exc
    return source
def _template_name(filename: str | None) -> str:
    return Path(filename).name if filename else "?"


def _where(exc: BaseException) -> str:
    """``template NAME, line N: `` of the innermost template frame in ``exc``'s traceback.

    Jinja rewrites tracebacks so that template code shows as its file and line.
    """
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".html", ".css", ".htm", ".j2", ".jinja")):
            return f"template {_template_name(frame.filename)}, line {frame.lineno}: "
    return f"template {ENTRY_TEMPLATE}: "


def _one_line(message: str, limit: int = 300) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- the policy

# What may come before <head>: a doctype and an <html> tag, with plain double-quoted
# attributes only (no quote or angle bracket inside a value), so that the <head> found
# is the one a browser finds (never one inside a comment, a script or an attribute).
_ATTRIBUTES = r'(?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*(?:\s*=\s*"[^"<>]*")?)*\s*'
_HEAD = re.compile(rf"\A\ufeff?\s*(?:<!doctype\s+html(?:\s[^<>]*)?>\s*)?(?:<html{_ATTRIBUTES}>\s*)?"
                   rf"<head{_ATTRIBUTES}>", re.I)
# Elements a head may begin with before the policy, which fetch nothing.
_INERT_META = re.compile(r'\s*<meta\s+(?:charset="[^"<>]*"|name="viewport"\s+content="[^"<>]*")'
                         r"\s*/?>", re.I)


_POLICY = re.compile(r"\s*" + re.escape(CSP_META))


def with_content_security_policy(html: str) -> str:
    """``html`` with reportgen's Content-Security-Policy first in its ``<head>``.

    A head that already starts with the policy (after ``<meta charset>`` and the viewport,
    which fetch nothing) is left as it is: the shipped templates' bytes do not change.
    Otherwise the policy is inserted right after ``<head>`` (a second policy a template
    declares can only forbid more). Refused with :class:`RenderError`: a document whose
    ``<head>`` is missing or not plainly at its start, and any ``http-equiv`` but a
    Content-Security-Policy (``refresh`` navigates, which no policy stops).
    """
    head = _HEAD.match(html)
    if head is None:
        raise RenderError(f"template {ENTRY_TEMPLATE}: the HTML must start with <!doctype html>, "
                          f"<html> and <head> (plain double-quoted attributes only): the "
                          f"Content-Security-Policy goes first in <head>")
    start = position = head.end()
    while (inert := _INERT_META.match(html, position)) is not None:
        position = inert.end()
    if _POLICY.match(html, position) is None:
        html = f"{html[:start]}\n{CSP_META}{html[start:]}"
    pragma = _Pragmas.first_in(html)
    if pragma is not None:
        raise RenderError(f"template {ENTRY_TEMPLATE}: the HTML has <meta http-equiv="
                          f"\"{pragma}\">; a handout may not navigate or set anything by itself "
                          f"(only a Content-Security-Policy may be declared so)")
    return html


class _Pragmas(HTMLParser):
    """Finds ``http-equiv`` attributes other than a Content-Security-Policy's.

    Python's parser reads attributes as browsers do (quotes, ``/`` separators, character
    references in values); it reads tags inside ``<title>`` or ``<textarea>`` too, which
    can only refuse more than a browser would act on.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: str | None = None

    @classmethod
    def first_in(cls, html: str) -> str | None:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser.found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "http-equiv" and self.found is None and \
                    (value or "").strip().lower() != "content-security-policy":
                self.found = (value or "").strip()[:40]


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
    ``#fragments`` may be loaded. This static check catches the plain cases early (and
    for WeasyPrint); the Content-Security-Policy is what a browser enforces.
    """
    for pattern in _FETCHED:
        for match in pattern.finditer(html):
            url = match.group(1)
            if not url.lower().startswith(("data:", "#")):
                raise RenderError(f"the HTML would fetch {url}: a handout may only embed data: "
                                  f"URIs (nothing is loaded from files or the network)")
