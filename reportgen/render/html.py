"""Results -> HTML: the bounded Jinja sandbox and the self-containment check.

All templates (shipped or a user's ``--templates DIR``, which overrides shipped ones by
name) are rendered in a bounded :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`
(:mod:`reportgen.render.sandbox`) with autoescape and :class:`~jinja2.StrictUndefined`.
The HTML is one self-contained file: figures and equations are inline ``data:`` SVGs,
the CSS is inlined, and a Content-Security-Policy forbids the browser to fetch anything.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

import jinja2

from reportgen.render import sandbox
from reportgen.render.context import build_context
from reportgen.render.errors import RenderError
from reportgen.render.figures import FigureInfo
from reportgen.render.format import FILTERS
from reportgen.store.paths import templates_dir as shipped_templates_dir

ENTRY_TEMPLATE = "handout.html"

def environment(templates_dir: Path | None = None) -> sandbox.BoundedSandbox:
    """The bounded sandboxed Jinja environment: user templates first, then the shipped ones."""
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
    return env


def render_html(results: dict[str, Any], manifest: dict[str, Any] | None,
                figures: dict[str, FigureInfo], templates_dir: Path | None = None) -> str:
    """The handout as one self-contained HTML document.

    Raises :class:`RenderError` naming the template and line for any template error:
    an undefined variable, a syntax error, an operation the sandbox forbids, or a bound
    on work or size exceeded (:mod:`reportgen.render.sandbox`). With user templates any
    error they raise is reported so; with the shipped ones only template errors are.
    """
    env = environment(templates_dir)
    context = build_context(results, manifest, figures)
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
    check_self_contained(html)
    return html


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
