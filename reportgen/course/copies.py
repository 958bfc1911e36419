"""A course's copies: the two trees one batch makes, and the flat folder of handouts.

A batch with exercises makes each variant twice, from one computation: the student copy
in ``DIR/students/<name>/`` (rendered from its student view, its config without
solutions) and the instructor copy in ``DIR/instructor/<name>/`` (answers, worked
steps, solutions). A roster batch without exercises makes ``DIR/students/<name>/`` only.
``<name>`` is the student's roster id where it is plain (``students.folder_name``), with
the matrix combination after it when there is more than one; without a roster, the
variant's id. ``DIR/handouts/<name>.pdf`` holds each student copy's PDF, flat, ready to
upload. The two trees' names never cross: no student file lives under ``instructor/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reportgen import pipeline
from reportgen.course import students
from reportgen.course.matrix import Variant
from reportgen.course.plan import Plan
from reportgen.store.student import student_config

STUDENTS = "students"
INSTRUCTOR = "instructor"
HANDOUTS = "handouts"
COPIES = {"student": STUDENTS, "instructor": INSTRUCTOR}


def is_course(plan: Plan) -> bool:
    """Whether a batch makes copies for people (a roster, or exercises) rather than
    variants to compare."""
    return bool(plan.base.exercises) or plan.base.students is not None


def name_of(variant: Variant, several: bool) -> str:
    """A variant's folder name inside a tree: the student's (``students.folder_name``),
    with the variant's id after it when a student has several variants; else the id."""
    if variant.student is None:
        return variant.id
    name = students.folder_name(variant.student.id)
    return f"{name}_{variant.id}" if several else name


def trees(plan: Plan) -> Plan:
    """The plan's variants as a course batch builds them: a student copy and (with
    exercises) an instructor copy of each, ids ``students/<name>`` and
    ``instructor/<name>``, their numbers shared. A plan that is not a course, or whose
    variants are copies already, is returned as it is."""
    if not is_course(plan) or any(v.copy is not None for v in plan.variants):
        return plan
    per_student: dict[str, int] = {}
    for variant in plan.variants:
        if variant.student is not None:
            per_student[variant.student.id] = per_student.get(variant.student.id, 0) + 1
    variants: list[Variant] = []
    computed: dict[str, pipeline.Computed] = {}
    for variant in plan.variants:
        several = variant.student is not None and per_student[variant.student.id] > 1
        made = copies_of(variant, plan.computed.get(variant.id), name_of(variant, several),
                         bool(plan.base.exercises))
        variants += [copy for copy, _ in made]
        computed.update({copy.id: done for copy, done in made if done is not None})
    return dataclasses.replace(plan, variants=variants, computed=computed)


def copies_of(variant: Variant, computed: pipeline.Computed | None, name: str,
              exercises: bool) -> list[tuple[Variant, pipeline.Computed | None]]:
    """A variant's copies (student, and with exercises instructor), each with its numbers
    relabelled for its own config."""
    made: list[tuple[Variant, pipeline.Computed | None]] = []
    for audience in ("student", "instructor") if exercises else ("student",):
        config = variant.config
        if exercises:
            config = student_config(config.model_copy(update={"audience": audience}))
        copy = dataclasses.replace(variant, id=f"{COPIES[audience]}/{name}", config=config,
                                   copy=audience)
        done = None if computed is None else dataclasses.replace(
            computed, results=computed.results.restamped(config))
        made.append((copy, done))
    return made


def name_in_tree(variant: Variant) -> str:
    """A copy's folder name inside its tree (``students/s001`` -> ``s001``)."""
    return variant.id.split("/", 1)[1] if variant.copy is not None else variant.id


def handout_files(built: Mapping[str, bytes | None]) -> dict[str, bytes]:
    """``handouts/``'s files: each student copy's PDF as ``<name>.pdf``, from the PDFs by
    student-copy id (``students/<name>``); copies without a PDF are left out."""
    return {f"{variant_id.removeprefix(STUDENTS + '/')}.pdf": data
            for variant_id, data in sorted(built.items()) if data is not None}
