"""Claims: every sentence of a handout that states a fact about the numbers.

A claim is a small function of the typed results (and a run index, a rate or another
plain argument) that returns a :class:`Claim`: the verdict of its condition and the
sentence that is true for these numbers (the sentence for the condition when it holds,
the one that is true otherwise when it does not: "they tie", "rose at every step", "only
in the worst case"). Every claim is registered by name (:data:`REGISTRY`); templates print
the claim views the context hands them, each marked in the HTML with its name, arguments
and verdict, and ``reportgen verify`` re-evaluates every mark from recomputed results.

Numpy only, below the renderer: the renderer and ``reportgen verify`` both read it. A claim
never prints a value its results do not hold (a student copy's withheld fields); it says
what it can without it, and its verdict is then None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reportgen.claims import _compare as _compare
from reportgen.claims import _paths as _paths
from reportgen.claims import _runs as _runs
from reportgen.claims import _valley as _valley
from reportgen.claims._compare import at_tuned_setting as at_tuned_setting
from reportgen.claims._compare import ranked_runs as ranked_runs
from reportgen.claims._compare import setting_words as setting_words
from reportgen.claims._compare import tie_words as tie_words
from reportgen.claims._core import REGISTRY as REGISTRY
from reportgen.claims._core import Args as Args
from reportgen.claims._core import Claim as Claim
from reportgen.claims._core import evaluate as evaluate
from reportgen.claims._core import every_claim as every_claim
from reportgen.claims._core import exercise_asking as exercise_asking
from reportgen.claims._core import withheld_words as withheld_words
from reportgen.store.results import Results


def view(found: Claim) -> dict[str, Any]:
    """A claim as a template reads it: plain data only."""
    return {"name": found.name, "args": dict(found.args), "holds": found.holds,
            "text": found.text, "short": found.short, "kind": found.kind}


def claim_view(results: Results, name: str, **args: Any) -> dict[str, Any]:
    """``view(evaluate(results, name, args))``."""
    return view(evaluate(results, name, args))


def views(results: Results, name: str) -> list[dict[str, Any]]:
    """The views of claim ``name`` at every argument set it applies to."""
    return [view(evaluate(results, name, args)) for args in REGISTRY[name].instances(results)]


def recheck(results: Results, marks: Iterable[Mapping[str, Any]]) -> tuple[int, list[str]]:
    """Re-evaluate every marked claim (``name``, ``args``, ``holds``) on ``results``.

    Returns how many matched and one line per mark that did not: an unknown claim, an
    argument the claim does not take, or a different verdict.
    """
    matched, problems = 0, []
    for mark in marks:
        name, args, holds = mark["name"], mark["args"], mark["holds"]
        where = f"claim {name} {_args_text(args)}"
        if name not in REGISTRY:
            problems.append(f"{where}: no such claim")
            continue
        try:
            fresh = evaluate(results, name, dict(args))
        except (TypeError, IndexError, KeyError, ValueError) as exc:
            problems.append(f"{where}: cannot be evaluated ({type(exc).__name__})")
            continue
        if fresh.holds != holds:
            problems.append(f"{where}: marked {_verdict(holds)}, recomputed "
                            f"{_verdict(fresh.holds)}")
            continue
        matched += 1
    return matched, problems


def _args_text(args: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in sorted(args.items())) + ")"


def _verdict(holds: bool | None) -> str:
    return {True: "holds", False: "does not hold", None: "undecided"}[holds]


__all__ = ["REGISTRY", "Args", "Claim", "at_tuned_setting", "claim_view", "evaluate",
           "every_claim", "exercise_asking", "ranked_runs", "recheck", "setting_words",
           "tie_words", "view", "views", "withheld_words"]
