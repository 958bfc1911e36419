"""The Python API: the same contract as the command line, for scripts and notebooks.

>>> import reportgen
>>> cfg = reportgen.load_config("source-notebook", overrides={"runs.0.learning_rate": 0.3})
>>> res = reportgen.compute(cfg)                     # doctest: +SKIP
>>> rep = reportgen.build(cfg, out="build/x")         # doctest: +SKIP
>>> reportgen.verify("build/x").ok                    # doctest: +SKIP
True
"""

from __future__ import annotations

import html
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen import config as config_module
from reportgen import pipeline
from reportgen.config import Config
from reportgen.render.format import fmt_num, fmt_pct, fmt_theta
from reportgen.store import results as results_io
from reportgen.verification import Verification, check

if TYPE_CHECKING:
    from reportgen.course.batch import BatchResult

__all__ = ["Report", "Results", "build", "build_batch", "compute", "load_config", "verify"]

PathLike = str | os.PathLike[str]


def load_config(
    path_or_name: PathLike | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Config:
    """Read and validate a handout config.

    Args:
      path_or_name: a TOML file, or the name of a shipped handout (default:
        ``source-notebook``).
      overrides: values set over the file, by dotted key
        (``{"runs.0.learning_rate": 0.3, "data.n": 1000}``), or ``--set`` texts.

    Returns:
      The validated, frozen config.

    Raises:
      ConfigError: naming the bad field and what was expected.
    """
    return config_module.load(path_or_name, overrides or ())


@dataclass(frozen=True)
class Results:
    """A handout's numbers: the typed results (:class:`reportgen.store.results.Results`,
    whose serialisation is results.json), and whether they came from the cache."""

    value: results_io.Results
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Exactly what results.json holds, as plain data (a fresh copy, safe to modify)."""
        return self.value.to_dict()

    @property
    def runs(self) -> tuple[results_io.Run, ...]:
        """Every optimizer run: trajectory, losses, final theta, divergence."""
        return self.value.runs

    @property
    def ols(self) -> results_io.OLS:
        """The closed-form least-squares solution and its loss."""
        return self.value.ols

    @property
    def diagnostics(self) -> results_io.Diagnostics:
        """The Hessian, its eigenvalues, the condition number, 2/L and the optimal rate."""
        return self.value.diagnostics

    def _repr_html_(self) -> str:
        """A results table for Jupyter: every run against the closed form."""
        rows = "".join(
            f"<tr><td>{html.escape(run.name)}</td><td>{run.learning_rate:g}</td>"
            f"<td>{run.steps}</td><td>{fmt_theta(run.final_theta)}</td>"
            f"<td>{fmt_num(run.final_loss)}</td><td>{fmt_pct(run.gap_to_ols)}</td>"
            f"<td>{'yes' if run.diverged else 'no'}</td></tr>"
            for run in self.runs
        )
        ols = (f"<tr><th>closed form (OLS)</th><td></td><td></td>"
               f"<td>{fmt_theta(self.ols.theta)}</td><td>{fmt_num(self.ols.loss)}</td>"
               f"<td></td><td></td></tr>")
        head = ("<tr><th>run</th><th>η</th><th>steps</th><th>final θ</th><th>final loss</th>"
                "<th>gap to OLS</th><th>diverged</th></tr>")
        title = html.escape(self.value.config.title)
        return f"<table><caption>{title}</caption>{head}{rows}{ols}</table>"


def compute(
    config: Config, *, cache: bool = True, cache_dir: PathLike | None = None
) -> Results:
    """Compute a handout's numbers with JAX (or read them from the cache).

    Args:
      config: from :func:`load_config`.
      cache: False recomputes and caches nothing.
      cache_dir: the cache folder (default: ``$REPORTGEN_CACHE_DIR`` or
        ``~/.cache/reportgen``).

    Returns:
      The results; ``Results.to_dict()`` is what results.json holds.
    """
    computed = pipeline.compute(config, cache_dir=_path(cache_dir), use_cache=cache)
    return Results(computed.results, computed.cached)


@dataclass(frozen=True)
class Report:
    """A written report folder."""

    path: Path
    files: tuple[str, ...]

    @property
    def html_path(self) -> Path | None:
        """``index.html``, when the build made HTML."""
        return self.path / "index.html" if "index.html" in self.files else None

    @property
    def pdf_path(self) -> Path | None:
        """``handout.pdf``, when the build made a PDF."""
        return self.path / "handout.pdf" if "handout.pdf" in self.files else None

    def _repr_html_(self) -> str:
        """The handout inline in Jupyter (in an iframe, so its styles stay its own)."""
        if self.html_path is None:
            return f"<p>report {html.escape(str(self.path))}: {', '.join(self.files)}</p>"
        page = self.html_path.read_text(encoding="utf-8")
        return (f'<iframe title="handout" srcdoc="{html.escape(page, quote=True)}" '
                f'style="width: 100%; height: 640px; border: 1px solid #ccc"></iframe>')


def build(
    config: Config,
    out: PathLike | None = None,
    formats: Collection[str] = ("html", "pdf"),
    *,
    templates: PathLike | None = None,
    cache: bool = True,
    cache_dir: PathLike | None = None,
    jobs: int = 1,
) -> Report:
    """Compute, render and write a report folder atomically.

    Args:
      config: from :func:`load_config`.
      out: the report folder (default: ``build/<handout name>``); replaced only when it
        is empty or a report reportgen wrote.
      formats: any of ``"html"`` and ``"pdf"``.
      templates: a folder of templates overriding the shipped ones by name.
      cache: False recomputes and caches nothing.
      cache_dir: the cache folder.
      jobs: 2 renders in a spawned helper process beside this one while the numbers are
        computed (as ``reportgen build`` does; the calling script then needs an
        ``if __name__ == "__main__":`` guard); 1 renders here.

    Returns:
      The written report.

    Raises:
      ConfigError: a bad config or template.
      reportgen.store.output.OutputError: an ``OSError`` naming the output folder, which
        may not be replaced (it holds other files, it is a symbolic link...) or cannot
        be written.
    """
    target = Path(out) if out is not None else Path("build") / config.name
    files = pipeline.build(config, target, tuple(formats), templates_dir=_path(templates),
                           cache_dir=_path(cache_dir), use_cache=cache, jobs=jobs)
    return Report(target, tuple(sorted(files)))


def build_batch(
    path_or_name: PathLike,
    out: PathLike | None = None,
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    matrix: Sequence[str] = (),
    formats: Collection[str] = ("html", "pdf"),
    templates: PathLike | None = None,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    cache: bool = True,
    cache_dir: PathLike | None = None,
) -> BatchResult:
    """Build every variant of a batch config (its ``[matrix]`` and/or ``[students]``).

    Args:
      path_or_name: a TOML file or shipped handout name (a roster path is relative to it).
      out: the batch folder (default: ``build/<name>-batch``).
      overrides: values set over the file, by dotted key, as in :func:`load_config` (a
        batch with exercises makes student and instructor copies at once:
        ``out/students/`` and ``out/instructor/``).
      matrix: ``"KEY=V1,V2"`` entries replacing the config's matrix for KEY.
      formats: any of ``"html"`` and ``"pdf"``.
      templates: a folder of templates overriding the shipped ones by name.
      jobs: local worker processes that render (spawned).
      executor: ``"local"`` or ``"dask"`` (with ``scheduler``, an existing cluster).
      cache: False recomputes and caches nothing.
      cache_dir: the cache folder.

    Returns:
      The batch folder and each variant's outcome (``.failed`` lists the failures).

    Raises:
      ConfigError: a bad config, matrix, roster or output folder.
    """
    from reportgen.course import batch, plan

    pipeline.check_jobs(jobs)  # before the plan computes anything
    made = plan.make_plan(path_or_name, overrides or (), matrix, cache_dir=_path(cache_dir),
                          use_cache=cache)
    target = Path(out) if out is not None else batch.default_folder(made)
    return batch.run(made, target, formats, templates_dir=_path(templates), jobs=jobs,
                     executor=executor, scheduler=scheduler, cache_dir=_path(cache_dir),
                     use_cache=cache)


def verify(path: PathLike) -> Verification:
    """Recompute a report folder (or a handout PDF) from its own config and compare.

    Returns:
      A :class:`~reportgen.verification.Verification`: ``.ok`` and ``.differences``.
    """
    return check(Path(path))


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)
