"""Results for the rendering tests, computed by reportgen itself on small configs.

The rendering layer reads only the typed results, but its tests must not run on a
hand-made value that can drift from what ``compute`` makes: every ``Results`` here comes
from ``reportgen.numerics`` (cached per process and in the test cache folder), so a change
to the results shows up in the rendering tests at once.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import reportgen
from reportgen import pipeline
from reportgen.config import validate
from reportgen.store.results import Results, dumps

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

SWEEP = {"min_rate": 0.01, "max_rate": 1.0, "num": 25, "epochs": 50, "init": [0.0, 0.0]}


def config_for(
    runs: list[dict[str, Any]] | None = None,
    *,
    sweep: bool = False,
    title: str = "Gradient descent for linear regression",
    paper: str = "a4",
    n: int = 100,
    resolution: int = 100,
) -> reportgen.Config:
    """The notebook's data and surface with ``runs`` (the notebook's two by default)."""
    specs = DEFAULT_RUNS if runs is None else runs
    raw: dict[str, Any] = {
        "title": title,
        "author": "After a lecture notebook by Rina Buoy, PhD",
        "paper": paper,
        "device": "cpu",
        "data": {"n": n},
        "surface": {"resolution": resolution},
        "runs": [
            {key: value for key, value in spec.items() if value is not None} for spec in specs
        ],
    }
    if sweep:
        raw["sweep"] = SWEEP
    return reportgen.Config.model_validate(raw)


@functools.cache
def results_text(config_json: str) -> str:
    """results.json's text for a config (given as JSON, so that it can key the cache)."""
    config = reportgen.Config.model_validate_json(config_json)
    return dumps(reportgen.compute(config).value)


def make_results(runs: list[dict[str, Any]] | None = None, **options: Any) -> Results:
    """The results of the notebook's experiment (or of ``runs`` on its data), read afresh
    from their results.json text (a new value with its own arrays, safe to modify)."""
    config = config_for(runs, **options)
    return Results.loads(results_text(config.model_dump_json()))


def with_exercises(results: Results, exercises: list[dict[str, Any]],
                   audience: str = "student") -> Results:
    """The same numbers for a config that adds ``exercises`` for ``audience``."""
    raw = {**results.config.normalised(), "exercises": exercises, "audience": audience}
    return results.restamped(validate(raw, source="test config"))


def optimizer_results() -> Results:
    """The notebook's data with plain GD, momentum, Nesterov and Adam from one start."""
    runs = [{"name": f"{label} run", "optimizer": name, "learning_rate": rate, "epochs": 30,
             "init": [-2.0, 8.0]}
            for label, name, rate in (("GD", "gd", 0.1), ("Momentum", "momentum", 0.05),
                                      ("Nesterov", "nesterov", 0.05), ("Adam", "adam", 0.3))]
    return make_results(runs)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


BUILD_WARNINGS: list[str] = []  # WeasyPrint's warnings while building built_handout()


def shared_build(name: str, build: Callable[[Path], None]) -> Path:
    """A folder built once per test run, whichever worker process asks first.

    ``build(folder)`` fills an empty folder; the others wait on a lock and read the same
    folder (tests read what was built, they never change it). The folder lives in the
    run's shared directory (tests/conftest.py), so a run with two workers builds each
    shared handout once instead of once per worker.
    """
    root = Path(os.environ.get("REPORTGEN_TEST_SHARED") or tempfile.mkdtemp())
    root.mkdir(parents=True, exist_ok=True)
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".complete").write_text("", encoding="utf-8")
    return folder


@functools.cache
def built_handout() -> Path:
    """The default handout (HTML and PDF), rendered once per test run; its folder.

    WeasyPrint's warnings while building it are kept in ``BUILD_WARNINGS``."""
    from reportgen.store.output import write_files

    def build(folder: Path) -> None:
        config = config_for()
        computed = pipeline.compute(config)
        collect = _Collect()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(collect)
        try:
            write_files(folder, pipeline.report_files(config, computed, ("html", "pdf")))
        finally:
            logger.removeHandler(collect)
        (folder / ".warnings.json").write_text(json.dumps(collect.messages), encoding="utf-8")

    folder = shared_build("default-handout", build)
    BUILD_WARNINGS.extend(json.loads((folder / ".warnings.json").read_text(encoding="utf-8")))
    return folder


@functools.cache
def built_shipped(name: str) -> Path:
    """A shipped handout (``reports/<name>.toml``), built once per test run; its folder.

    Computed on the CPU whatever the config says, so the suite runs the same everywhere.
    """
    from reportgen.store.output import write_files

    def build(folder: Path) -> None:
        config = reportgen.load_config(name, overrides={"device": "cpu"})
        computed = pipeline.compute(config)
        write_files(folder, pipeline.report_files(config, computed, ("html", "pdf")))

    return shared_build(f"shipped-{name}", build)
