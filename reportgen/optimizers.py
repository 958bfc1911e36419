"""The optimizer registry: one entry per update rule, read by config, compute and render.

Pure data, no JAX and no rendering: the config validates names against it, the compute
layer maps each name to its optax transformation, and the renderer takes titles,
equations and whether a linear convergence bound exists from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

#: The update rules a run may name (``runs[i].optimizer``).
OptimizerName = Literal["gd", "momentum", "nesterov", "adam", "rmsprop"]
NAMES: tuple[str, ...] = get_args(OptimizerName)


#: How the rules group: plain gradient steps, a velocity (heavy ball, Nesterov), or a step
#: rescaled per coordinate by running means (Adam, RMSProp).
Family = Literal["gradient", "momentum", "adaptive"]


@dataclass(frozen=True)
class Optimizer:
    """What the rest of reportgen needs to know about an update rule.

    Attributes:
      name: the config's name for it.
      title: its name in prose.
      settings: the run settings (besides ``learning_rate``) that the rule reads.
      linear: whether full-batch steps are linear in the error, so that a contraction
        bound follows from the Hessian's eigenvalues (``theory.predicted_rate``).
      family: which group of rules it belongs to.
    """

    name: str
    title: str
    settings: tuple[str, ...]
    linear: bool
    family: Family


OPTIMIZERS: dict[str, Optimizer] = {
    "gd": Optimizer("gd", "gradient descent", (), linear=True, family="gradient"),
    "momentum": Optimizer("momentum", "momentum (heavy ball)", ("momentum",), linear=True,
                          family="momentum"),
    "nesterov": Optimizer("nesterov", "Nesterov momentum", ("momentum",), linear=True,
                          family="momentum"),
    "adam": Optimizer("adam", "Adam", ("b1", "b2", "eps"), linear=False, family="adaptive"),
    "rmsprop": Optimizer("rmsprop", "RMSProp", ("decay", "eps"), linear=False,
                         family="adaptive"),
}

#: Each setting's default, as optax has it (the config and the compute layer read these).
DEFAULTS: dict[str, float] = {"momentum": 0.9, "b1": 0.9, "b2": 0.999, "decay": 0.9, "eps": 1e-8}

#: Every hyperparameter any rule reads, learning rate first (compute passes them traced).
HYPERPARAMETERS: tuple[str, ...] = ("learning_rate", *DEFAULTS)

if tuple(OPTIMIZERS) != NAMES:  # pragma: no cover - a registry edited in one place only
    raise AssertionError("OPTIMIZERS must list exactly the names of OptimizerName, in order")


def in_family(family: Family) -> tuple[str, ...]:
    """The names of the rules of one family, in the registry's order."""
    return tuple(name for name, rule in OPTIMIZERS.items() if rule.family == family)


def title(name: str) -> str:
    """The prose name of an optimizer (the name itself when unknown)."""
    found = OPTIMIZERS.get(name)
    return found.title if found else name
