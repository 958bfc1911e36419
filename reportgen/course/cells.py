"""Spreadsheet cells we write (answer-key.csv, grades.csv, the LMS exports): never a formula.

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and
some read one that starts with a tab or a carriage return so too (OWASP, "CSV Injection"):
a roster id ``=HYPERLINK(...)`` or a typed answer ``+cmd|...`` would run when the file is
opened. Such a text cell gets a leading apostrophe, which spreadsheets show as text and
do not display; a cell that starts with an apostrophe gets one more, so reading back
(``text_of``) is exact. A number we write stays a number: a cell that is exactly a
decimal number (``-1.5``, ``2``, ``4.2e-05``) is left alone, so a negative answer is
still a number in the spreadsheet, not the text "'-1.5".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

#: What makes a spreadsheet read a cell as a formula (and our own escape).
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
_DIGITS = frozenset("0123456789")


def is_plain_number(text: str) -> bool:
    """Whether ``text`` is exactly a decimal number: an optional minus, digits with at most
    one point, an optional exponent (checked by hand, linear, no pattern)."""
    body = text[1:] if text.startswith("-") else text
    mantissa, _, exponent = body.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    if not (whole or fraction) or not set(whole + fraction) <= _DIGITS or "." in fraction:
        return False
    if "e" in body.lower():
        digits = exponent[1:] if exponent[:1] in ("-", "+") else exponent
        return bool(digits) and set(digits) <= _DIGITS
    return True


def cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet cannot run: numbers as they are, text that
    starts like a formula with a leading apostrophe."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(TRIGGERS) and not is_plain_number(text):
        return "'" + text
    return text


def text_of(written: str) -> str:
    """A cell as we wrote it, read back: our leading apostrophe removed."""
    if written.startswith("'") and written[1:].startswith(TRIGGERS):
        return written[1:]
    return written


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV file of ``rows`` under ``header``, every cell through :func:`cell`; lines end
    with CRLF (RFC 4180), so a cell holding a line break of either kind is quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell(name) for name in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()
