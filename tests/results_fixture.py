"""A realistic ``results`` dict built with numpy alone, for the rendering tests.

The rendering layer reads only the plain results (the parsed results.json), so its tests
should not depend on JAX or on the compute layer. This module replays the source notebook
with numpy (``RandomState(seed)``: x, noise, one random init per run, one permutation per
epoch for mini-batch runs) and shapes the output like ``reportgen.results/1``.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_RUNS: list[dict[str, Any]] = [
    {"name": "Batch gradient descent", "learning_rate": 0.1, "epochs": 10, "batch_size": None},
    {"name": "Mini-batch gradient descent", "learning_rate": 0.1, "epochs": 2, "batch_size": 20},
]

LEARNING_RATE_RUNS: list[dict[str, Any]] = [
    {"name": "Small rate", "learning_rate": 0.02, "epochs": 10, "batch_size": None},
    {"name": "Notebook rate", "learning_rate": 0.1, "epochs": 10, "batch_size": None},
    {"name": "Near the optimal rate", "learning_rate": 0.4, "epochs": 10, "batch_size": None},
    {"name": "Above 2/L", "learning_rate": 0.5, "epochs": 10, "batch_size": None},
    {"name": "Far above 2/L", "learning_rate": 3.0, "epochs": 400, "batch_size": None},
]


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _run(
    spec: dict[str, Any], x: np.ndarray, y: np.ndarray, rng: np.random.RandomState,
    ols_theta: np.ndarray, ols_loss: float, eig: np.ndarray,
) -> dict[str, Any]:
    n = len(x)
    design = np.c_[np.ones(n), x]
    batch = spec["batch_size"] or n
    lr = spec["learning_rate"]
    theta = rng.randn(2)
    init = theta.copy()
    thetas = [theta.copy()]
    with np.errstate(all="ignore"):
        for _ in range(spec["epochs"]):
            order = rng.permutation(n) if batch < n else np.arange(n)
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                xb, yb = design[idx], y[idx]
                grad = -2 / len(idx) * xb.T @ (yb - xb @ theta)
                theta = theta - lr * grad
                thetas.append(theta.copy())
        arr = np.array(thetas)
        losses = np.mean((y[None, :] - arr @ design.T) ** 2, axis=1)
    finite = np.isfinite(losses) & np.all(np.isfinite(arr), axis=1)
    too_big = ~finite | (losses > 1e6 * max(losses[0], 1.0))
    diverged = bool(too_big.any())
    diverged_step = int(np.argmax(too_big)) if diverged else None
    steps = len(thetas) - 1
    final_ok = bool(finite[-1])
    predicted = float(np.max(np.abs(1 - lr * eig))) if batch == n else None
    with np.errstate(all="ignore"):
        errs = np.linalg.norm(arr - ols_theta, axis=1)
    observed = None
    if batch == n and final_ok and steps > 0 and errs[0] > 0 and errs[-1] > 0:
        observed = float((errs[-1] / errs[0]) ** (1 / steps))
    return {
        "name": spec["name"],
        "optimizer": "gd",
        "learning_rate": lr,
        "batch_size": batch,
        "epochs": spec["epochs"],
        "steps": steps,
        "steps_per_epoch": math.ceil(n / batch),
        "full_batch": batch == n,
        "theta_init": init.tolist(),
        "thetas": [[_finite_or_none(a), _finite_or_none(b)] for a, b in arr],
        "losses": [_finite_or_none(v) for v in losses],
        "final_theta": arr[-1].tolist() if final_ok else None,
        "final_loss": float(losses[-1]) if final_ok else None,
        "gap_to_ols": float(losses[-1] / ols_loss - 1) if final_ok else None,
        "diverged": diverged,
        "diverged_step": diverged_step,
        "predicted_rate": predicted,
        "observed_rate": observed,
        "stable": bool(lr < 2 / eig[-1]) if batch == n else None,
    }


def make_results(
    runs: list[dict[str, Any]] | None = None, *,
    title: str = "Gradient descent for linear regression",
    n: int = 100, resolution: int = 100, sweep: bool = False, paper: str = "a4",
) -> dict[str, Any]:
    """The results dict of the notebook's experiment (or of ``runs`` on its data)."""
    runs = DEFAULT_RUNS if runs is None else runs
    rng = np.random.RandomState(0)
    x = 2 * rng.rand(n, 1)[:, 0]
    y = 4 + 3 * x + rng.randn(n, 1)[:, 0]
    design = np.c_[np.ones(n), x]
    ols_theta = np.linalg.lstsq(design, y, rcond=None)[0]
    ols_loss = float(np.mean((y - design @ ols_theta) ** 2))
    hessian = 2 / n * design.T @ design
    eig = np.linalg.eigvalsh(hessian)
    run_results = [_run(spec, x, y, rng, ols_theta, ols_loss, eig) for spec in runs]

    t0 = np.linspace(-10, 10, resolution)
    t1 = np.linspace(-10, 10, resolution)
    m0, m1 = np.meshgrid(t0, t1)
    resid = y[None, None, :] - m0[..., None] - m1[..., None] * x[None, None, :]
    grid = np.mean(resid**2, axis=2)
    i, j = np.unravel_index(np.argmin(grid), grid.shape)

    sweep_result = None
    sweep_cfg = None
    if sweep:
        rates = np.geomspace(0.01, 1.0, 25)
        finals: list[float | None] = []
        div: list[bool] = []
        div_step: list[int | None] = []
        for lr in rates:
            r = _run({"name": "s", "learning_rate": float(lr), "epochs": 50, "batch_size": None},
                     x, y, np.random.RandomState(1), ols_theta, ols_loss, eig)
            finals.append(r["final_loss"] if not r["diverged"] else None)
            div.append(r["diverged"])
            div_step.append(r["diverged_step"])
        sweep_result = {"learning_rates": rates.tolist(), "final_losses": finals,
                        "diverged": div, "diverged_step": div_step, "epochs": 50,
                        "init": [0.0, 0.0]}
        sweep_cfg = {"min_rate": 0.01, "max_rate": 1.0, "num": 25, "epochs": 50, "init": [0.0, 0.0]}

    def cfg_run(spec: dict[str, Any]) -> dict[str, Any]:
        return {"name": spec["name"], "optimizer": "gd", "learning_rate": spec["learning_rate"],
                "epochs": spec["epochs"], "batch_size": spec["batch_size"] or n, "init": "random",
                "momentum": 0.9, "b1": 0.9, "b2": 0.999, "decay": 0.9, "eps": 1e-8}

    return {
        "schema": "reportgen.results/1",
        "config": {
            "title": title, "author": "After a lecture notebook by Rina Buoy, PhD",
            "date": "2026-01-01", "seed": 0, "precision": "float64", "device": "cpu",
            "paper": paper,
            "data": {"n": n, "theta": [4.0, 3.0], "x_range": [0.0, 2.0], "noise": 1.0,
                     "rng": "numpy-legacy"},
            "surface": {"theta0": [-10.0, 10.0], "theta1": [-10.0, 10.0],
                        "resolution": resolution, "method": "exact"},
            "runs": [cfg_run(s) for s in runs],
            "sweep": sweep_cfg,
        },
        "data": {
            "n": n, "x": x.tolist(), "y": y.tolist(),
            "summary": {"x_mean": float(x.mean()), "x_std": float(x.std()),
                        "x_min": float(x.min()), "x_max": float(x.max()),
                        "y_mean": float(y.mean()), "y_std": float(y.std())},
        },
        "ols": {"theta": ols_theta.tolist(), "loss": ols_loss},
        "diagnostics": {
            "hessian": hessian.tolist(), "hessian_eigenvalues": eig.tolist(),
            "condition_number": float(eig[-1] / eig[0]), "max_stable_lr": float(2 / eig[-1]),
            "optimal_lr": float(2 / (eig[0] + eig[-1])),
        },
        "runs": run_results,
        "surface": {"method": "exact", "resolution": resolution, "theta0": t0.tolist(),
                    "theta1": t1.tolist(), "loss": grid.tolist(),
                    "min_loss": float(grid[i, j]), "argmin": [float(t0[j]), float(t1[i])]},
        "sweep": sweep_result,
    }


def optimizer_results() -> dict[str, Any]:
    """The notebook's data with runs relabelled as momentum, Nesterov and Adam.

    The trajectories are gradient descent's; only the rendering (which sections, which
    equations) is under test here, not the optimizers' numbers.
    """
    specs = [{"name": f"{label} run", "learning_rate": 0.1, "epochs": 10, "batch_size": None}
             for label in ("GD", "Momentum", "Nesterov", "Adam")]
    results = make_results(specs)
    for run, cfg, optimizer in zip(results["runs"], results["config"]["runs"],
                                   ("gd", "momentum", "nesterov", "adam"), strict=True):
        run["optimizer"] = cfg["optimizer"] = optimizer
    return results


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


BUILD_WARNINGS: list[str] = []  # WeasyPrint's warnings while building built_handout()


@functools.cache
def built_handout() -> Path:
    """The default handout (HTML and PDF) written once per test process; its folder."""
    from reportgen import render

    os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    folder = Path(tempfile.mkdtemp(prefix="reportgen-handout-"))
    manifest = {"config_sha256": "0" * 64,
                "environment": {"reportgen": "test", "python": "3.11", "device": "cpu",
                                "packages": {"numpy": "x"}}}
    collect = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collect)
    try:
        render.write_report(make_results(), manifest, folder, {"html", "pdf"})
    finally:
        logger.removeHandler(collect)
    BUILD_WARNINGS.extend(collect.messages)
    return folder
