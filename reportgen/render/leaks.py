"""The leak check: a student copy searched, before it is written, for its own answers.

Every file of the folder, the PDF's text, metadata and attachments are searched for each
answer written with 3, 4 or 6 decimals (and in full); a copy that gives one away is refused
(exit 2, naming the exercise and the place) rather than written.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reportgen.config import ConfigError
from reportgen.store.results import Answer

#: Decimals an answer is searched for with (what a student would copy to the form).
LEAK_DECIMALS = (3, 4, 6)
TEXT_SUFFIXES = (".html", ".svg", ".json", ".toml", ".csv", ".txt", ".css")


def spellings(value: float) -> list[str]:
    """How an answer could be written: 3, 4 and 6 decimals, and in full."""
    texts = {f"{value:.{digits}f}" for digits in LEAK_DECIMALS} | {repr(value)}
    texts |= {text.replace("-", "\u2212") for text in texts if text.startswith("-")}
    return sorted(texts)


def _pattern(value: float) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(text) for text in spellings(value))
    return re.compile(rf"(?<![\d.])(?:{alternatives})(?!\d)")


def _pdf_texts(data: bytes, name: str) -> Iterable[tuple[str, str]]:
    """(place, text) of a PDF: every page's text, its metadata and its attachments."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    for number, page in enumerate(reader.pages, start=1):
        yield f"{name}, page {number} text", page.extract_text() or ""
    metadata: Mapping[str, Any] = reader.metadata or {}
    yield f"{name} metadata", " ".join(str(value) for value in metadata.values())
    for attached, contents in reader.attachments.items():
        for blob in contents:
            yield f"{name} attachment {attached}", blob.decode("utf-8", "replace")


def places(files: Mapping[str, bytes]) -> Iterable[tuple[str, str]]:
    """(place, text) of everything in a report folder a student could read."""
    for name, data in sorted(files.items()):
        if name.endswith(".pdf"):
            yield from _pdf_texts(data, name)
        elif name.endswith(TEXT_SUFFIXES):
            yield name, data.decode("utf-8", "replace")
        else:
            yield name, data.decode("latin-1")


def find_leaks(files: Mapping[str, bytes], expected: Sequence[Answer]) -> list[str]:
    """One line per answer found in ``files``: the exercise, how it was written, where."""
    patterns = [(answer, _pattern(answer.value)) for answer in expected]
    leaks = []
    for place, text in places(files):
        for answer, pattern in patterns:
            found = pattern.search(text)
            if found:
                leaks.append(f"exercises[{answer.number - 1}] ({answer.exercise.id}): its answer "
                             f"appears as {found.group(0)} in {place}")
    return leaks


def check_student_copy(files: Mapping[str, bytes], expected: Sequence[Answer]) -> None:
    """Refuse (ConfigError, exit 2) a student copy that gives an answer away."""
    leaks = find_leaks(files, expected)
    if leaks:
        raise ConfigError(f"{leaks[0]}; refusing to write a student copy that gives it away"
                          + (f" ({len(leaks) - 1} more)" if len(leaks) > 1 else ""))
