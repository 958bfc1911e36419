"""The application as plain functions: config -> cached or fresh results -> report files.

The command line, the Python API, ``verify`` and the course tools all call these; none of
them goes through argparse. Each step returns plain values:

- ``compute``: the results (from the cache or from JAX), large arrays and environment;
- ``report_files``: every file of a report folder, rendered in memory, by relative path;
- ``store.output.write_folder``: the folder replaced atomically with exactly those files.

JAX is imported only when results are not cached; the renderer only when rendering.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reportgen import renderer_process
from reportgen.config import Config, ConfigError, dump_toml
from reportgen.errors import ParameterError
from reportgen.layout import CONFIG_FILE as CONFIG_FILE
from reportgen.render.errors import RenderError
from reportgen.store import cache, manifest, output, student
from reportgen.store import results as results_io
from reportgen.store.answers import Answer, answers

Progress = Callable[[str], None]
#: What a PDF carries so that it can be verified alone.
ATTACHED_FILES = (CONFIG_FILE, results_io.RESULTS_FILE)


def _silent(_stage: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class Computed:
    """A config's numbers: results.json's data, the large arrays beside it, the environment."""

    results: results_io.Results
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    cached: bool = False


def compute(
    config: Config,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress = _silent,
    before_jax: Callable[[], Any] = lambda: None,
) -> Computed:
    """The results of ``config``: from the cache when it has them, else computed with JAX.

    Args:
      config: a validated config.
      cache_dir: where results and JAX compilations are cached (default:
        ``store.cache.default_dir()``).
      use_cache: False recomputes and stores nothing.
      progress: called with each stage's name as it starts.
      before_jax: called just before JAX is imported, if the results are not cached.

    Returns:
      The results, the arrays kept out of results.json, and the compute environment.
    """
    return compute_many([config], cache_dir=cache_dir, use_cache=use_cache,
                        progress=progress, before_jax=before_jax)[0]


def compute_many(
    configs: Sequence[Config],
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress = _silent,
    before_jax: Callable[[], Any] = lambda: None,
    store: bool = True,
) -> list[Computed]:
    """The results of many configs: cached ones read, the rest computed together.

    Configs whose arrays share shapes are computed by one compiled program each
    (``numerics.experiment.compute_many``); the results equal ``compute`` of each config.
    ``before_jax`` is called just before JAX is imported, if anything is to be computed.
    ``store=False`` caches nothing new (a caller that keeps only some results, such as
    students' redraws, caches those with ``remember``).
    """
    folder = cache_dir or cache.default_dir()
    found: dict[int, Computed] = {}
    if use_cache:
        for index, config in enumerate(configs):
            hit = cache.load(folder, cache_key(config))
            if hit is not None:
                results = results_io.Results.loads(hit.results_text).restamped(config)
                found[index] = Computed(results, hit.arrays, hit.environment, True)
    if found:
        progress("cached results")
    missing = [index for index in range(len(configs)) if index not in found]
    if missing:
        before_jax()
        progress("import jax")
        from reportgen.numerics import experiment, runtime

        devices = {configs[index].device for index in missing}
        for device in sorted(devices):
            runtime.configure_jax(device)
        if use_cache:
            runtime.enable_compilation_cache(folder)
        outcomes = experiment.compute_many([configs[i] for i in missing], progress=progress)
        for index, (results, arrays) in zip(missing, outcomes, strict=True):
            config = configs[index]
            environment = runtime.environment(config.device, config.precision)
            found[index] = Computed(results, arrays, environment)
            if use_cache and store:
                remember(config, found[index], cache_dir=folder)
    return [found[index] for index in range(len(configs))]


def cache_key(config: Config) -> str:
    """The compute cache's key for ``config``: its numbers, the code and the device."""
    return cache.key(config.numbers_digest(), config.device)


def remember(config: Config, computed: Computed, *, cache_dir: Path | None = None) -> None:
    """Put freshly computed results of ``config`` in the cache (a hit is already there)."""
    if computed.cached:
        return
    cache.store(cache_dir or cache.default_dir(), cache_key(config),
                cache.Entry(results_io.dumps(computed.results), computed.arrays,
                            computed.environment))


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def results_files(computed: Computed) -> dict[str, bytes]:
    """results.json and the large arrays (``surface.npy``), as a report folder holds them."""
    files = {results_io.RESULTS_FILE: results_io.dumps(computed.results).encode("utf-8")}
    files.update({name: _npy_bytes(array) for name, array in computed.arrays.items()})
    return files


def compute_files(config: Config, computed: Computed) -> dict[str, bytes]:
    """The folder ``reportgen compute`` writes: ``results_files`` and their manifest.json.

    The manifest (reportgen's, listing every file) is what lets a later build or compute
    replace the folder, and ``verify`` check it.
    """
    files = results_files(computed)
    record = manifest.build_manifest(config.normalised(), config.digest(), computed.environment)
    record["files"] = manifest.file_hashes(files)
    files[manifest.MANIFEST_FILE] = manifest.dumps(record).encode("utf-8")
    return files


def report_files(
    config: Config,
    computed: Computed,
    formats: Collection[str] = ("html", "pdf"),
    *,
    templates_dir: Path | None = None,
    progress: Progress = _silent,
    figure_cache: Any = None,
    plan_store: Any = None,
    helper: Executor | None = None,
) -> dict[str, bytes]:
    """Every file of the report folder of ``config``, rendered in memory.

    ``figure_cache`` holds drawn figures (and the PDF's figure moves, unless ``plan_store``
    is given for those alone).

    The manifest embedded in the HTML and attached to the PDF lists the files that exist
    before rendering (results, arrays, config); ``manifest.json`` lists them all. A
    student copy of a handout with exercises is rendered from its student view
    (``store.student.student_view``: the results without what gives an answer away) and
    its config without solutions; it holds no results (the config alone re-derives it),
    its prompts are checked before rendering and the whole copy after (``render.leaks``).

    Raises:
      ConfigError: a template error or a refused resource (``render: ...``), an exercise
        a student copy cannot keep secret, or a copy that would give an answer away
        (``render.leaks.LeakError``).
    """
    progress("load renderer")
    from reportgen.render.report import render_report, renderer_environment

    results = computed.results
    student_copy = results.is_student_copy
    expected: list[Answer] = []
    if student_copy:
        config, results, expected = student_copy_of(config, computed)
        check_prompts(results, expected, templates_dir)
    files = {} if student_copy else results_files(computed)
    files[CONFIG_FILE] = dump_toml(config).encode("utf-8")
    record = manifest.build_manifest(config.normalised(), config.digest(), computed.environment,
                                     renderer_environment())
    if templates_dir is not None:
        record[manifest.TEMPLATES] = manifest.CUSTOM_TEMPLATES
    record["files"] = manifest.file_hashes(files)
    attachments = {name: files[name] for name in ATTACHED_FILES if name in files}
    attachments[manifest.MANIFEST_FILE] = manifest.dumps(record).encode("utf-8")
    try:
        files.update(render_report(results, record, formats, arrays=computed.arrays,
                                   templates_dir=templates_dir, attachments=attachments,
                                   progress=progress, figure_cache=figure_cache,
                                   plan_store=plan_store, helper=helper))
    except RenderError as exc:
        raise ConfigError(f"render: {exc}") from None
    progress("manifest")
    record["files"] = manifest.file_hashes(files)
    files[manifest.MANIFEST_FILE] = manifest.dumps(record).encode("utf-8")
    if student_copy:
        from reportgen.render.leaks import check_student_copy

        progress("leak check")
        check_student_copy(files, expected)
    return files


def student_copy_of(config: Config, computed: Computed
                    ) -> tuple[Config, results_io.Results, list[Answer]]:
    """What a student copy is made of: its config (no solutions), the value it is rendered
    from (its student view) and the answers it must not give away.

    Raises:
      ConfigError: an exercise the copy cannot keep secret, or without a fair answer.
    """
    config = student.student_config(config)
    full = computed.results.restamped(config)
    expected = answers(full)
    return config, student.student_view(full), expected


def check_student_copy(config: Config, computed: Computed,
                       templates_dir: Path | None = None) -> None:
    """Refuse, before rendering, a student copy whose exercises it cannot keep secret or
    whose prompts give an answer away (``check_prompts``).

    Raises:
      ConfigError: naming the exercise.
    """
    _config, view, expected = student_copy_of(config, computed)
    check_prompts(view, expected, templates_dir)


def check_prompts(view: results_io.Results, expected: Sequence[Answer],
                  templates_dir: Path | None = None) -> None:
    """Refuse a student copy whose prompts would print what it withholds (undefined in its
    student view) or a number that scores (``render.leaks.check_prompts``).

    Raises:
      ConfigError: naming the exercise.
    """
    from reportgen.render.html import student_prompts
    from reportgen.render.leaks import check_prompts as check_texts

    try:
        prompts = student_prompts(view, templates_dir)
    except RenderError as exc:
        raise ConfigError(str(exc)) from None
    check_texts(prompts, expected)


def check_jobs(jobs: int) -> None:
    """Refuse a number of processes below one (``jobs`` of build and batch).

    Raises:
      ParameterError: naming ``jobs``.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError("jobs", f"expected a whole number >= 1, got {jobs!r}")


def preflight(target: Path) -> None:
    """Fail early, before any compute, when the report folder cannot be written."""
    output.preflight(target)


def build(
    config: Config,
    target: Path,
    formats: Collection[str] = ("html", "pdf"),
    *,
    templates_dir: Path | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress = _silent,
    figure_cache: Any = None,
    jobs: int = 1,
) -> Mapping[str, bytes]:
    """Compute, render and write the report folder ``target`` atomically; returns its files.

    Figures come from ``figure_cache`` (default: the disk cache) when their inputs are
    unchanged, so a template- or prose-only rebuild draws nothing. With ``jobs`` of 2 or
    more, when the numbers must be computed, a helper process (``reportgen.renderer_process``)
    imports the renderer meanwhile, then draws figures beside this process, renders the
    HTML and typesets the PDF: the same bytes, sooner.
    """
    check_jobs(jobs)
    preflight(target)
    if results_io.is_student_copy(config):  # before computing: what it cannot keep secret
        student.check_exercises(config)
    with contextlib.ExitStack() as stack:
        helper: Executor | None = None

        def start_helper() -> None:
            nonlocal helper
            if jobs >= 2 and (started := renderer_process.start(with_pdf="pdf" in formats)):
                helper = stack.enter_context(started)

        computed = compute(config, cache_dir=cache_dir, use_cache=use_cache,
                           progress=progress, before_jax=start_helper)
        if figure_cache is None and use_cache:
            figure_cache = cache.FigureStore(cache_dir or cache.default_dir())
        files = report_files(config, computed, formats, templates_dir=templates_dir,
                             progress=progress, figure_cache=figure_cache,
                             helper=helper)
    progress("write")
    output.write_folder(target, files)
    return files


def compute_folder(
    config: Config,
    target: Path,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: Progress = _silent,
) -> Computed:
    """``reportgen compute``: a folder with results.json (and large arrays) and a manifest."""
    preflight(target)
    computed = compute(config, cache_dir=cache_dir, use_cache=use_cache, progress=progress)
    progress("write")
    output.write_folder(target, compute_files(config, computed))
    return computed
