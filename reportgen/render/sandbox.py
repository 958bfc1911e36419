"""Jinja's immutable sandbox with bounds on work and size, for any template a user gives.

The sandbox already stops a template from reaching Python's internals; this module stops
it from running long or growing large. Every operation a template performs is charged to
a budget of ``MAX_TEMPLATE_WORK`` units: a loop iteration, a call, a filter, an operator
(one unit each), and every KiB of text it produces, literal text included. Before an
operation that could make something huge in one step (``'x' * 10**9``, ``7 ** 10**9``,
``'%999999999d' % 1``, ``s.ljust(10**9)``) its size is estimated and refused above
``MAX_TEMPLATE_ITEMS``. Recursion ends in Python's RecursionError. Rendering also stops
once the output passes ``MAX_OUTPUT_BYTES``. What exceeds a bound raises
:class:`TemplateLimitError`, a ``SecurityError``.

The budget is deterministic (it counts work, never the clock), so a template that renders
on one machine renders on every other.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sized
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

#: Work units one rendering may spend: about a million operations, or a GiB of text.
MAX_TEMPLATE_WORK = 1_000_000
#: Characters (or items) one operation may produce: a figure's data URI fits many times.
MAX_TEMPLATE_ITEMS = 1 << 24
#: A count or width passed to a builtin (``center``, ``batch``, ``ljust``, ``lipsum``).
MAX_TEMPLATE_COUNT = 1_000_000
#: Bits of an integer a template may compute (``2 ** 4096`` is allowed, ``7 ** 10**9`` not).
MAX_INT_BITS = 1 << 16
#: Bytes of HTML one rendering may produce (the shipped handouts make under 2 MB).
MAX_OUTPUT_BYTES = 32 << 20
#: Bytes of one template file.
MAX_TEMPLATE_BYTES = 1 << 20

_KIB = 1024
_SIZED = (str, list, tuple, dict, set, frozenset, bytes)
# C0 and C1 control characters except tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class TemplateLimitError(SecurityError):
    """A template exceeded a bound on work or size."""


class _Budget:
    def __init__(self, units: int) -> None:
        self.left = units

    def charge(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise TemplateLimitError(
                f"the templates did more than {MAX_TEMPLATE_WORK:,} units of work (loop "
                f"iterations, calls, operations and KiB of text)")


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "reportgen_template_budget", default=None)


def _charge(units: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(units)


def _charge_size(value: Any) -> None:
    if isinstance(value, _SIZED):
        _charge(1 + len(value) // _KIB)
    else:
        _charge(1)


def _check_items(count: int, what: str) -> None:
    if count > MAX_TEMPLATE_ITEMS:
        raise TemplateLimitError(f"{what} would hold {count:,} items; at most "
                                 f"{MAX_TEMPLATE_ITEMS:,} are allowed")


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) else 0


def _check_int_bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateLimitError(f"{what} would be a {bits:,}-bit integer; at most "
                                 f"{MAX_INT_BITS:,} bits are allowed")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
        _check_int_bits(math.ceil(exponent * math.log2(abs(base))) if abs(base) > 1 else 1,
                        "'**'")


def _check_times(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        _check_int_bits(_bits(left) + _bits(right), "'*'")
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, _SIZED) and isinstance(count, int):
            _check_items(len(seq) * max(count, 0), "'*'")


def _check_plus(left: Any, right: Any) -> None:
    if isinstance(left, _SIZED) and isinstance(right, _SIZED):
        _check_items(len(left) + len(right), "'+'")


# Widths and precisions in %-formats and str.format specs ("%9999d", "{:>9999}").
_FORMAT_NUMBERS = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(\d*|\*)(?:\.(\d*|\*))?|\{[^{}]*:[^{}]*?(\d+)")


def _check_format(template: Any, args: Any) -> None:
    """A format string's widths, and any number it may take a width from, are bounded."""
    if not isinstance(template, str):
        return
    for match in _FORMAT_NUMBERS.finditer(template):
        for number in match.groups():
            if number and number != "*":
                _check_count(int(number), "a format width")
    values = list(args.values()) if isinstance(args, dict) else (
        list(args) if isinstance(args, tuple | list) else [args])
    if "*" in template or ":{" in template:  # a width taken from the arguments
        _check_arguments("a format width", values)
    _check_items(len(template) + sum(len(v) for v in values if isinstance(v, str)),
                 "a formatted string")


def _check_count(count: int, what: str) -> None:
    if count > MAX_TEMPLATE_COUNT:
        raise TemplateLimitError(f"{what} of {count:,} is too large; at most "
                                 f"{MAX_TEMPLATE_COUNT:,} is allowed")


def _check_arguments(what: str, args: Iterable[Any]) -> None:
    """Counts and widths passed to a builtin (``ljust``, ``center``, ``batch``) are bounded."""
    for value in args:
        if isinstance(value, int) and not isinstance(value, bool):
            _check_count(abs(value), f"{what}'s argument")


def _check_text_call(name: str, target: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> None:
    """Size estimates for the text operations that multiply their input."""
    def arg(index: int, key: str, default: Any) -> Any:
        return args[index] if len(args) > index else kwargs.get(key, default)

    if name == "replace":
        old, new, count = arg(0, "old", None), arg(1, "new", None), arg(2, "count", None)
        if isinstance(old, str) and isinstance(new, str):
            found = len(target) + 1 if not old else target.count(old)
            if isinstance(count, int) and count >= 0:
                found = min(found, count)
            _check_items(len(target) + found * max(len(new) - len(old), 0), "replace")
    elif name == "join":
        items = arg(0, "iterable", ())
        items = list(items) if isinstance(items, Iterable) else []
        _check_items(len(target) * max(len(items) - 1, 0)
                     + sum(len(str(item)) for item in items[:MAX_TEMPLATE_ITEMS]), "join")
    elif name == "indent":
        width = arg(0, "width", 4)
        width = width if isinstance(width, int) else len(str(width))
        _check_items(len(target) + (target.count("\n") + 1) * width, "indent")
    elif name == "wordwrap":
        width, wrap = arg(0, "width", 79), arg(2, "wrapstring", None)
        wrap = wrap if isinstance(wrap, str) else "\n"
        width = width if isinstance(width, int) else 79
        _check_items(len(target) + (len(target) // max(width, 1) + 1) * len(wrap), "wordwrap")


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that charges its work and refuses results larger than the bound."""
    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _charge(1)
        passed = sum(1 for a in args[:1] if isinstance(
            a, jinja2.runtime.Context | jinja2.nodes.EvalContext | jinja2.Environment))
        if name == "join" and len(args) > passed and not isinstance(args[passed], Sized):
            args = (*args[:passed], list(args[passed]), *args[passed + 1:])  # measured, kept
        rest = args[passed:]
        value, extra = (rest[0], rest[1:]) if rest else (None, ())
        if name == "format":
            _check_format(value, tuple(extra) or kwargs)
        else:
            _check_arguments(f"filter {name}", [*extra, *kwargs.values()])
            if isinstance(value, str):
                _check_text_call(name, value, tuple(extra), kwargs)
            if name == "join" and value is not None:
                separator = extra[0] if extra else kwargs.get("d", "")
                _check_text_call("join", str(separator), (value,), {})
            if name == "sum" and isinstance(value, list | tuple):
                _check_items(sum(len(item) for item in value if isinstance(item, _SIZED)),
                             "filter sum")
        result = func(*args, **kwargs)
        if isinstance(result, _SIZED):
            _check_items(len(result), f"filter {name}")
        _charge_size(result)
        return result

    return bounded


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """Iterate, charging one unit per item (every loop of every template goes through it)."""
    for item in iterable:
        _charge(1)
        yield item


_LOOP_FILTER = "reportgen_counted"


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's compiler, with every loop's items counted and all output text charged."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):  # before the filters are looked up
            loop.iter = nodes.Filter(loop.iter, _LOOP_FILTER, [], [], None, None,
                                     lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        if not (frame.require_output_check and self.has_known_extends):
            literal = sum(len(child.data) for child in node.nodes
                          if isinstance(child, nodes.TemplateData))
            if literal >= _KIB:
                self.writeline(f"environment.charge({literal // _KIB})")
        super().visit_Output(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with bounds on work and size (see the module's docstring)."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, finalize=_finalize, **kwargs)
        self.globals["lipsum"] = _bounded_lipsum
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}
        self.filters[_LOOP_FILTER] = _counted

    def add_filters(self, filters: dict[str, Callable[..., Any]]) -> None:
        """Add filters; like the built-in ones, they are charged and size-checked."""
        self.filters.update({name: _bounded_filter(name, func) for name, func in filters.items()})

    def charge(self, units: int) -> None:
        """Charge literal output (called by the compiled templates)."""
        _charge(units)

    def checked_concat(self, text: str) -> str:
        """The result of ``~``, charged and bounded (called by the compiled templates)."""
        _check_items(len(text), "'~'")
        _charge_size(text)
        return text

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any,
                   right: Any) -> Any:
        _charge(1)
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_times(left, right)
        elif operator == "+":
            _check_plus(left, right)
        elif operator == "%":
            _check_format(left, right)
        result = super().call_binop(context, operator, left, right)
        if isinstance(result, _SIZED):
            _check_items(len(result), repr(operator))
        _charge_size(result)
        return result

    def call(__self, __context: jinja2.runtime.Context, __obj: Any,
             *args: Any, **kwargs: Any) -> Any:
        _charge(1)
        target = getattr(__obj, "__wrapped__", __obj)  # str.format, as the sandbox wraps it
        owner = getattr(target, "__self__", None)
        builtin = isinstance(target, type(len)) or isinstance(owner, _SIZED)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (_counted(args[0]), *args[1:])
        if builtin:
            name = getattr(target, "__name__", "call")
            if name == "join" and args and not isinstance(args[0], Sized):
                args = (list(args[0]), *args[1:])  # measured below, then joined
            if name in ("format", "format_map") and isinstance(owner, str):
                _check_format(owner, args or kwargs)
            else:
                _check_arguments(name, [*args, *kwargs.values()])
            if isinstance(owner, str):
                _check_text_call(name, owner, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if builtin and isinstance(result, _SIZED):
            _check_items(len(result), getattr(target, "__name__", "call"))
        _charge_size(result)
        return result


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20,
                    max: int = 100) -> str:
    """Jinja's ``lipsum``, with its counts bounded."""
    from jinja2.utils import generate_lorem_ipsum

    _check_count(n * max, "lipsum's words")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}``: charged by its size, control characters replaced.

    Control characters never reach the HTML raw, whatever the data hold (the config
    refuses them in titles and names; results could come from elsewhere).
    """
    if isinstance(value, str):
        _charge(1 + len(value) // _KIB)
        if _CONTROL.search(value):
            cleaned = _CONTROL.sub("\ufffd", value)
            return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


class BoundedLoader(jinja2.FileSystemLoader):
    """A folder of templates: regular files of at most ``MAX_TEMPLATE_BYTES`` only.

    A FIFO or a device named like a template is refused before it is opened.
    """

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        for folder in self.searchpath:
            path = Path(folder, *template.split("/"))
            try:
                info = path.stat()
            except (OSError, ValueError):
                continue
            if not path.is_file():
                raise TemplateLimitError(f"template {template} is not a regular file")
            if info.st_size > MAX_TEMPLATE_BYTES:
                raise TemplateLimitError(f"template {template} has {info.st_size:,} bytes; at "
                                         f"most {MAX_TEMPLATE_BYTES:,} are allowed")
            break
        return super().get_source(environment, template)


@contextlib.contextmanager
def budget() -> Iterator[None]:
    """A fresh work budget for the templates rendered in the block."""
    token = _BUDGET.set(_Budget(MAX_TEMPLATE_WORK))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def render(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render ``template`` within a fresh budget, stopping at ``MAX_OUTPUT_BYTES``."""
    parts: list[str] = []
    size = 0
    with budget():
        for part in template.generate(context):
            size += len(part)
            if size > MAX_OUTPUT_BYTES:
                raise TemplateLimitError(f"the HTML would exceed {MAX_OUTPUT_BYTES >> 20} MiB")
            parts.append(part)
    return "".join(parts)
