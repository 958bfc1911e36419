"""An independent numpy re-derivation of DESIGN.md's semantics, for checking reportgen.

Written from DESIGN.md, the source notebook and optax's documented update rules; it never
calls reportgen's compute. It reads the *normalised* config (plain data, as results.json
records it), so it also checks that the normalised config says everything a run needs.

- Data: one ``RandomState(seed)``, consumed as the notebook does: x, then the noise, then
  per run its random initial theta (``randn(2, 1)``), then for mini-batch runs one
  ``permutation(n)`` per epoch.
- Loss: (1/n) sum (y - X theta)^2 with X = [1, x]; gradient -2/m X_b^T (y_b - X_b theta)
  on a batch of m samples; batches walk the epoch's permutation in slices of batch_size,
  the last one short when n % batch_size != 0.
- Updates, as optax documents them (t counts steps from 1):
  gd        theta -= lr g
  momentum  m = g + beta m;                theta -= lr m
  nesterov  m = g + beta m;                theta -= lr (g + beta m)
  adam      mu = b1 mu + (1 - b1) g;  nu = b2 nu + (1 - b2) g^2;
            theta -= lr (mu / (1 - b1^t)) / (sqrt(nu / (1 - b2^t)) + eps)
  rmsprop   nu = decay nu + (1 - decay) g^2;  theta -= lr g / sqrt(nu + eps)
- Divergence: a loss is out of bounds when non-finite or more than ``DIVERGENCE_FACTOR``
  times the initial loss; a run diverged when its last loss is out of bounds, at the first
  step of that final out-of-bounds stretch (a transient overshoot that recovers is not
  divergence).
- Surface: loss[i, j] at (theta0[j], theta1[i]) on numpy.linspace axes (the notebook's
  meshgrid).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

DIVERGENCE_FACTOR = 10.0


# ---------------------------------------------------------------- data


class Draws(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    inits: list[np.ndarray]
    permutations: list[np.ndarray | None]


def draw_legacy(config: dict[str, Any]) -> Draws:
    """The notebook's stream, generalised to the config's ranges, runs and epochs."""
    data = config["data"]
    n = data["n"]
    stream = np.random.RandomState(config["seed"])
    low, high = data["x_range"]
    x = low + (high - low) * stream.rand(n, 1)
    y = data["theta"][0] + data["theta"][1] * x + data["noise"] * stream.randn(n, 1)
    inits: list[np.ndarray] = []
    permutations: list[np.ndarray | None] = []
    for run in config["runs"]:
        if run["init"] == "random":
            inits.append(stream.randn(2, 1).ravel())
        else:
            inits.append(np.array(run["init"], dtype=np.float64))
        if run["batch_size"] < n:
            permutations.append(np.stack([stream.permutation(n) for _ in range(run["epochs"])]))
        else:
            permutations.append(None)
    return Draws(x.ravel(), y.ravel(), inits, permutations)


# ---------------------------------------------------------------- model


def design(x: np.ndarray) -> np.ndarray:
    return np.c_[np.ones(len(x)), x]


def loss(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean((y - design(x) @ theta) ** 2))


def gradient(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return -2.0 / len(x) * design(x).T @ (y - design(x) @ theta)


def ols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    solution, *_ = np.linalg.lstsq(design(x), y, rcond=None)
    return solution


def hessian(x: np.ndarray) -> np.ndarray:
    return 2.0 / len(x) * design(x).T @ design(x)


# ---------------------------------------------------------------- optimizers


class State(NamedTuple):
    count: int
    mu: np.ndarray  # momentum trace, or adam's first moment
    nu: np.ndarray  # adam's / rmsprop's second moment


def init_state(theta: np.ndarray) -> State:
    return State(0, np.zeros_like(theta), np.zeros_like(theta))


def update(name: str, hyper: dict[str, float], g: np.ndarray, state: State):
    """One step's (update to add to theta, new state), by optax's documented rules."""
    lr = hyper["learning_rate"]
    count = state.count + 1
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if name == "gd":
            return -lr * g, state._replace(count=count)
        if name in ("momentum", "nesterov"):
            beta = hyper["momentum"]
            trace = g + beta * state.mu
            direction = g + beta * trace if name == "nesterov" else trace
            return -lr * direction, State(count, trace, state.nu)
        if name == "adam":
            b1, b2, eps = hyper["b1"], hyper["b2"], hyper["eps"]
            mu = (1 - b1) * g + b1 * state.mu
            nu = (1 - b2) * g**2 + b2 * state.nu
            mu_hat = mu / (1 - b1**count)
            nu_hat = nu / (1 - b2**count)
            return -lr * mu_hat / (np.sqrt(nu_hat) + eps), State(count, mu, nu)
        if name == "rmsprop":
            decay, eps = hyper["decay"], hyper["eps"]
            nu = (1 - decay) * g**2 + decay * state.nu
            return -lr * g / np.sqrt(nu + eps), State(count, state.mu, nu)
    raise ValueError(f"unknown optimizer {name!r}")


def batches(permutation: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """The notebook's slices of one epoch's order; the last is short when it must be."""
    return [permutation[i:i + batch_size] for i in range(0, len(permutation), batch_size)]


def first_divergence(losses: np.ndarray) -> int:
    """First step of the final out-of-bounds stretch, or -1 when the last loss is fine."""
    with np.errstate(invalid="ignore"):
        out = ~np.isfinite(losses) | (losses > DIVERGENCE_FACTOR * max(losses[0], 1e-30))
    if not out[-1]:
        return -1
    inside = np.flatnonzero(~out)
    return int(inside[-1]) + 1 if inside.size else 0


class Run(NamedTuple):
    thetas: np.ndarray  # (steps + 1, 2), the initial theta first
    losses: np.ndarray  # (steps + 1,), full-data MSE
    diverged_step: int  # -1 when it did not


def run(
    name: str,
    hyper: dict[str, float],
    theta_init: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int | None = None,
    permutations: np.ndarray | None = None,
) -> Run:
    """Full batch (one step per epoch) when ``permutations`` is None, else mini-batches."""
    theta = np.asarray(theta_init, dtype=np.float64).copy()
    state = init_state(theta)
    thetas, losses = [theta], [loss(theta, x, y)]
    for epoch in range(epochs):
        if permutations is None:
            order = [np.arange(len(x))]
        else:
            assert batch_size is not None
            order = batches(permutations[epoch], batch_size)
        for index in order:
            step, state = update(name, hyper, gradient(theta, x[index], y[index]), state)
            with np.errstate(over="ignore", invalid="ignore"):
                theta = theta + step
            thetas.append(theta)
            losses.append(loss(theta, x, y))
    losses_array = np.array(losses)
    return Run(np.array(thetas), losses_array, first_divergence(losses_array))


def hyper_of(run_config: dict[str, Any]) -> dict[str, float]:
    keys = ("learning_rate", "momentum", "b1", "b2", "decay", "eps")
    return {key: float(run_config[key]) for key in keys}


# ---------------------------------------------------------------- surface


def surface(
    theta0_range: tuple[float, float],
    theta1_range: tuple[float, float],
    resolution: int,
    x: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notebook's grid: loss[i, j] at (theta0[j], theta1[i])."""
    theta0 = np.linspace(*theta0_range, resolution)
    theta1 = np.linspace(*theta1_range, resolution)
    mesh0, mesh1 = np.meshgrid(theta0, theta1)
    # (points, n) residuals, row by row to keep memory small
    grid = np.empty_like(mesh0)
    for i in range(resolution):
        residual = y[None, :] - mesh0[i][:, None] - mesh1[i][:, None] * x[None, :]
        grid[i] = np.mean(residual**2, axis=1)
    return theta0, theta1, grid


# ---------------------------------------------------------------- everything


def reference(config: dict[str, Any], draws: Draws | None = None) -> dict[str, Any]:
    """What results.json should say, from the normalised config alone.

    ``draws`` replaces the numpy-legacy stream (for ``rng = "jax"``, whose bits numpy
    cannot reproduce); everything after the draws is still re-derived here.
    """
    if draws is None:
        assert config["data"]["rng"] == "numpy-legacy"
        draws = draw_legacy(config)
    x, y = draws.x, draws.y
    theta_ols = ols(x, y)
    eigenvalues = np.linalg.eigvalsh(hessian(x))
    runs = []
    for spec, init, perms in zip(config["runs"], draws.inits, draws.permutations, strict=True):
        record = run(spec["optimizer"], hyper_of(spec), init, x, y, spec["epochs"],
                     spec["batch_size"], perms)
        runs.append(record)
    settings = config["surface"]
    theta0, theta1, grid = surface(settings["theta0"], settings["theta1"],
                                   settings["resolution"], x, y)
    row, col = np.unravel_index(np.argmin(grid), grid.shape)
    return {
        "x": x,
        "y": y,
        "ols_theta": theta_ols,
        "ols_loss": loss(theta_ols, x, y),
        "hessian": hessian(x),
        "eigenvalues": eigenvalues,
        "condition_number": eigenvalues[-1] / eigenvalues[0],
        "max_stable_lr": 2.0 / eigenvalues[-1],
        "optimal_lr": 2.0 / (eigenvalues[0] + eigenvalues[-1]),
        "runs": runs,
        "theta0": theta0,
        "theta1": theta1,
        "surface": grid,
        "min_loss": grid[row, col],
        "argmin": np.array([theta0[col], theta1[row]]),
    }


# ---------------------------------------------------------------- facts the claims rest on
# Independent re-derivations of what each claim of ``reportgen.claims`` asserts, from the
# runs above (never from reportgen's compute).


def eigen(hessian_matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending eigenvalues and unit eigenvectors (columns) of a symmetric 2 x 2 matrix."""
    return np.linalg.eigh(hessian_matrix)


def error_parts(thetas: np.ndarray, star: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each row's error theta - theta* along (the floor, across the valley)."""
    return (np.asarray(thetas) - star) @ vectors


def rise_steps(losses: np.ndarray, share: float, floor: float) -> list[int]:
    """Steps at which the loss grew by more than ``share`` of itself and by more than
    ``floor`` times the starting loss."""
    return [k for k in range(1, len(losses))
            if np.isfinite(losses[k - 1]) and np.isfinite(losses[k])
            and losses[k] - losses[k - 1] > max(share * abs(losses[k - 1]),
                                                floor * abs(losses[0]))]


def momentum_radius(lr: float, beta: float, eigenvalues: np.ndarray, nesterov: bool) -> float:
    """The spectral radius of momentum on the quadratic, from the state (e_k, m_k) of
    optax's trace: m' = lambda e + beta m, e' = e - lr m' (heavy ball) or
    e' = e - lr (lambda e + beta m') (Nesterov), worst over the eigenvalues."""
    worst = 0.0
    for lam in eigenvalues:
        if nesterov:
            matrix = [[1 - lr * lam * (1 + beta), -lr * beta * beta], [lam, beta]]
        else:
            matrix = [[1 - lr * lam, -lr * beta], [lam, beta]]
        worst = max(worst, float(np.max(np.abs(np.linalg.eigvals(np.array(matrix))))))
    return worst


def shuffle_finals(config: dict[str, Any], run_index: int, theta_init: np.ndarray,
                   x: np.ndarray, y: np.ndarray, repeats: int) -> np.ndarray:
    """A mini-batch run's final loss under ``repeats`` other shufflings, each drawn (as the
    results record says) from numpy's PCG64 seeded by (seed, run index, repeat)."""
    spec = config["runs"][run_index]
    finals = []
    for repeat in range(repeats):
        stream = np.random.default_rng([config["seed"], run_index, repeat])
        perms = np.stack([stream.permutation(len(x)) for _ in range(spec["epochs"])])
        record = run(spec["optimizer"], hyper_of(spec), theta_init, x, y, spec["epochs"],
                     spec["batch_size"], perms)
        finals.append(record.losses[-1])
    return np.array(finals)


def gd_sweep(rates: np.ndarray, theta_init: np.ndarray, x: np.ndarray, y: np.ndarray,
             steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch GD at every rate: final losses and whether each diverged."""
    hyper = {"learning_rate": 0.0, "momentum": 0.0, "b1": 0.9, "b2": 0.999, "decay": 0.9,
             "eps": 1e-8}
    finals, diverged = [], []
    for rate in rates:
        record = run("gd", {**hyper, "learning_rate": float(rate)}, theta_init, x, y, steps)
        finals.append(record.losses[-1])
        diverged.append(record.diverged_step >= 0)
    return np.array(finals), np.array(diverged)


def rate_grid(scale: float, per_decade: int = 16, lowest: int = -48,
              highest: int = 9) -> np.ndarray:
    """The tuning grid as the handout declares it: scale x 10^(k/16), three figures."""
    rates = {float(f"{scale * 10 ** (k / per_decade):.2e}") for k in range(lowest, highest + 1)}
    return np.array(sorted(rates))
