"""The notebook's code: one block after each section of the handout, in the order it runs.

The blocks reproduce what the handout shows (the data from the config's seed, the closed
form, the curvature, the loss surface, every run with the handout's own algorithm, the
figures) in numpy and matplotlib only, and end with the cell that prints what they
reproduced. A copy's code holds nothing the copy withholds (:class:`Shown`): a block is
left out when the results it is handed lack a quantity it computes (a student view's
None), and in a student copy when it computes an exercise's answer (or a part of it).
``render.notebook`` puts the blocks between the handout's sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.optimizers import title as optimizer_title
from reportgen.render.algorithms import ALGORITHMS, rule_of
from reportgen.render.errors import RenderError
from reportgen.render.markdown import EXERCISES_ANCHOR, HandoutText, escape
from reportgen.render.notebook_algorithms import BATCHES_CODE, on_batches, recording, signature
from reportgen.store.results import Results, resolve

#: Floats per line where the notebook writes data out (``rng = "jax"``).
NUMBERS_PER_LINE = 4


# ---------------------------------------------------------------- what a copy shows


def withheld_paths(results: Results) -> tuple[str, ...]:
    """The results paths no code of this copy may compute: in a student copy (its student
    view), every field it withholds and every exercise's answer path; nothing in any
    other."""
    if not results.is_student_copy:
        return ()
    answers = (exercise.answer for exercise in results.config.exercises if exercise.answer)
    return tuple(dict.fromkeys([*(results.withheld or {}), *answers]))


def _related(path: str, other: str) -> bool:
    """Whether one path is the other or lies inside it (``ols.theta`` and ``ols.theta.1``)."""
    return path == other or path.startswith(other + ".") or other.startswith(path + ".")


def _present(results: Results, path: str) -> bool:
    try:
        return resolve(results, path) is not None
    except KeyError:
        return False


@dataclass(frozen=True)
class Shown:
    """Which quantities this copy's notebook computes."""

    ols: bool
    normal: bool
    hessian: bool
    eigenvalues: bool
    surface: bool
    runs: tuple[int, ...]
    extras: frozenset[str]  # single lines: the condition number, 2/lambda_max, ...

    @classmethod
    def of(cls, results: Results) -> Shown:
        """What ``results`` hold and the copy does not withhold."""
        withheld = withheld_paths(results)

        def allowed(computes: Iterable[str], required: Iterable[str] = ()) -> bool:
            return (all(_present(results, path) for path in required)
                    and not any(_related(path, secret) for path in computes
                                for secret in withheld))

        curvature = ("diagnostics.hessian", "diagnostics.hessian_eigenvalues",
                     "diagnostics.condition_number", "diagnostics.max_stable_lr",
                     "diagnostics.optimal_lr")
        runs = tuple(index for index, run in enumerate(results.runs)
                     if allowed([f"runs.{index}.thetas", f"runs.{index}.final_theta"])
                     and (run.final_theta is not None or run.diverged))
        return cls(
            ols=allowed(["ols.theta", "ols.loss"], ["ols.theta"]),
            normal=allowed(["ols.xtx", "ols.xty"], ["ols.xtx", "ols.xty"]),
            hessian=allowed(["diagnostics.hessian"]),
            eigenvalues=allowed(curvature, ["diagnostics.hessian_eigenvalues"]),
            surface=allowed(["surface"]),
            runs=runs,
            extras=frozenset(path for path in (*curvature, "surface.min_loss", "surface.argmin")
                             if _present(results, path)),
        )


# ---------------------------------------------------------------- the code


@dataclass(frozen=True)
class Block:
    """Code that follows one section of the handout, with a line saying what it does.

    ``anchor`` names the section (its HTML id); where the page has no such section the
    block comes under ``title``. Blocks are written in the order they are made, which is
    the order their code must run in.
    """

    anchor: str
    title: str
    note: str
    code: str


def _number(value: float) -> str:
    """A float as Python writes it back exactly."""
    return repr(float(value))


def _pair(values: Sequence[float] | np.ndarray) -> str:
    return f"np.array([{_number(values[0])}, {_number(values[1])}])"


def _array(name: str, values: np.ndarray) -> str:
    """``name = np.array([...])`` with every float written in full, a few per line."""
    numbers = [_number(v) for v in values]
    lines = [", ".join(numbers[i:i + NUMBERS_PER_LINE])
             for i in range(0, len(numbers), NUMBERS_PER_LINE)]
    body = ",\n    ".join(lines)
    return f"{name} = np.array([\n    {body},\n])"


def setup_block(results: Results) -> Block:
    names = ",\n    ".join(f"{index}: {run.name!r}" for index, run in enumerate(results.runs))
    return Block("problem", "Setup", "Only numpy and matplotlib: no reportgen, no JAX.", f"""\
import json

import matplotlib.pyplot as plt
import numpy as np

names = {{
    {names},
}}
paths = {{}}  # each run's θ at every step, the start first, by run number (from 0)""")


def data_block(results: Results) -> Block:
    """The data: drawn from the seed as reportgen drew them, or written out (``jax``)."""
    config = results.config
    data = config.data
    given = (f"n = {data.n}\n"
             f"theta_true = ({_number(data.theta[0])}, {_number(data.theta[1])})"
             f"  # the true intercept and slope\n"
             f"noise = {_number(data.noise)}  # the noise's standard deviation\n")
    if data.rng == "numpy-legacy":
        code = f"""\
# One RandomState, consumed in the source notebook's order: x, the noise, then each run's
# random start and (mini-batch runs) one shuffle per epoch.
seed = {config.seed}
{given}low, high = {_number(data.x_range[0])}, {_number(data.x_range[1])}
rng = np.random.RandomState(seed)
x = low + (high - low) * rng.rand(n, 1)
y = theta_true[0] + theta_true[1] * x + noise * rng.randn(n, 1)
x, y = x.ravel(), y.ravel()"""
        note = ("The data, drawn from the config's seed exactly as reportgen drew them "
                "(numpy's legacy `RandomState`).")
    else:
        x, y = results.data.x, results.data.y
        if x is None or y is None:
            raise RenderError(f"ipynb: data.rng = \"jax\" draws with JAX, which the notebook "
                              f"does not import, so it writes the samples out; these results "
                              f"hold none (n = {data.n} is above the limit results.json "
                              f"writes samples for): use data.rng = \"numpy-legacy\"")
        code = (f"# reportgen drew these with jax.random (data.rng = \"jax\"); without JAX the\n"
                f"# notebook cannot draw them again, so here they are, every float in full.\n"
                f"seed = {config.seed}\n{given}{_array('x', x)}\n{_array('y', y)}\n"
                f"rng = np.random.default_rng(seed)  # batch orders only: not reportgen's")
        note = ("The data as reportgen drew them with `jax.random`, written out: the notebook "
                "does not use JAX.")
    code += """
X = np.c_[np.ones(n), x]  # the design matrix: rows (1, x_i)

plt.figure(figsize=(6, 4))
plt.scatter(x, y, s=10, label="data")
ends = np.array([x.min(), x.max()])
plt.plot(ends, theta_true[0] + theta_true[1] * ends, "k--", label="true line")
plt.xlabel("x")
plt.ylabel("y")
plt.legend()
plt.show()"""
    return Block("problem", "The data", note, code)


LOSS_CODE = '''\
def J(theta):
    """The loss: the mean squared error of the line theta = (theta_0, theta_1)."""
    return np.mean((y - X @ theta) ** 2)'''


def loss_blocks(results: Results, shown: Shown) -> list[Block]:
    """The loss, the closed form, the normal equations' inputs and the curvature."""
    blocks = [Block("loss", "The loss", "The loss J(θ) as a function.", LOSS_CODE)]
    if shown.ols:
        blocks.append(Block("loss", "The closed form",
                            "The least-squares solution θ* by `lstsq`, as reportgen solves it, "
                            "and its loss J*.", """\
theta_star, *_ = np.linalg.lstsq(X, y, rcond=None)
J_star = J(theta_star)
print("θ* =", theta_star)
print("J* =", J_star)"""))
    if shown.normal:
        blocks.append(Block("loss", "The normal equations",
                            "The normal equations' inputs, XᵀX and Xᵀy.", """\
print("XᵀX =", X.T @ X)
print("Xᵀy =", X.T @ y)"""))
    lines = []
    if shown.hessian or shown.eigenvalues:
        lines += ["H = 2 / n * X.T @ X  # the Hessian of J: the same at every θ",
                  'print("H =", H)']
    if shown.eigenvalues:
        lines += ["lam_min, lam_max = np.linalg.eigvalsh(H)  # ascending",
                  'print("λ_min =", lam_min, " λ_max =", lam_max)']
        extras = {"diagnostics.condition_number": 'print("κ = λ_max/λ_min =", lam_max / lam_min)',
                  "diagnostics.max_stable_lr": 'print("2/λ_max =", 2 / lam_max)',
                  "diagnostics.optimal_lr":
                      'print("optimal rate 2/(λ_min + λ_max) =", 2 / (lam_min + lam_max))'}
        lines += [line for path, line in extras.items() if path in shown.extras]
    if lines:
        blocks.append(Block("loss", "The curvature", "The Hessian" + (
            " and its eigenvalues." if shown.eigenvalues else "."), "\n".join(lines)))
    return blocks


def surface_block(results: Results, shown: Shown) -> list[Block]:
    """The loss over the config's grid, by rows, and its contour map."""
    if not shown.surface:
        return []
    surface = results.config.surface
    code = f"""\
theta0_axis = np.linspace({_number(surface.theta0[0])}, {_number(surface.theta0[1])}, \
{surface.resolution})
theta1_axis = np.linspace({_number(surface.theta1[0])}, {_number(surface.theta1[1])}, \
{surface.resolution})
# J_grid[i, j] = J((theta0_axis[j], theta1_axis[i])), a row per slope as in the source
# notebook's meshgrid. A row from the residuals r = y - theta_1 x of its slope:
# mean((r - theta_0)^2) = mean((r - mean(r))^2) + (mean(r) - theta_0)^2.
J_grid = np.empty((len(theta1_axis), len(theta0_axis)))
for i, slope in enumerate(theta1_axis):
    r = y - slope * x
    J_grid[i] = np.mean((r - r.mean()) ** 2) + (r.mean() - theta0_axis) ** 2
row, col = np.unravel_index(np.argmin(J_grid), J_grid.shape)"""
    if "surface.min_loss" in shown.extras:
        code += '\nprint("lowest on the grid: J =", J_grid[row, col])'
    if "surface.argmin" in shown.extras:
        code += '\nprint("at θ =", (theta0_axis[col], theta1_axis[row]))'
    code += """

levels = np.unique(np.quantile(J_grid, np.linspace(0.001, 0.9, 25)))
plt.figure(figsize=(6, 5))
plt.contour(theta0_axis, theta1_axis, J_grid, levels=levels, cmap="viridis")"""
    if shown.ols:
        code += '\nplt.plot(*theta_star, "k*", markersize=12, label="θ*")\nplt.legend()'
    code += """
plt.xlabel("θ₀")
plt.ylabel("θ₁")
plt.show()"""
    return [Block("surface", "The loss surface",
                  f"The loss over the {surface.resolution} × {surface.resolution} grid "
                  "and its contour map.", code)]


def _arguments(results: Results, index: int) -> dict[str, str]:
    """Every argument an algorithm may take, by parameter name, as code."""
    run, settings = results.runs[index], results.config.runs[index]
    return {"X": "X", "y": "y", "theta": "theta_init", "eta": _number(run.learning_rate),
            "steps": str(run.steps), "epochs": str(run.epochs), "batch": str(run.batch_size),
            "rng": "rng", "beta": _number(settings.momentum), "b1": _number(settings.b1),
            "b2": _number(settings.b2), "eps": _number(settings.eps),
            "decay": _number(settings.decay),
            "batches": f"shuffled_batches(rng, n, {run.batch_size}, {run.epochs})"}


def _start(results: Results, index: int) -> str:
    """How a run's start is made: the next draw of the stream, or given."""
    settings = results.config.runs[index]
    if settings.init != "random":
        return f"theta_init = {_pair(settings.init)}  # the start the config gives"
    if results.config.data.rng == "numpy-legacy":
        return "theta_init = rng.randn(2, 1).ravel()  # a random start: the stream's next draw"
    return (f"theta_init = {_pair(results.runs[index].theta_init)}  # its random start, as "
            f"reportgen drew it with jax.random")


def _skipped_draws(results: Results, index: int) -> str | None:
    """The draws of a run this copy does not run, so that later runs draw what they drew."""
    if results.config.data.rng != "numpy-legacy":
        return None
    draws = []
    if results.config.runs[index].init == "random":
        draws.append("rng.randn(2, 1)")
    run = results.runs[index]
    if not run.full_batch:
        draws.append(f"[rng.permutation(n) for _ in range({run.epochs})]")
    if not draws:
        return None
    return (f"# Run {index + 1} is not in this copy; its random draws still come next in the "
            f"stream:\n" + "\n".join(draws))


def run_blocks(results: Results, shown: Shown) -> list[Block]:
    """Each run with the handout's algorithm for its rule, defined where first used."""
    defined: set[str] = set()
    blocks = []
    for index, run in enumerate(results.runs):
        anchor, title = f"run-{index + 1}", run.name
        if index not in shown.runs:
            skipped = _skipped_draws(results, index)
            if skipped:
                blocks.append(Block(anchor, title, "This run's draws from the stream.", skipped))
            continue
        rule = rule_of(run.optimizer, not run.full_batch)
        code = ALGORITHMS[rule]
        lines = []
        if not run.full_batch and rule != "minibatch":
            code = on_batches(code)
            if "batches" not in defined:
                lines += [BATCHES_CODE, ""]
                defined.add("batches")
        name, parameters = signature(code)
        if name not in defined:
            lines += [recording(code), ""]
            defined.add(name)
        arguments = _arguments(results, index)
        unknown = [p for p in parameters if p not in arguments]
        if unknown:
            raise AssertionError(f"no value for {unknown} of {name}")
        call = f"paths[{index}] = {name}({', '.join(arguments[p] for p in parameters)})"
        if run.diverged:
            call = ('with np.errstate(over="ignore", invalid="ignore"):  # it diverges\n    '
                    + call)
        lines += [_start(results, index), call,
                  f'print(names[{index}], "ends at θ =", paths[{index}][-1], '
                  f'" J =", J(paths[{index}][-1]))']
        if run.diverged:
            lines[-1] = ('with np.errstate(over="ignore", invalid="ignore"):\n    '
                         + lines[-1])
        note = (f"Run {index + 1}: {escape(optimizer_title(run.optimizer))}, the handout's "
                f"algorithm, which also keeps every step's θ.")
        if not _comparable(results, index):
            note += (" Its batch orders are numpy's, not the ones reportgen drew with "
                     "`jax.random`, so its numbers differ from the handout's.")
        blocks.append(Block(anchor, title, note, "\n".join(lines)))
    return blocks


def _comparable(results: Results, index: int) -> bool:
    """Whether the notebook can repeat a run exactly (not: mini-batch orders drawn by JAX)."""
    return results.config.data.rng == "numpy-legacy" or results.runs[index].full_batch


def paths_block(results: Results, shown: Shown) -> list[Block]:
    """Every run's path on the contour map, and its loss per step."""
    if not shown.runs:
        return []
    lines = ["fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))"]
    if shown.surface:
        lines += ['left.contour(theta0_axis, theta1_axis, J_grid, levels=levels, '
                  'cmap="viridis", alpha=0.5)',
                  "left.set_xlim(theta0_axis[0], theta0_axis[-1])",
                  "left.set_ylim(theta1_axis[0], theta1_axis[-1])"]
    lines += ['with np.errstate(over="ignore", invalid="ignore"):',
              "    for k, path in paths.items():",
              '        left.plot(path[:, 0], path[:, 1], ".-", label=names[k])',
              "        right.plot([J(theta) for theta in path], label=names[k])"]
    if shown.ols:
        lines += ['left.plot(*theta_star, "k*", markersize=12, label="θ*")',
                  'right.axhline(J_star, color="k", linestyle=":", label="J*")']
    lines += ['left.set_xlabel("θ₀")', 'left.set_ylabel("θ₁")', "left.legend(fontsize=8)",
              'right.set_yscale("log")', 'right.set_xlabel("update step")',
              'right.set_ylabel("J(θ)")', "right.legend(fontsize=8)", "plt.show()"]
    return [Block("paths", "The paths compared",
                  "Every run's path over the contour map, and its loss at every step.",
                  "\n".join(lines))]


#: Notebook code for an exercise's answer, by its results path; and the block it needs.
ANSWER_CODE: tuple[tuple[str, str, str], ...] = (
    (r"ols\.theta\.([01])", "theta_star[{0}]", "ols"),
    (r"ols\.loss", "J_star", "ols"),
    (r"ols\.xtx\.([01])\.([01])", "(X.T @ X)[{0}, {1}]", ""),
    (r"ols\.xty\.([01])", "(X.T @ y)[{0}]", ""),
    (r"diagnostics\.hessian\.([01])\.([01])", "H[{0}, {1}]", "hessian"),
    (r"diagnostics\.hessian_eigenvalues\.0", "lam_min", "eigenvalues"),
    (r"diagnostics\.hessian_eigenvalues\.1", "lam_max", "eigenvalues"),
    (r"diagnostics\.condition_number", "lam_max / lam_min", "eigenvalues"),
    (r"diagnostics\.max_stable_lr", "2 / lam_max", "eigenvalues"),
    (r"diagnostics\.optimal_lr", "2 / (lam_min + lam_max)", "eigenvalues"),
    (r"runs\.(\d+)\.final_theta\.([01])", "paths[{0}][-1][{1}]", "run {0}"),
    (r"runs\.(\d+)\.final_loss", "J(paths[{0}][-1])", "run {0}"),
    (r"runs\.(\d+)\.theta_init\.([01])", "paths[{0}][0][{1}]", "run {0}"),
    (r"runs\.(\d+)\.thetas\.(\d+)\.([01])", "paths[{0}][{1}][{2}]", "run {0}"),
    (r"runs\.(\d+)\.losses\.(\d+)", "J(paths[{0}][{1}])", "run {0}"),
    (r"surface\.min_loss", "J_grid[row, col]", "surface"),
    (r"surface\.argmin\.0", "theta0_axis[col]", "surface"),
    (r"surface\.argmin\.1", "theta1_axis[row]", "surface"),
    (r"data\.n", "n", ""),
    (r"data\.summary\.([xy])_(mean|std|min|max)", "{0}.{1}()", ""),
    (r"data\.([xy])\.(\d+)", "{0}[{1}]", ""),
)


def answer_code(path: str, shown: Shown) -> str | None:
    """The notebook expression of an answer at ``path``, where the copy computes what it
    needs; None where the notebook has no code for it."""
    for pattern, expression, needs in ANSWER_CODE:
        found = re.fullmatch(pattern, path)
        if found is None:
            continue
        need = needs.format(*found.groups())
        have = {"": True, "ols": shown.ols, "hessian": shown.hessian or shown.eigenvalues,
                "eigenvalues": shown.eigenvalues, "surface": shown.surface}
        ok = (int(need.split()[1]) in shown.runs) if need.startswith("run ") else have[need]
        return expression.format(*found.groups()) if ok else None
    return None


def exercise_blocks(results: Results, shown: Shown, text: HandoutText) -> list[Block]:
    """A student copy: a marked place for each answer; an instructor copy: its solution."""
    blocks = []
    student = results.is_student_copy
    for number, exercise in enumerate(results.config.exercises, start=1):
        paragraphs = text.exercises.get(exercise.id) or [escape(exercise.prompt)]
        note = f"**Exercise {number}** (`{exercise.id}`). " + "\n\n".join(paragraphs)
        header = f"# Exercise {number} ({exercise.id})"
        if student:
            code = (f"{header}: replace ... with your answer, worked out in this notebook.\n"
                    f"answer = ...\nprint({exercise.id!r}, answer)")
        else:
            expression = answer_code(exercise.answer, shown) if exercise.answer else None
            code = (f"{header}: the worked solution.\nanswer = {expression}\n"
                    f"print({exercise.id!r}, answer)" if expression is not None else
                    f"{header}: the notebook has no code for this {exercise.kind} exercise; see "
                    f"the solution above.")
        blocks.append(Block(EXERCISES_ANCHOR, "Exercises", note, code))
    return blocks


def check_block(results: Results, shown: Shown) -> Block:
    """The last cell: what the notebook reproduced, as one JSON line."""
    compared = [index for index in shown.runs if _comparable(results, index)]
    lines = ['def as_list(theta):',
             '    """A θ as results.json writes it: floats, or None where it overflowed."""',
             '    return [float(v) for v in theta] if np.all(np.isfinite(theta)) else None',
             '',
             f'reproduced = {{"runs": [{{"name": names[k], "final_theta": as_list(paths[k][-1])}}'
             f'\n                       for k in {compared!r}]}}']
    if shown.ols:
        lines.append('reproduced["ols"] = {"theta": as_list(theta_star)}')
    surface = []
    if shown.surface and "surface.min_loss" in shown.extras:
        surface.append('"min_loss": float(J_grid[row, col])')
    if shown.surface and "surface.argmin" in shown.extras:
        surface.append('"argmin": [float(theta0_axis[col]), float(theta1_axis[row])]')
    if surface:
        lines.append(f'reproduced["surface"] = {{{", ".join(surface)}}}')
    lines.append("print(json.dumps(reproduced))")
    note = ("What this notebook reproduced, as one line of JSON under results.json's own "
            "keys: compare it with the report's `results.json`.")
    if results.config.precision != "float64":
        note += (f" reportgen computed this handout in {results.config.precision} and the "
                 "notebook computes in float64: expect agreement to about 1e-6, not to the "
                 "last digits.")
    return Block("", "Checking the numbers", note, "\n".join(lines))


def blocks(results: Results, text: HandoutText) -> list[Block]:
    """Every block of code, in the order it runs."""
    shown = Shown.of(results)
    return [setup_block(results), data_block(results), *loss_blocks(results, shown),
            *surface_block(results, shown), *run_blocks(results, shown),
            *paths_block(results, shown), *exercise_blocks(results, shown, text),
            check_block(results, shown)]
