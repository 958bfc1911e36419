"""Exercises: answers read from the results, the answer key, and the leak check.

An exercise's answer is a dotted path into results.json (``diagnostics.max_stable_lr``,
``ols.theta.1``). A student copy must not give its answers away anywhere: before a
student folder is written, every file, the PDF's text and its attachments are searched
for each answer written with 3, 4 or 6 decimals (and in full), and the build is refused,
naming the exercise and the place, rather than leak.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from reportgen.config import Config, ConfigError, ExerciseConfig
from reportgen.store.results import resolve

KEY_FILE = "answer-key.csv"
KEY_COLUMNS = ("student_id", "exercise_id", "answer", "tolerance", "points")
#: Decimals an answer is searched for with (what a student would copy to the form).
LEAK_DECIMALS = (3, 4, 6)
TEXT_SUFFIXES = (".html", ".svg", ".json", ".toml", ".csv", ".txt", ".css")


@dataclass(frozen=True)
class Answer:
    """An exercise's expected answer for one handout."""

    number: int  # 1-based, as the handout numbers its exercises
    exercise: ExerciseConfig
    value: float


def answers(config: Config, results: Mapping[str, Any]) -> list[Answer]:
    """Every exercise's answer, from the results.

    Raises:
      ConfigError: an answer path that names no finite number in results.json.
    """
    found = []
    for index, exercise in enumerate(config.exercises):
        field = f"exercises[{index}].answer"
        try:
            value = resolve(results, exercise.answer)
        except KeyError as missing:
            raise ConfigError(f"{field}: results.json has no {exercise.answer!r} "
                              f"(no {missing.args[0]!r} there)") from None
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise ConfigError(f"{field}: expected {exercise.answer!r} to be a finite number in "
                              f"results.json, got {value!r:.60}")
        found.append(Answer(index + 1, exercise, float(value)))
    return found


class _Variant(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def config(self) -> Config: ...

    @property
    def student(self) -> Any: ...


def answer_key(variants: Sequence[_Variant], results: Mapping[str, Mapping[str, Any]]) -> str:
    """answer-key.csv: ``student_id,exercise_id,answer,tolerance,points``, one row per answer.

    ``student_id`` is the roster's id, or the variant's id in a batch without a roster.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(KEY_COLUMNS)
    for variant in variants:
        who = variant.student.id if variant.student is not None else variant.id
        for answer in answers(variant.config, results[variant.id]):
            writer.writerow([who, answer.exercise.id, repr(answer.value),
                             repr(answer.exercise.tolerance), f"{answer.exercise.points:g}"])
    return buffer.getvalue()


# ---------------------------------------------------------------- the leak check


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
