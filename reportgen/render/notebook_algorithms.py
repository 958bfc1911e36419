"""The handout's algorithms as the notebook runs them: keeping every step's θ, or stepping
on given batches.

The handout prints each update rule's code (:data:`reportgen.render.algorithms.ALGORITHMS`);
the notebook runs that same code rewritten by a few lines, so that what a reader runs is
what the handout shows. A rewrite that finds nothing to rewrite is a bug in reportgen
(an ``AssertionError`` naming the code), never a silent change.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable


def signature(code: str) -> tuple[str, list[str]]:
    """The name and parameter names of the function an algorithm defines."""
    tree = ast.parse(code)
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef))
    return function.name, [arg.arg for arg in function.args.args]


def _substitute(code: str, pattern: str, replacement: str | Callable[[re.Match[str]], str],
                what: str) -> str:
    changed, count = re.subn(pattern, replacement, code, flags=re.M)
    if not count:
        raise AssertionError(f"the algorithm's code has no {what} ({pattern!r}):\n{code}")
    return changed


def recording(code: str) -> str:
    """An algorithm that also keeps every step's θ and returns them all (the start first):
    the handout's lines plus three."""
    name, _ = signature(code)
    code = _substitute(code, rf"^(def {name}\(.*\):)$",
                       r"\1\n    path = [theta]  # every step's θ, for the figures", "def line")
    code = _substitute(code, r"^(\s+)(theta = .*)$", r"\1\2\n\1path.append(theta)",
                       "update of theta")
    return _substitute(code, r"^(\s+)return theta$", r"\1return np.array(path)", "return")


def on_batches(code: str) -> str:
    """A full-batch algorithm stepping on given batches instead: ``batches`` replaces
    ``steps``, and each gradient is the batch's (``-2/|B| X_Bᵀ(y_B - X_B θ)``)."""
    name, parameters = signature(code)
    if "steps" not in parameters:
        raise AssertionError(f"{name} has no steps parameter to step on batches instead")
    code = _substitute(code, rf"^def {name}\((.*)\bsteps\):$",
                       rf"def minibatch_{name}(\1batches):", "def line")
    loops = {"for k in range(steps):": "for k, B in enumerate(batches):",
             "for k in range(1, steps + 1):": "for k, B in enumerate(batches, start=1):"}
    loop = next((old for old in loops if old in code), None)
    if loop is None:
        raise AssertionError(f"{name} has no loop over its steps:\n{code}")
    code = code.replace(loop, loops[loop])
    code = _substitute(code, r"-2 / n \* X\.T @ \(y - X @ theta\)",
                       "-2 / len(B) * X[B].T @ (y[B] - X[B] @ theta)", "gradient")
    if re.search(r"\bsteps\b", code):
        raise AssertionError(f"{name} still reads steps after stepping on batches:\n{code}")
    return code


BATCHES_CODE = '''\
def shuffled_batches(rng, n, batch, epochs):
    """Each epoch a new shuffle, cut into batches (the last one may be short)."""
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            yield order[start:start + batch]'''
