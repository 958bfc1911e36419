"""The Python API: the same contract as the command line, for scripts and notebooks.

>>> import reportgen
>>> cfg = reportgen.load_config("source-notebook", overrides={"runs.0.learning_rate": 0.3})
>>> res = reportgen.compute(cfg)                     # doctest: +SKIP
>>> rep = reportgen.build(cfg, out="build/x")         # doctest: +SKIP
>>> reportgen.verify("build/x").ok                    # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen import config as config_module
from reportgen import pipeline, verification
from reportgen.config import Config
from reportgen.course.cluster import WORKER_TIMEOUT_S
from reportgen.errors import ParameterError
from reportgen.layout import HTML_FILE, PDF_FILE, default_report_folder
from reportgen.render.format import fmt_num, fmt_pct, fmt_theta
from reportgen.store import results as results_io
from reportgen.store.output import OutputError
from reportgen.verification import Verification

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
        return self.path / HTML_FILE if HTML_FILE in self.files else None

    @property
    def pdf_path(self) -> Path | None:
        """``handout.pdf``, when the build made a PDF."""
        return self.path / PDF_FILE if PDF_FILE in self.files else None

    @property
    def notebook_path(self) -> Path | None:
        """``handout.ipynb``, when the build made the notebook."""
        return self.path / "handout.ipynb" if "handout.ipynb" in self.files else None

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
      formats: any of ``"html"``, ``"pdf"`` and ``"ipynb"`` (``handout.ipynb``, the
        handout as a notebook that recomputes its numbers with numpy).
      templates: a folder of templates overriding the shipped ones by name.
      cache: False recomputes and caches nothing.
      cache_dir: the cache folder.
      jobs: 2 renders in a spawned helper process beside this one while the numbers are
        computed (as ``reportgen build`` does; the calling script then needs an
        ``if __name__ == "__main__":`` guard); 1 renders here.

    Returns:
      The written report.

    Raises:
      ConfigError: a bad config or template; a :class:`ParameterError` (a ConfigError)
        for a bad argument, named as in this call (``jobs=0: ...``).
      OutputError: an ``OSError`` naming the output folder, which may not be replaced (it
        holds other files, it is a symbolic link...) or cannot be written; its message
        is the one line the command line prints, in this call's terms (``out='x': ...``).
    """
    target = Path(out) if out is not None else default_report_folder(config.name)
    with _python_terms({"out": out if out is not None else str(target), "jobs": jobs}):
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
    worker_timeout: float = WORKER_TIMEOUT_S,
    cache: bool = True,
    cache_dir: PathLike | None = None,
) -> BatchResult:
    """Build every variant of a batch config (its ``[matrix]`` and/or ``[students]``).

    Bad arguments, a bad config, an ``out`` folder holding other files and a Dask
    scheduler that cannot be reached are all refused before anything is computed.

    Args:
      path_or_name: a TOML file or shipped handout name (a roster path is relative to it).
      out: the batch folder (default: ``build/<name>-batch``).
      overrides: values set over the file, by dotted key, as in :func:`load_config` (a
        batch with exercises makes student and instructor copies at once:
        ``out/students/`` and ``out/instructor/``).
      matrix: ``"KEY=V1,V2"`` entries replacing the config's matrix for KEY.
      formats: any of ``"html"``, ``"pdf"`` and ``"ipynb"`` (``handout.ipynb``, the
        handout as a notebook that recomputes its numbers with numpy).
      templates: a folder of templates overriding the shipped ones by name.
      jobs: local worker processes that render (spawned).
      executor: ``"local"`` or ``"dask"`` (with ``scheduler``, an existing cluster).
      scheduler: the Dask scheduler's address, ``"tcp://HOST:PORT"``.
      worker_timeout: seconds the Dask cluster may have no worker before the batch stops
        (``BatchResult.stopped`` says so; the built variants are kept, a rerun resumes).
      cache: False recomputes and caches nothing.
      cache_dir: the cache folder.

    Returns:
      The batch folder and each variant's outcome (``.failed`` lists the failures,
      ``.pending`` what a stopped batch did not reach).

    Raises:
      ConfigError: a bad config, matrix, roster or constraint; a :class:`ParameterError`
        (a ConfigError) for a bad argument, named as in this call (``jobs=0: ...``).
      OutputError: an ``OSError`` for an ``out`` folder that may not be written.
    """
    from reportgen.course import batch

    arguments = {"out": out, "jobs": jobs, "executor": executor, "scheduler": scheduler,
                 "worker_timeout": worker_timeout}
    with _python_terms(arguments):
        return batch.build(path_or_name, _path(out), formats, overrides=overrides or (),
                           matrix_options=matrix, templates_dir=_path(templates), jobs=jobs,
                           executor=executor, scheduler=scheduler,
                           worker_timeout=worker_timeout, cache_dir=_path(cache_dir),
                           use_cache=cache)


def verify(path: PathLike) -> Verification:
    """Recompute a report folder, a handout PDF, or every variant of a batch folder, from
    its own config and compare (as ``reportgen verify`` does).

    Returns:
      A :class:`~reportgen.verification.Verification`: ``.ok`` and ``.differences``; for
      a batch, ``.variants`` holds each variant's, and ``.differences`` all of theirs,
      each led by the variant's id.

    Raises:
      ConfigError: ``path`` is missing or is not a readable report or batch.
    """
    return verification.verify(Path(path))


@contextlib.contextmanager
def _python_terms(arguments: Mapping[str, Any]) -> Iterator[None]:
    """Errors about an argument, worded as in the call (``jobs=0: ...``), not as the
    command line words them (``--jobs: ...``)."""
    try:
        yield
    except (ParameterError, OutputError) as exc:
        name = exc.parameter
        given = f"{name}={arguments[name]!r}" if name in arguments else f"{name}="
        raise exc.worded(f"{given}: {exc.problem}") from None


def _path(value: PathLike | None) -> Path | None:
    return None if value is None else Path(value)
