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
import math
import re
import traceback
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from reportgen.config.course_mode import ExerciseConfig, option_letter
from reportgen.render import sandbox
from reportgen.render.context import build_context
from reportgen.render.errors import RenderError
from reportgen.render.figures import FigureInfo
from reportgen.render.format import FILTERS, fmt_num, fmt_rate
from reportgen.render.policy import CONTENT_SECURITY_POLICY as CONTENT_SECURITY_POLICY
from reportgen.render.policy import CSP_META
from reportgen.shipped import templates_dir as shipped_templates_dir
from reportgen.store.answers import Answer, answers, exercise_inputs, printed_digits, worked
from reportgen.store.results import Results

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
    """The handout's exercises: each prompt rendered, the kind's own statement, the numbers
    to work from, the options of a choice; for instructors the answer, the worked steps and
    the solution.

    Prompts and solutions are Jinja in the same sandbox as the templates; a solution also
    reads ``answer`` and ``work``. A student copy's prompts see only its student context
    (``prompt_context``: what the copy withholds is undefined there, so a prompt that
    prints it fails), and the copy carries neither answers nor solutions.
    """
    instructor = results.config.audience == "instructor"
    expected = answers(results) if instructor else []
    prompt_context = context if instructor else student_context(context)
    views = []
    for index, exercise in enumerate(results.config.exercises):
        inputs = exercise_inputs(results, exercise)
        digits = printed_digits(inputs, exercise)
        view: dict[str, Any] = {
            "number": index + 1, "id": exercise.id, "kind": exercise.kind,
            "points": exercise.points, "tolerance": exercise.tolerance,
            "prompt": _render_text(env, exercise.prompt, prompt_context,
                                   f"exercises[{index}].prompt"),
            "asked": asked(exercise),
            "given": [{"name": name, "label": INPUT_LABELS[name],
                       "text": given_text(value, name, digits)}
                      for name, value in inputs.items()],
            "options": [{"letter": option_letter(i), "rate": fmt_rate(rate)}
                        for i, rate in enumerate(exercise.options or ())],
        }
        if instructor:
            answer = expected[index]
            work = worked(results, exercise)
            view.update(answer=answer.value, answer_text=_answer_text(answer), work=work)
            view["solution"] = _render_text(env, exercise.solution,
                                            {**context, "answer": answer.value, "work": work},
                                            f"exercises[{index}].solution")
        views.append(view)
    return views


#: How an exercise names the numbers it prints.
INPUT_LABELS = {"hessian": "H", "n": "n", "xtx": "X\u1d40X", "xty": "X\u1d40y",
                "theta_star": "\u03b8*", "loss_star": "J*"}


def given_text(value: Any, name: str, digits: int) -> str:
    """A printed input: a count as it is, a number, vector or matrix with ``digits``
    significant digits, written as Python and numpy read it (``[[2.000, 2.299], ...]``)."""
    if name == "n":
        return str(int(value))
    return _nested(np.asarray(value, dtype=np.float64), digits)


def _nested(array: np.ndarray, digits: int) -> str:
    if array.ndim == 0:
        value = float(f"{float(array):.{digits - 1}e}")  # rounded as store.kinds rounds
        exponent = math.floor(math.log10(abs(value))) if value else 0
        text = f"{value:.{max(0, digits - 1 - exponent)}f}"
        return text.replace("-", "\u2212")
    return "[" + ", ".join(_nested(row, digits) for row in array) + "]"


def asked(exercise: ExerciseConfig) -> str:
    """What a kind asks, with its parameters, in one sentence (after the prompt)."""
    if exercise.kind == "gd-steps":
        start = ", ".join(fmt_rate(v) for v in exercise.start or ())
        return (f"Start at \u03b8(0) = ({start}) and take {exercise.steps} step"
                f"{'s' if exercise.steps != 1 else ''} of full-batch gradient descent at "
                f"\u03b7 = {fmt_rate(exercise.learning_rate)}, "
                f"\u03b8(k+1) = \u03b8(k) \u2212 \u03b7 \u00b7 (2/n)(X\u1d40X \u03b8(k) "
                f"\u2212 X\u1d40y). Give \u03b8{exercise.component}({exercise.steps}), "
                f"the {'slope' if exercise.component == 1 else 'intercept'}.")
    if exercise.kind == "steps-to":
        start = ", ".join(fmt_rate(v) for v in exercise.start or ())
        return (f"Run full-batch gradient descent from \u03b8(0) = ({start}) at \u03b7 = "
                f"{fmt_rate(exercise.learning_rate)}. Give the first step k at which "
                f"J(\u03b8(k)) \u2264 (1 + {fmt_rate(exercise.fraction)}) J*, using "
                f"J(\u03b8) \u2212 J* = (\u03b8 \u2212 \u03b8*)\u1d40 X\u1d40X "
                f"(\u03b8 \u2212 \u03b8*)/n.")
    if exercise.kind == "choice":
        verb = ("makes full-batch gradient descent diverge" if exercise.question == "diverges"
                else "makes full-batch gradient descent converge fastest")
        return f"Which learning rate {verb}? Give its letter."
    return ""


def _answer_text(answer: Answer) -> str:
    if not answer.numeric:
        return answer.text
    return fmt_num(answer.value, 4) if abs(answer.value) >= 1e-3 else fmt_num(answer.value, 6)


def student_prompts(results: Results,
                    templates_dir: Path | None = None) -> dict[int, tuple[str, str]]:
    """Each exercise's prompt (its source, and its text) as a student copy of ``results``
    (its student view) renders it: what the view lacks is undefined.

    Raises:
      RenderError: a prompt that uses what a student copy withholds, naming the exercise.
    """
    env = environment(templates_dir)
    context = student_context(build_context(results, None, {}))
    found = {}
    for index, exercise in enumerate(results.config.exercises):
        where = f"exercises[{index}].prompt"
        try:
            text = sandbox.render(env.from_string(exercise.prompt), context)
        except jinja2.UndefinedError as exc:
            raise RenderError(_one_line(f"{where}: uses what a student copy does not hold "
                                        f"({exc.message}); a prompt may not show an "
                                        f"answer or what gives it away")) from None
        except (jinja2.TemplateError, RecursionError, OverflowError, MemoryError) as exc:
            raise RenderError(_one_line(f"{where}: {exc}")) from None
        found[index] = (exercise.prompt, text)
    return found


def student_context(context: dict[str, Any]) -> dict[str, Any]:
    """The context a student copy's prompts are rendered in: every value the copy lacks
    (None, or NaN derived from what it withholds) is left out, so a prompt that uses one
    fails with an undefined variable instead of printing it."""
    return {key: _present(value) for key, value in context.items() if _kept(value)}


def _kept(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _present(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _present(item) for key, item in value.items() if _kept(item)}
    if isinstance(value, list):
        return [_present(item) for item in value]
    return value


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
