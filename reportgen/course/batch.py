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
import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen import pipeline, verification
from reportgen.config import Config, ConfigError
from reportgen.course import exercises
from reportgen.course.matrix import Variant
from reportgen.course.plan import Plan
from reportgen.store import manifest, output

BATCH_FILE = manifest.BATCH_FILE
INDEX_FILE = "index.html"
SCHEMA = manifest.BATCH_SCHEMA
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Outcome:
    """What became of one variant."""

    variant: Variant
    status: str  # "built", "skipped" (already there) or "failed"
    error: str | None = None
    manifest_sha256: str | None = None
    seconds: float = 0.0


@dataclass
class BatchResult:
    """A finished batch: its folder and every variant's outcome, in plan order."""

    folder: Path
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        """The variants that could not be built."""
        return [o for o in self.outcomes if o.status == "failed"]


OnVariant = Callable[[Outcome, int, int], None]


def _ignore(_outcome: Outcome, _done: int, _total: int) -> None:
    """A variant callback that shows nothing."""


# ---------------------------------------------------------------- the batch folder


def default_folder(plan: Plan) -> Path:
    """Where a batch goes when no folder is given: ``build/<name>-batch``."""
    return Path("build") / f"{plan.name}-batch"


def check_folder(folder: Path) -> None:
    """Refuse a batch folder that holds anything but a reportgen batch (or nothing)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise ConfigError(f"--out: {folder} is not a folder; expected an empty folder or a "
                          f"reportgen batch folder")
    if not folder.exists() or not any(folder.iterdir()):
        return
    record = read_record(folder)
    if record is None:
        raise ConfigError(f"--out: {folder} holds other files; expected an empty folder or a "
                          f"reportgen batch folder (with {BATCH_FILE})")


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
        stored = verification.read_folder(folder)
        record = stored.manifest
        if (record is None or not record["files"]
                or record.get("config_sha256") != config.digest()
                or verification.compare_files(stored)):
            return None
        return hashlib.sha256(verification.read_inside(folder, manifest.MANIFEST_FILE)
                              ).hexdigest()
    except (ConfigError, OSError, verification.NotInside):
        return None


def _record(plan: Plan, outcomes: Mapping[str, Outcome], complete: bool) -> dict[str, Any]:
    rows = []
    for variant in plan.variants:
        outcome = outcomes.get(variant.id)
        row: dict[str, Any] = {
            "id": variant.id,
            "values": variant.values,
            "config_sha256": variant.config.digest(),
            "manifest_sha256": outcome.manifest_sha256 if outcome else None,
            "status": outcome.status if outcome else "pending",
        }
        if variant.student is not None:
            row["student"] = variant.student.model_dump()
            row["redraws"] = variant.redraws
        if outcome is not None and outcome.error:
            row["error"] = outcome.error
        rows.append(row)
    return {"schema": SCHEMA, "name": plan.name, "complete": complete,
            "audience": plan.base.audience if plan.base.exercises else None,
            "variants": rows}


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n"
    output.replace_file(path, text.encode("utf-8"))


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
    from reportgen.helper import exit_with_parent

    exit_with_parent()
    import weasyprint  # noqa: F401

    import reportgen.render.report  # noqa: F401
    from reportgen.render import warm

    with contextlib.suppress(Exception):
        warm.renderer()


def _start_pool(jobs: int) -> concurrent.futures.ProcessPoolExecutor:
    """``jobs`` spawned worker processes, started now (not at the first variant), so
    their start-up and imports overlap the numbers computed in the calling process."""
    context = multiprocessing.get_context("spawn")  # JAX is not fork-safe
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
          scheduler: str) -> Iterator[tuple[Variant, Any]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--executor dask: the distributed package is not installed "
                          "(pip install 'reportgen[dask]')") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} "
                          f"({exc})") from None
    with client:
        futures = {client.submit(render_variant, variant.config, computed, formats,
                                 templates_dir, pure=False, key=f"reportgen-{variant.id}"):
                   variant for variant, computed in tasks}
        for future in as_completed(list(futures)):
            variant = futures[future]
            try:
                yield variant, future.result()
            except Exception as exc:
                yield variant, exc


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return str(exc).splitlines()[0]
    return f"internal error: {type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- the batch


def run(
    plan: Plan,
    folder: Path,
    formats: Collection[str] = ("html", "pdf"),
    *,
    templates_dir: Path | None = None,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    progress: pipeline.Progress = pipeline._silent,
    on_variant: OnVariant = _ignore,
) -> BatchResult:
    """Build every variant of ``plan`` into ``folder``; write its index and batch.json.

    Raises:
      ConfigError: an unusable folder or executor (per-variant failures are reported in
        the result instead, the other variants kept).
    """
    pipeline.check_jobs(jobs)
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor: expected local or dask, got {executor!r}")
    if executor == "dask" and not scheduler:
        raise ConfigError("--scheduler: expected the address of a Dask scheduler "
                          "(e.g. tcp://127.0.0.1:8786) with --executor dask")
    check_folder(folder)
    output.prepare_parent(folder / "x")
    formats = tuple(sorted(formats))
    result = BatchResult(folder)
    with output.locked(folder):
        done: dict[str, Outcome] = {}
        for variant in plan.variants:
            digest = _is_built(folder / variant.id, variant.config)
            if digest is not None:
                done[variant.id] = Outcome(variant, "skipped", manifest_sha256=digest)
        _write_json(folder / BATCH_FILE, _record(plan, done, complete=False))
        total = len(plan.variants)
        for count, outcome in enumerate(done.values(), start=1):
            on_variant(outcome, count, total)
        todo = [v for v in plan.variants if v.id not in done]
        pooled = executor == "local" and jobs > 1 and len(todo) > 1
        pool = _start_pool(min(jobs, len(todo))) if pooled else None
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
        if todo:
            tasks = [(variant, computed[variant.id]) for variant in todo]
            progress(f"rendering {len(todo)} variant(s)")
            if executor == "dask":
                rendered = _dask(tasks, formats, templates_dir, str(scheduler))
            elif pool is not None:
                rendered = _local_pool(tasks, formats, templates_dir, pool)
            else:
                rendered = _in_process(tasks, formats, templates_dir)
            started = time.perf_counter()
            for variant, files in rendered:
                done[variant.id] = _write_variant(folder, variant, files, started)
                on_variant(done[variant.id], len(done), total)
                started = time.perf_counter()
        result.outcomes = [done[v.id] for v in plan.variants]
        progress("index")
        _finish(plan, folder, done, {key: c.results for key, c in computed.items()})
    return result


def _write_variant(folder: Path, variant: Variant, files: Any, started: float) -> Outcome:
    if isinstance(files, BaseException):
        return Outcome(variant, "failed", _error_line(files))
    try:
        output.write_folder(folder / variant.id, files)
    except (ConfigError, OSError) as exc:
        return Outcome(variant, "failed", _error_line(exc) if isinstance(exc, ConfigError)
                       else f"cannot write {folder / variant.id} ({exc})")
    digest = hashlib.sha256(files[manifest.MANIFEST_FILE]).hexdigest()
    return Outcome(variant, "built", manifest_sha256=digest,
                   seconds=time.perf_counter() - started)


def _finish(plan: Plan, folder: Path, done: Mapping[str, Outcome],
            results: Mapping[str, dict[str, Any]]) -> None:
    """batch.json, the answer key and index.html (the lecturer's, not for students)."""
    from reportgen.render.batch import render_index

    complete = all(o.status != "failed" for o in done.values())
    _write_json(folder / BATCH_FILE, _record(plan, done, complete=complete))
    summaries = []
    for variant in plan.variants:
        outcome = done[variant.id]
        summaries.append({"id": variant.id, "values": variant.values,
                          "student": variant.student.model_dump() if variant.student else None,
                          "status": outcome.status, "error": outcome.error,
                          "results": results[variant.id],
                          "files": _files_of(folder / variant.id)})
    if plan.base.exercises:
        key = exercises.answer_key(plan.variants, results)
        output.replace_file(folder / exercises.KEY_FILE, key.encode("utf-8"))
    html = render_index(plan.name, plan.base.title, summaries)
    output.replace_file(folder / INDEX_FILE, html.encode("utf-8"))


def _files_of(folder: Path) -> list[str]:
    return sorted(name for name in ("index.html", "handout.pdf") if (folder / name).is_file())
