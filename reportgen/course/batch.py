"""``reportgen batch``: every variant of a plan as its own report folder, plus an index.

``DIR/<variant-id>/`` is an ordinary report folder, byte-identical to ``reportgen build``
of that variant's config; ``DIR/index.html`` compares the variants; ``DIR/batch.json``
lists them with the sha256 of their config and manifest. Numbers are computed in the
calling process (cached, or with one compiled program per shape); rendering runs in the
calling process, in ``jobs`` spawned local processes, or as tasks on an existing Dask
cluster, whose workers return the files' bytes: the client writes every folder
atomically, so no shared file system is needed. A folder that already holds the
variant's config hash (and intact files) is skipped, so an interrupted batch resumes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import errno
import hashlib
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import pipeline
from reportgen.config import Config, ConfigError
from reportgen.course import cluster as dask_cluster
from reportgen.course import copies, exercises
from reportgen.course import plan as planning
from reportgen.course.matrix import Variant
from reportgen.course.plan import Plan
from reportgen.errors import ParameterError
from reportgen.layout import HTML_FILE, PDF_FILE, default_batch_folder
from reportgen.render import FORMAT_FILES
from reportgen.store import manifest, output, stored_report
from reportgen.store.results import Results

BATCH_FILE = manifest.BATCH_FILE
SCHEMA = manifest.BATCH_SCHEMA
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Outcome:
    """What became of one variant."""

    variant: Variant
    status: str  # "built", "skipped" (already there), "failed" or "pending" (not reached)
    error: str | None = None
    manifest_sha256: str | None = None
    seconds: float = 0.0


@dataclass
class BatchResult:
    """A finished batch: its folder and every variant's outcome, in plan order.

    ``stopped`` says why the batch stopped before every variant was rendered (the Dask
    cluster lost its workers), with the ``pending`` variants left for a rerun; else None.
    """

    folder: Path
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        """The variants that could not be built."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def pending(self) -> list[Outcome]:
        """The variants a stopped batch did not reach; a rerun builds them."""
        return [o for o in self.outcomes if o.status == "pending"]


OnVariant = Callable[[Outcome, int, int], None]


def _ignore(_outcome: Outcome, _done: int, _total: int) -> None:
    """A variant callback that shows nothing."""


# ---------------------------------------------------------------- the batch folder


def default_folder(plan: Plan | planning.Outline) -> Path:
    """Where a batch goes when no folder is given: ``build/<name>-batch``."""
    return default_batch_folder(plan.name)


def check_folder(folder: Path) -> None:
    """Refuse a batch folder that holds anything but a reportgen batch (or nothing).

    Raises:
      OutputError: naming the folder (the ``out`` argument).
    """
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise output.OutputError(errno.ENOTDIR, f"{folder} is not a folder; expected an empty "
                                 "folder or a reportgen batch folder")
    if not folder.exists() or not any(folder.iterdir()):
        return
    record = read_record(folder)
    if record is None:
        raise output.OutputError(errno.EEXIST, f"{folder} holds other files; expected an empty "
                                 f"folder or a reportgen batch folder (with {BATCH_FILE})")


def read_record(folder: Path) -> dict[str, Any] | None:
    """The folder's batch.json when it is reportgen's, else None."""
    path = folder / BATCH_FILE
    if path.is_symlink() or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        return None
    return record


def _is_built(folder: Path, config: Config) -> str | None:
    """The manifest's sha256 when ``folder`` already holds this config's intact report
    (read as verify reads one: regular files inside the folder, every sha256 checked)."""
    try:
        stored = stored_report.read_folder(folder)
        record = stored.manifest
        if (record is None or not record["files"]
                or record.get("config_sha256") != config.digest()
                or stored_report.compare_files(stored)):
            return None
        return hashlib.sha256(stored_report.read_inside(folder, manifest.MANIFEST_FILE)
                              ).hexdigest()
    except (ConfigError, OSError, stored_report.NotInside):
        return None


class _Ledger:
    """A run's batch.json, rewritten atomically whenever a variant lands.

    A variant's line is serialised again only when its outcome changed, and its config's
    sha256 computed once: rewriting every row with json's indenting encoder (pure Python)
    and every digest took ~0.15 s a write for 1,000 variants, which a batch paid once per
    variant; now a write of 5,000 variants costs about the write itself.
    """

    def __init__(self, plan: Plan, path: Path) -> None:
        self.path = path
        self.head = {"schema": SCHEMA, "name": plan.name,
                     "audience": plan.base.audience if plan.base.exercises else None}
        self.fixed: list[dict[str, Any]] = []
        for variant in plan.variants:
            row: dict[str, Any] = {"id": variant.id, "values": variant.values,
                                   "config_sha256": variant.config.digest()}
            if variant.copy is not None:
                row["copy"] = variant.copy
            if variant.student is not None:
                row["student"] = variant.student.model_dump()
                row["redraws"] = variant.redraws
            self.fixed.append(row)
        self.lines = [self._line(row, None) for row in self.fixed]
        self.shown: list[Outcome | None] = [None] * len(self.fixed)

    @staticmethod
    def _line(fixed: dict[str, Any], outcome: Outcome | None) -> str:
        row = {**fixed, "manifest_sha256": outcome.manifest_sha256 if outcome else None,
               "status": outcome.status if outcome else "pending"}
        if outcome is not None and outcome.error:
            row["error"] = outcome.error
        return json.dumps(row, sort_keys=True, allow_nan=False)

    def write(self, outcomes: Mapping[str, Outcome], complete: bool) -> None:
        """batch.json with each variant's outcome (``pending`` until it has one), one
        variant per line."""
        for index, fixed in enumerate(self.fixed):
            outcome = outcomes.get(fixed["id"])
            if outcome is not self.shown[index]:
                self.lines[index] = self._line(fixed, outcome)
                self.shown[index] = outcome
        head = json.dumps({**self.head, "complete": complete}, sort_keys=True, allow_nan=False)
        text = f'{head[:-1]}, "variants": [\n' + ",\n".join(self.lines) + "\n]}\n"
        output.replace_file(self.path, text.encode("utf-8"))


# ---------------------------------------------------------------- rendering executors


def render_variant(
    config: Config, computed: pipeline.Computed, formats: tuple[str, ...],
    templates_dir: Path | None,
) -> dict[str, bytes]:
    """A variant's report files (what a worker process or Dask task runs)."""
    return pipeline.report_files(config, computed, formats, templates_dir=templates_dir)


def _warm_renderer() -> None:
    """Make a worker process warm before its first variant, while the calling process
    computes: the renderer imported (WeasyPrint too), then what every variant shares,
    kept for the worker's life (a head start only: whatever fails here fails again, with
    its usual message, in the variant that needs it). A worker ends with the calling
    process, even one killed outright."""
    from reportgen.renderer_process import exit_with_parent

    exit_with_parent()
    import weasyprint  # noqa: F401

    import reportgen.render.report  # noqa: F401
    from reportgen.render import warm

    with contextlib.suppress(Exception):
        warm.renderer()


def start_pool(jobs: int) -> concurrent.futures.ProcessPoolExecutor:
    """``jobs`` spawned worker processes, started now (not at the first variant), so
    their start-up and imports overlap the numbers computed in the calling process."""
    from reportgen.renderer_process import reap_at_exit

    context = multiprocessing.get_context("spawn")  # JAX is not fork-safe
    reap_at_exit()
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                                  initializer=_warm_renderer)
    for _ in range(jobs):  # spawn workers are started on demand: one per pending task
        pool.submit(int)
    return pool


Task = tuple[Variant, pipeline.Computed]


def _in_process(tasks: Sequence[Task], formats: tuple[str, ...],
                templates_dir: Path | None) -> Iterator[tuple[Variant, Any]]:
    for variant, computed in tasks:
        try:
            yield variant, render_variant(variant.config, computed, formats, templates_dir)
        except Exception as exc:  # reported per variant; the batch goes on
            yield variant, exc


def _local_pool(tasks: Sequence[Task], formats: tuple[str, ...], templates_dir: Path | None,
                pool: concurrent.futures.ProcessPoolExecutor) -> Iterator[tuple[Variant, Any]]:
    with pool:
        futures = {pool.submit(render_variant, variant.config, computed, formats,
                               templates_dir): variant for variant, computed in tasks}
        try:
            for future in concurrent.futures.as_completed(futures):
                variant = futures[future]
                try:
                    yield variant, future.result()
                except Exception as exc:
                    yield variant, exc
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _dask(tasks: Sequence[Task], formats: tuple[str, ...], templates_dir: Path | None,
          cluster: dask_cluster.Cluster, worker_timeout: float
          ) -> Iterator[tuple[Variant, Any]]:
    variants = {variant.id: variant for variant, _ in tasks}
    calls = [(variant.id, (variant.config, computed, formats, templates_dir))
             for variant, computed in tasks]
    for key, files in cluster.map(render_variant, calls, worker_timeout):
        yield variants[key], files


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return str(exc).splitlines()[0]
    return f"internal error: {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- the batch


def check_options(jobs: int, executor: str, scheduler: str | None,
                  worker_timeout: float = dask_cluster.WORKER_TIMEOUT_S) -> None:
    """Refuse bad executor options as text, before anything is read or computed.

    Raises:
      ParameterError: naming ``jobs``, ``executor``, ``scheduler`` or ``worker_timeout``.
    """
    pipeline.check_jobs(jobs)
    if executor not in EXECUTORS:
        raise ParameterError("executor", f"expected local or dask, got {executor!r}")
    if executor == "dask":
        dask_cluster.check_address(scheduler)
    if not (isinstance(worker_timeout, int | float) and math.isfinite(worker_timeout)
            and worker_timeout > 0):
        raise ParameterError("worker_timeout", "expected a number of seconds > 0, got "
                             f"{worker_timeout!r}")


def build(
    spec: str | os.PathLike[str] | None,
    folder: Path | None = None,
    formats: Collection[str] = ("html", "pdf"),
    *,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    matrix_options: Sequence[str] = (),
    templates_dir: Path | None = None,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    worker_timeout: float = dask_cluster.WORKER_TIMEOUT_S,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: pipeline.Progress = pipeline._silent,
    on_variant: OnVariant = _ignore,
) -> BatchResult:
    """Plan a batch config and build every variant into ``folder``.

    Everything that can be refused is refused before any number is computed or any file
    written: the options, the config and its matrix, a ``folder`` holding a user's files,
    and a Dask scheduler that cannot be reached (``folder`` defaults to
    ``build/<name>-batch``).

    Raises:
      ConfigError: a bad config, matrix, roster or constraint; ParameterError (one)
        naming the bad argument.
      OutputError: a folder that may not be written.
    """
    check_options(jobs, executor, scheduler, worker_timeout)
    outline = planning.outline(spec, overrides, matrix_options)
    folder = Path(folder) if folder is not None else default_folder(outline)
    check_folder(folder)
    with contextlib.ExitStack() as stack:
        cluster = (stack.enter_context(dask_cluster.connect(scheduler))
                   if executor == "dask" else None)
        output.prepare_parent(folder)  # the batch folder itself only once drawn
        made = planning.draw(outline, cache_dir=cache_dir, use_cache=use_cache,
                             progress=progress)
        return run(made, folder, formats, templates_dir=templates_dir, jobs=jobs,
                   executor=executor, scheduler=scheduler, worker_timeout=worker_timeout,
                   cache_dir=cache_dir, use_cache=use_cache, progress=progress,
                   on_variant=on_variant, cluster=cluster)


def run(
    plan: Plan,
    folder: Path,
    formats: Collection[str] = ("html", "pdf"),
    *,
    templates_dir: Path | None = None,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    worker_timeout: float = dask_cluster.WORKER_TIMEOUT_S,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: pipeline.Progress = pipeline._silent,
    on_variant: OnVariant = _ignore,
    cluster: dask_cluster.Cluster | None = None,
) -> BatchResult:
    """Build every variant of ``plan`` into ``folder``; write its index and batch.json.

    batch.json is rewritten (atomically) as each variant lands, so a batch killed
    outright lists what it built. ``cluster`` is a connected Dask client to use (else one
    is connected here when ``executor`` is ``"dask"``, before anything is computed).

    Raises:
      ConfigError: an unusable executor (per-variant failures are reported in the result
        instead, the other variants kept; a cluster without workers stops the batch with
        ``BatchResult.stopped`` set).
      OutputError: an unusable folder.
    """
    check_options(jobs, executor, scheduler, worker_timeout)
    check_folder(folder)
    with contextlib.ExitStack() as stack:
        if executor == "dask" and cluster is None:
            cluster = stack.enter_context(dask_cluster.connect(scheduler))
        output.prepare_parent(folder / "x")
        with output.locked(folder):
            return _run_locked(plan, folder, tuple(sorted(formats)), templates_dir, jobs,
                               cluster if executor == "dask" else None, worker_timeout,
                               cache_dir, use_cache, progress, on_variant)


def _run_locked(
    plan: Plan, folder: Path, formats: tuple[str, ...], templates_dir: Path | None, jobs: int,
    cluster: dask_cluster.Cluster | None, worker_timeout: float, cache_dir: Path | None,
    use_cache: bool, progress: pipeline.Progress, on_variant: OnVariant,
) -> BatchResult:
    plan = copies.trees(plan)
    result = BatchResult(folder)
    ledger = _Ledger(plan, folder / BATCH_FILE)
    done: dict[str, Outcome] = {}
    for variant in plan.variants:
        digest = _is_built(folder / variant.id, variant.config)
        if digest is not None:
            done[variant.id] = Outcome(variant, "skipped", manifest_sha256=digest)
    ledger.write(done, complete=False)
    total = len(plan.variants)
    for count, outcome in enumerate(done.values(), start=1):
        on_variant(outcome, count, total)
    todo = [v for v in plan.variants if v.id not in done]
    pooled = cluster is None and jobs > 1 and len(todo) > 1
    pool = start_pool(min(jobs, len(todo))) if pooled else None
    try:
        missing = [v for v in plan.variants if v.id not in plan.computed]
        progress(f"computing {len(missing)} variant(s)")
        computed = {**plan.computed, **dict(zip(
            (v.id for v in missing),
            pipeline.compute_many([v.config for v in missing], cache_dir=cache_dir,
                                  use_cache=use_cache),
            strict=True))}
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    try:
        _check_student_copies([(v, computed[v.id]) for v in todo], templates_dir, progress)
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        raise
    rounds = 0
    while todo:
        tasks = [(variant, computed[variant.id]) for variant in todo]
        progress(f"rendering {len(todo)} variant(s)")
        if cluster is not None:
            rendered = _dask(tasks, formats, templates_dir, cluster, worker_timeout)
        elif pool is not None and rounds == 0:
            rendered = _local_pool(tasks, formats, templates_dir, pool)
        else:
            rendered = _in_process(tasks, formats, templates_dir)
        started = time.perf_counter()
        leaked: list[Variant] = []
        try:
            for variant, files in rendered:
                if _redrawable(plan, variant, files):
                    leaked.append(variant)
                    continue
                done[variant.id] = _write_variant(folder, variant, files, started)
                ledger.write(done, complete=False)
                on_variant(done[variant.id], len(done), total)
                started = time.perf_counter()
        except dask_cluster.WorkersLost as exc:
            left = total - len(done)
            result.stopped = (f"{exc}: stopped with {left} variant(s) not built; run the "
                              "same command again to resume (built variants are kept)")
            break
        rounds += 1
        plan, todo = _redraw(plan, leaked, computed, progress)
        if todo:
            ledger = _Ledger(plan, folder / BATCH_FILE)
            _check_student_copies([(v, computed[v.id]) for v in todo], templates_dir,
                                  progress)
    result.outcomes = [done.get(v.id) or Outcome(v, "pending") for v in plan.variants]
    progress("index")
    _finish(plan, folder, ledger, {o.variant.id: o for o in result.outcomes},
            {key: c.results for key, c in computed.items()})
    return result


def _redrawable(plan: Plan, variant: Variant, files: Any) -> bool:
    """Whether a rendering failed because a student's copy would give an answer away by
    coincidence (a printed number that happens to score): that student is redrawn."""
    from reportgen.render.leaks import LeakError

    return (isinstance(files, LeakError) and plan.redraw is not None
            and variant.student is not None and variant.copy == "student")


def _redraw(plan: Plan, leaked: Sequence[Variant], computed: dict[str, pipeline.Computed],
            progress: pipeline.Progress) -> tuple[Plan, list[Variant]]:
    """The plan with each leaked student's next fair problem (both copies), and the
    copies to render again; ``computed`` gains their numbers.

    Raises:
      ConfigError: a student without a fair problem left within ``max_redraws``.
    """
    if not leaked:
        return plan, []
    assert plan.redraw is not None
    progress(f"redrawing {len(leaked)} student(s) whose copy gave an answer away")
    replaced: dict[str, Variant] = {}
    for variant in leaked:
        drawn, numbers = plan.redraw(variant)
        name = copies.name_in_tree(variant)
        for copy, done in copies_of_drawn(plan, drawn, numbers, name):
            replaced[copy.id] = copy
            computed[copy.id] = done
    variants = [replaced.get(v.id, v) for v in plan.variants]
    plan = dataclasses.replace(plan, variants=variants)
    return plan, [v for v in variants if v.id in replaced]


def copies_of_drawn(plan: Plan, drawn: Variant, numbers: pipeline.Computed,
                    name: str) -> list[tuple[Variant, pipeline.Computed]]:
    """A redrawn student's copies under their old folder name."""
    made = copies.copies_of(drawn, numbers, name, bool(plan.base.exercises))
    return [(copy, done) for copy, done in made if done is not None]


def _check_student_copies(tasks: Sequence[Task], templates_dir: Path | None,
                          progress: pipeline.Progress) -> None:
    """Refuse the batch before rendering when a student copy's prompts would show what it
    withholds (a config error: exit 2, one line), rather than fail every student."""
    students = [(variant, computed) for variant, computed in tasks
                if computed.results.restamped(variant.config).is_student_copy]
    if students:
        progress(f"checking {len(students)} student cop{'y' if len(students) == 1 else 'ies'}")
    for variant, computed in students:
        pipeline.check_student_copy(variant.config, computed, templates_dir)


def _write_variant(folder: Path, variant: Variant, files: Any, started: float) -> Outcome:
    if isinstance(files, BaseException):
        return Outcome(variant, "failed", _error_line(files))
    try:
        output.prepare_parent(folder / variant.id)
        output.write_folder(folder / variant.id, files)
    except (ConfigError, OSError) as exc:
        return Outcome(variant, "failed", _error_line(exc) if isinstance(exc, ConfigError)
                       else f"cannot write {folder / variant.id} ({exc})")
    digest = hashlib.sha256(files[manifest.MANIFEST_FILE]).hexdigest()
    return Outcome(variant, "built", manifest_sha256=digest,
                   seconds=time.perf_counter() - started)


def _finish(plan: Plan, folder: Path, ledger: _Ledger, done: Mapping[str, Outcome],
            results: Mapping[str, Results]) -> None:
    """The answer key, batch.json, handouts/ and index.html (the lecturer's, not for
    students). The key is written before batch.json records it, so batch.json never
    vouches for a key it does not match."""
    from reportgen.render.batch import Summary, render_index

    complete = all(o.status in ("built", "skipped") for o in done.values())
    if plan.base.exercises:
        key = exercises.answer_key(plan.variants, results).encode("utf-8")
        output.replace_file(folder / exercises.KEY_FILE, key)
        ledger.head[exercises.KEY_SHA256] = hashlib.sha256(key).hexdigest()
    ledger.write(done, complete=complete)
    if copies.is_course(plan):
        from reportgen.course import index

        _write_handouts(plan, folder)
        index.write(folder, json.loads(ledger.path.read_text(encoding="utf-8")))
        return
    summaries = []
    for variant in plan.variants:
        outcome = done[variant.id]
        summaries.append(Summary(
            id=variant.id, values=variant.values,
            student=variant.student.model_dump() if variant.student else None,
            status=outcome.status, error=outcome.error, results=results[variant.id],
            files=_files_of(folder / variant.id)))
    html = render_index(plan.name, plan.base.title, summaries)
    output.replace_file(folder / HTML_FILE, html.encode("utf-8"))


def _write_handouts(plan: Plan, folder: Path) -> None:
    """``handouts/<name>.pdf``: every built student copy's PDF, flat, ready to upload (the
    folder is replaced whole, so it never keeps a PDF of an earlier roster)."""
    pdfs: dict[str, bytes | None] = {}
    for variant in plan.variants:
        if variant.copy == "student":
            path = folder / variant.id / PDF_FILE
            pdfs[variant.id] = path.read_bytes() if path.is_file() and not path.is_symlink() \
                else None
    files = copies.handout_files(pdfs)
    target = folder / copies.HANDOUTS
    if files or target.exists():
        output.write_folder(target, files, check=_only_handouts)


def _only_handouts(target: Path) -> None:
    """What ``handouts/`` may hold to be replaced: PDFs (reportgen's), nothing else."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ConfigError(f"--out: {target} is not reportgen's handouts folder")
    if target.exists() and any(not (p.is_file() and p.suffix == ".pdf")
                               for p in target.iterdir()):
        raise ConfigError(f"--out: {target} holds files reportgen did not write; move them "
                          f"away")


def _files_of(folder: Path) -> list[str]:
    return [name for name in FORMAT_FILES.values() if (folder / name).is_file()]
