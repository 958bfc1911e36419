"""The leak check: a student copy searched, before it is written, for numbers that score.

A student copy is rendered from a value that lacks what it withholds
(``store.student.student_view``); this check is the backstop for what a template, a prompt
or a coincidence prints anyway. A printed number x gives an answer a away when x, 1/x,
2/x, x/2, 2x, 100x or x/100 (the one-step ways from a printed number to a typed answer) is
within the exercise's tolerance of a: that number, typed, would score.

Everything a student can read is searched, as text: the HTML's text and readable
attributes, every figure's text (its ``<text>`` and ``<title>``), the PDF's page text,
metadata, attachments and form fields (values, defaults, options), and every other text
file of the folder. Numbers are read by a linear scanner, never a backtracking pattern:
a true minus, thin-space digit groups, a decimal point, an exponent written ``e-7`` or
``× 10⁻⁷``; with ``spaced`` also digits a prompt spaces out (``0.4 9 8 7``). Digits glued
to letters (a hash, ``x2``) and dotted versions (``1.26.4``) are not numbers.

Measured answers (kinds value and gd-steps) are searched so. A count of steps is searched
as "N steps" / "step N" (every page has small integers); a choice's letter is not searched
(every page has letters): both are kept out of a copy by construction only.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from reportgen.config import ConfigError
from reportgen.store.answers import Answer

TEXT_SUFFIXES = (".html", ".svg", ".json", ".toml", ".csv", ".txt", ".css")
#: The one-step ways from a printed number to a typed answer, by name.
TRANSFORMS = (("x", lambda x: x), ("1/x", lambda x: 1.0 / x), ("2/x", lambda x: 2.0 / x),
              ("x/2", lambda x: x / 2.0), ("2x", lambda x: 2.0 * x),
              ("100x", lambda x: 100.0 * x), ("x/100", lambda x: x / 100.0))
#: Attributes whose text a reader sees (alt text, tooltips, form values, labels).
READABLE_ATTRIBUTES = frozenset({"alt", "title", "value", "placeholder", "aria-label",
                                 "label", "content", "data-claim"})
_MINUS = "-\u2212"
_SPACES = " \u2009\u202f\u00a0"
_GROUP = "\u2009\u202f\u00a0"
_SUPERSCRIPT = {"\u207b": "-", "\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3",
                "\u2074": "4", "\u2075": "5", "\u2076": "6", "\u2077": "7", "\u2078": "8",
                "\u2079": "9"}


# ---------------------------------------------------------------- reading numbers


def _digits_at(text: str, start: int, spaced: bool, grouped: bool) -> tuple[str, int]:
    """The digits from ``start`` on, with the separators allowed between them; returns them
    and the index after the last one."""
    out = []
    i, end = start, len(text)
    while i < end:
        char = text[i]
        if "0" <= char <= "9":
            out.append(char)
            i += 1
            continue
        if spaced and char in _SPACES and out:
            j = i + 1
            while j < end and text[j] in _SPACES:
                j += 1
            if j < end and "0" <= text[j] <= "9":
                i = j
                continue
            break
        if grouped and char in _GROUP and out and text[i + 1:i + 4].isdigit() \
                and len(text[i + 1:i + 4]) == 3 and not text[i + 4:i + 5].isdigit():
            i += 1
            continue
        break
    return "".join(out), i


def _exponent_at(text: str, i: int) -> tuple[int | None, int]:
    """An exponent right after a mantissa: ``e-7`` or `` × 10⁻⁷`` / ``×10^-7``."""
    end = len(text)
    if i < end and text[i] in "eE":
        j = i + 1
        sign = ""
        if j < end and text[j] in "+" + _MINUS:
            sign = "-" if text[j] in _MINUS else ""
            j += 1
        digits, k = _digits_at(text, j, False, False)
        if digits and not (k < end and text[k].isalpha()):
            return int(sign + digits), k
        return None, i
    j = i
    while j < end and text[j] in _SPACES:
        j += 1
    if j < end and text[j] in "\u00d7x*\u00b7":
        j += 1
        while j < end and text[j] in _SPACES:
            j += 1
        if text.startswith("10", j):
            k = j + 2
            if k < end and text[k] == "^":
                k += 1
                sign = ""
                if k < end and text[k] in "+" + _MINUS:
                    sign = "-" if text[k] in _MINUS else ""
                    k += 1
                digits, k = _digits_at(text, k, False, False)
                return (int(sign + digits), k) if digits else (None, i)
            sup = []
            while k < end and text[k] in _SUPERSCRIPT:
                sup.append(_SUPERSCRIPT[text[k]])
                k += 1
            if sup and sup != ["-"]:
                return int("".join(sup)), k
    return None, i


def numbers(text: str, spaced: bool = False) -> Iterator[tuple[str, float]]:
    """Every number written in ``text``, as (its text, its value), in one linear pass.

    ``spaced`` also joins digits separated by single spaces (``0.4 9 8``), as a prompt
    might print an answer to dodge a search; a document's tables are read without it.
    """
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        starts = "0" <= char <= "9" or (char == "." and i + 1 < end and text[i + 1].isdigit())
        if not starts or (i > 0 and (text[i - 1].isalnum() or text[i - 1] in "._")):
            i += 1
            continue
        first = i
        negative = i > 0 and text[i - 1] in _MINUS and (i < 2 or not text[i - 2].isalnum())
        whole, i = _digits_at(text, i, spaced, True)
        if spaced:  # "0 . 4 7": spaces before the point too
            j = i
            while j < end and text[j] in _SPACES:
                j += 1
            if j > i and j + 1 < end and text[j] == ".":
                i = j
        fraction = ""
        if i < end and text[i] == "." and i + 1 < end and "0" <= text[i + 1] <= "9":
            fraction, i = _digits_at(text, i + 1, spaced, False)
        elif spaced and i + 2 < end and text[i] == "." and text[i + 1] in _SPACES:
            j = i + 1
            while j < end and text[j] in _SPACES:
                j += 1
            if j < end and text[j].isdigit():
                fraction, i = _digits_at(text, j, spaced, False)
        if i < end and (text[i] == "." and i + 1 < end and text[i + 1].isdigit()):
            while i < end and (text[i].isdigit() or text[i] == "."):  # 1.26.4: a version
                i += 1
            continue
        exponent, after = _exponent_at(text, i)
        if exponent is None and i < end and (text[i].isalpha() or text[i] == "_"):
            while i < end and (text[i].isalnum() or text[i] == "_"):  # 3f2a: an identifier
                i += 1
            continue
        i = after
        mantissa = f"{whole or '0'}.{fraction or '0'}"
        try:
            value = float(mantissa) * (10.0 ** exponent if exponent is not None else 1.0)
        except OverflowError:
            continue
        if math.isfinite(value):
            yield text[first:i], -value if negative else value


def gives_away(value: float, answer: float, tolerance: float) -> str | None:
    """The transform by which a printed ``value`` scores for ``answer`` (within the
    relative ``tolerance``; absolutely at 0), or None."""
    scale = abs(answer) if answer != 0 else 1.0
    for name, transform in TRANSFORMS:
        if value == 0 and name in ("1/x", "2/x"):
            continue
        if abs(transform(value) - answer) <= tolerance * scale:
            return name
    return None


# ---------------------------------------------------------------- what a student reads


class _Readable(HTMLParser):
    """The text of HTML or SVG a reader sees: text nodes (not styles), readable
    attributes, the JSON of scripts (view source shows it) and the text of inline SVG
    figures (``data:`` URIs decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._skip += 1
        for name, value in attrs:
            if value and name in READABLE_ATTRIBUTES:
                self.parts.append(value)
            elif value and name in ("src", "srcset", "href") and \
                    value.startswith("data:image/svg+xml"):
                self.parts.append(readable_markup(_decode_data_uri(value)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _decode_data_uri(uri: str) -> str:
    import base64
    import urllib.parse

    head, _, body = uri.partition(",")
    if head.endswith(";base64"):
        return base64.b64decode(body + "=" * (-len(body) % 4)).decode("utf-8", "replace")
    return urllib.parse.unquote(body)


def readable_markup(markup: str) -> str:
    """The text a reader sees in an HTML page or an SVG figure (``_Readable``)."""
    parser = _Readable()
    parser.feed(markup)
    parser.close()
    return "\n".join(parser.parts)


def _pdf_texts(data: bytes, name: str) -> Iterable[tuple[str, str]]:
    """(place, text) of a PDF: every page's text, its metadata, attachments and fields."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data))
    for number, page in enumerate(reader.pages, start=1):
        yield f"{name}, page {number} text", page.extract_text() or ""
    metadata: Mapping[str, Any] = reader.metadata or {}
    yield f"{name} metadata", " ".join(str(value) for value in metadata.values())
    for attached, contents in reader.attachments.items():
        for blob in contents:
            yield f"{name} attachment {attached}", blob.decode("utf-8", "replace")
    for field, spec in (reader.get_fields() or {}).items():
        values = [spec.get(key) for key in ("/V", "/DV", "/Opt", "/TU")]
        yield f"{name} form field {field}", " ".join(str(v) for v in values if v is not None)


def places(files: Mapping[str, bytes]) -> Iterable[tuple[str, str]]:
    """(place, text) of everything in a report folder a student could read."""
    for name, data in sorted(files.items()):
        if name.endswith(".pdf"):
            yield from _pdf_texts(data, name)
        elif name.endswith((".html", ".svg")):
            yield name, readable_markup(data.decode("utf-8", "replace"))
        elif name.endswith(TEXT_SUFFIXES):
            yield name, data.decode("utf-8", "replace")
        else:
            yield name, data.decode("latin-1")


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class Leak:
    """A printed number (or phrase) from which an answer can be typed."""

    answer: Answer
    written: str  # as printed, spaces collapsed
    how: str  # the transform ("x", "2/x", ...), or "phrase"
    place: str

    def line(self) -> str:
        """``exercises[0] (stable-rate): 0.4755 in index.html gives its answer away``."""
        how = "" if self.how in ("x", "phrase") else f" (as {self.how})"
        return (f"exercises[{self.answer.number - 1}] ({self.answer.exercise.id}): "
                f"{self.written} in {self.place} gives its answer away{how}")


def _step_phrases(count: int) -> tuple[str, ...]:
    return (f"{count} steps", f"{count} step ", f"step {count} ", f"step {count}.",
            f"step {count},", f"{count} iterations", f"k = {count} ")


def find_in_text(text: str, expected: Sequence[Answer], place: str, spaced: bool = False,
                 exclude: frozenset[str] = frozenset()) -> list[Leak]:
    """The leaks in one text; numbers written as in ``exclude`` are not counted."""
    found = []
    measured = [a for a in expected if a.numeric]
    if measured:
        for written, value in numbers(text, spaced):
            if written in exclude:
                continue
            for answer in measured:
                how = gives_away(value, answer.value, answer.exercise.tolerance)
                if how is not None:
                    found.append(Leak(answer, " ".join(written.split()), how, place))
    counts = [a for a in expected if a.exercise.kind == "steps-to"]
    if counts:
        flat = " ".join(text.split()).lower() + " "
        for answer in counts:
            phrase = next((p for p in _step_phrases(int(answer.value)) if p in flat), None)
            if phrase is not None:
                found.append(Leak(answer, repr(phrase.strip(" .,")), "phrase", place))
    return found


def find_leaks(files: Mapping[str, bytes], expected: Sequence[Answer]) -> list[str]:
    """One line per answer a student could read off ``files``: the exercise, the number
    (and how it scores), where."""
    return [leak.line() for place, text in places(files)
            for leak in find_in_text(text, expected, place)]


class LeakError(ConfigError):
    """A student copy that would give an answer away (exit 2; in a batch, the student is
    redrawn)."""


def check_student_copy(files: Mapping[str, bytes], expected: Sequence[Answer]) -> None:
    """Refuse (``LeakError``, exit 2) a student copy from which an answer can be read off."""
    leaks = find_leaks(files, expected)
    if leaks:
        raise LeakError(f"{leaks[0]}; refusing to write a student copy that gives it away"
                        + (f" ({len(leaks) - 1} more)" if len(leaks) > 1 else ""))


def check_prompts(prompts: Mapping[int, tuple[str, str]], expected: Sequence[Answer]) -> None:
    """Refuse a prompt that prints a number that scores for an answer, whatever Jinja made
    it (a format, a slice, arithmetic, spaced digits). ``prompts`` maps an exercise's index
    to its prompt's source and its text as rendered for the student copy; numbers the
    source writes itself (the same for every student) are not counted.

    Raises:
      ConfigError: naming the exercise whose prompt gives an answer away.
    """
    for index, (source, text) in sorted(prompts.items()):
        literal = frozenset(written for written, _ in numbers(source))
        leaks = find_in_text(text, expected, "its prompt", spaced=True, exclude=literal)
        if leaks:
            leak = leaks[0]
            how = "" if leak.how == "x" else f" (as {leak.how})"
            raise ConfigError(
                f"exercises[{index}].prompt: prints {leak.written}, which gives away the "
                f"answer to exercises[{leak.answer.number - 1}] ({leak.answer.exercise.id})"
                f"{how} in a student copy; a prompt may not show an answer, however it is "
                f"formatted")
