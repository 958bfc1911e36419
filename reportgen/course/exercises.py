"""Exercises across a batch: the answer key.

An exercise's answer is a dotted path into results.json (``diagnostics.max_stable_lr``,
``ols.theta.1``), read by ``store.results.answers``; the leak check that keeps answers
out of a student copy is ``render.leaks``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from reportgen.config import Config
from reportgen.store.results import Results, answers

KEY_FILE = "answer-key.csv"
KEY_COLUMNS = ("student_id", "exercise_id", "answer", "tolerance", "points")


class _Variant(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def config(self) -> Config: ...

    @property
    def student(self) -> Any: ...


def answer_key(variants: Sequence[_Variant], results: Mapping[str, Results]) -> str:
    """answer-key.csv: ``student_id,exercise_id,answer,tolerance,points``, one row per answer.

    ``student_id`` is the roster's id, or the variant's id in a batch without a roster.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(KEY_COLUMNS)
    for variant in variants:
        who = variant.student.id if variant.student is not None else variant.id
        for answer in answers(results[variant.id]):
            writer.writerow([who, answer.exercise.id, repr(answer.value),
                             repr(answer.exercise.tolerance), f"{answer.exercise.points:g}"])
    return buffer.getvalue()
