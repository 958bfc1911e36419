"""The ``reportgen`` command line: compute, build and verify handouts.

Exit codes: 0 done, 1 verification mismatch or internal failure, 2 bad input; stopped by
a signal, 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), the report untouched.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reportgen import interrupts, pipeline
from reportgen._version import __version__
from reportgen.config import Config, ConfigError, load
from reportgen.course.cluster import WORKER_TIMEOUT_S
from reportgen.errors import NamesParameter
from reportgen.render import FORMATS
from reportgen.store.paths import shipped_handouts

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class Stages:
    """A progress display on stderr: one line per stage with its time; silent when quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.timings: dict[str, float] = {}
        self._current: str | None = None
        self._started = time.perf_counter()
        self._console: Any = None
        self._status: Any = None
        if not quiet:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False)
            self._status = self._console.status("starting")
            self._status.start()

    def __call__(self, stage: str) -> None:
        # A safe point: a signal whose exception something swallowed stops the build here.
        interrupts.check()
        self._finish_current()
        self._current, self._started = stage, time.perf_counter()
        if self._status is not None:
            self._status.update(f"{stage}...")

    def _finish_current(self) -> None:
        if self._current is None:
            return
        elapsed = time.perf_counter() - self._started
        self.timings[self._current] = self.timings.get(self._current, 0.0) + elapsed
        if self._console is not None:
            self._console.print(f"  [green]✓[/] {self._current:<16} {elapsed:7.3f} s")
        self._current = None

    def line(self, text: str) -> None:
        """Print one line above the status (rich markup allowed); nothing when quiet."""
        if self._console is not None:
            self._console.print(text)

    def close(self, message: str | None = None) -> None:
        self._finish_current()
        if self._status is not None:
            self._status.stop()
        if message and self._console is not None:
            self._console.print(message)


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", nargs="?", default=None,
        help="a TOML file or a shipped handout name "
        f"({', '.join(shipped_handouts())}; default: source-notebook)",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value by dotted key, e.g. runs.0.learning_rate=0.3 (repeatable)",
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "gpu"), default=None,
        help="where JAX computes (default: the config's device, auto: a GPU when JAX sees one)",
    )
    parser.add_argument("--out", type=Path, default=None,
                        help="the report folder to write (default: build/<name>); it must be "
                        "new, empty or a report reportgen wrote (anything else is refused with "
                        "exit code 2); it is replaced atomically when complete, so a failed, "
                        "interrupted or killed build keeps the previous one; a build started "
                        "while another writes the same folder stops at once with exit code 2, "
                        "one that finishes computing while another writes waits for it (the "
                        "last to finish wins)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parser.add_argument("--no-cache", action="store_true",
                        help="recompute even when cached results exist, and cache nothing")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="where results and JAX compilations are cached "
                        "(default: $REPORTGEN_CACHE_DIR or ~/.cache/reportgen)")


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of all subcommands."""
    parser = argparse.ArgumentParser(
        prog="reportgen",
        description="Reproducible lecture handouts on gradient descent for linear regression.",
    )
    parser.add_argument("--version", action="version", version=f"reportgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="compute and render a handout (HTML and PDF)",
                                description="Compute and render a handout into a report folder.")
    _add_config_arguments(build)
    _add_render_arguments(build)
    build.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                       help="processes that render: 2 (the default on a machine with two "
                       "cores or more) starts a helper that imports the renderer while JAX "
                       "computes, then draws figures and typesets the PDF beside this one; "
                       "1 renders in this process; more than 2 is the same as 2")

    compute = commands.add_parser("compute", help="compute results.json only, no rendering",
                                  description="Compute a handout's numbers into results.json.")
    _add_config_arguments(compute)

    verify = commands.add_parser("verify", help="re-derive a report and compare",
                                 description="Recompute a report from its own config and "
                                 "compare numbers and file hashes.")
    verify.add_argument("path", type=Path,
                        help="a report folder, a handout PDF, or a batch folder (every variant)")
    verify.add_argument("-q", "--quiet", action="store_true", help="print only differences")

    batch = commands.add_parser(
        "batch", help="build every variant of a matrix or roster, with an index",
        description="Build one report folder per variant (matrix combination and/or "
        "student) into DIR/<variant-id>/, plus DIR/index.html and DIR/batch.json. "
        "Variants already built with the same config are skipped, so an interrupted "
        "batch resumes.")
    _add_config_arguments(batch)
    _add_render_arguments(batch)
    batch.add_argument("--matrix", dest="matrix", action="append", default=[],
                       metavar="KEY=V1,V2", help="vary a config value over a list (repeatable; "
                       "replaces the config's [matrix] entry for KEY)")
    batch.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="render in N local worker processes (default: 1, in this process)")
    batch.add_argument("--executor", choices=("local", "dask"), default="local",
                       help="render locally, or as tasks on an existing Dask cluster")
    batch.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="the Dask scheduler, tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 "
                       "(--executor dask); reached before anything is computed")
    batch.add_argument("--worker-timeout", type=float, default=WORKER_TIMEOUT_S,
                       metavar="SECONDS",
                       help="with --executor dask: how long the cluster may have no worker "
                       "before the batch stops with exit code 1, keeping what it built "
                       f"(a rerun resumes; default: {WORKER_TIMEOUT_S:g})")

    watch = commands.add_parser(
        "watch", help="rebuild a handout whenever its config or a template changes",
        description="Build the handout, then rebuild it after every change to the config, "
        "its roster, or a --templates file; a bad edit prints its error and keeps the last "
        "good report. Ctrl-C stops.")
    watch.add_argument("config", help="the TOML file to watch")
    watch.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a config value (repeatable)")
    watch.add_argument("--format", default="html",
                       help="comma-separated output formats: html, pdf (default: html)")
    watch.add_argument("--templates", type=Path, default=None, metavar="DIR",
                       help="a folder of templates overriding the shipped ones (watched too)")
    watch.add_argument("--out", type=Path, default=None,
                       help="the report folder to write (default: build/<name>)")
    watch.add_argument("--serve", action="store_true",
                       help="serve the report's own files on http://127.0.0.1 (to this "
                       "machine only) and reload the page after each rebuild; a failed "
                       "rebuild's error shows in the page (only the served page gets the "
                       "reload script, the one script it may run)")
    watch.add_argument("--port", type=int, default=8000,
                       help="the port for --serve, 0 to 65535 (default: 8000; 0 picks a "
                       "free one)")
    watch.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                       help="where results and JAX compilations are cached")

    init = commands.add_parser(
        "init", help="start a new handout folder (config, schema, templates)",
        description="Write a commented handout.toml with every section, its JSON Schema for "
        "editors, and a templates/ folder with one overridable template. Never overwrites.")
    init.add_argument("folder", nargs="?", type=Path, default=Path("."),
                      help="where to write (default: the current folder)")

    commands.add_parser(
        "schema", help="print the config's JSON Schema",
        description="Print the JSON Schema of the config (types, ranges, allowed values, "
        "descriptions; unknown keys refused) for editors and validators.")

    grade = commands.add_parser(
        "grade", help="mark filled-in student PDFs against a batch's answer key",
        description="Read each submission's form fields, identify the student from the PDF's "
        "attached config (checked against batch.json), score every answer within its "
        "tolerance and write BATCH_DIR/grades.csv.")
    grade.add_argument("batch_dir", type=Path, help="the folder `reportgen batch` wrote")
    grade.add_argument("submissions", type=Path, nargs="+", metavar="SUBMISSION.pdf",
                       help="filled-in student handouts")
    return parser


def _add_render_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default="html,pdf",
                        help="comma-separated output formats: html, pdf (default: html,pdf)")
    parser.add_argument("--templates", type=Path, default=None, metavar="DIR",
                        help="a folder of templates overriding the shipped ones by name")
    parser.add_argument("--audience", choices=("student", "instructor"), default=None,
                        help="for handouts with exercises: student copies withhold the answers "
                        "and have fillable fields; instructor copies add worked solutions "
                        "(default: the config's audience, student)")


def load_config(args: argparse.Namespace) -> Config:
    """The config named on the command line, with --set and --device applied."""
    return load(args.config, _overrides(args))


def _overrides(args: argparse.Namespace) -> list[str]:
    """--set values, with --device and --audience as the last of them."""
    overrides = list(args.overrides)
    for option in ("device", "audience"):
        value = getattr(args, option, None)
        if value is not None:
            overrides.append(f'{option}="{value}"')
    return overrides


def output_folder(args: argparse.Namespace, config: Config) -> Path:
    """--out, or build/<handout name>."""
    if args.out is not None:
        return Path(args.out)
    return Path("build") / config.name


def parse_formats(text: str) -> tuple[str, ...]:
    """The --format list, validated."""
    formats = {part.strip() for part in text.split(",") if part.strip()}
    unknown = formats - set(FORMATS)
    if not formats or unknown:
        raise ConfigError(
            f"--format: expected a comma-separated list of {', '.join(FORMATS)}, got {text!r}"
        )
    return tuple(sorted(formats))


def run_compute(args: argparse.Namespace) -> int:
    """``reportgen compute``: results.json (and large arrays) only."""
    config = load_config(args)
    target = output_folder(args, config)
    stages = Stages(args.quiet)
    try:
        pipeline.compute_folder(config, target, cache_dir=args.cache_dir,
                                use_cache=not args.no_cache, progress=stages)
    finally:
        stages.close()
    if not args.quiet:
        print(f"wrote {target / 'results.json'}", file=sys.stderr)
    return EXIT_OK


def run_build(args: argparse.Namespace) -> int:
    """``reportgen build``: compute, render and write the report folder atomically."""
    pipeline.check_jobs(args.jobs)
    config = load_config(args)
    formats = parse_formats(args.format)
    _check_templates(args)
    target = output_folder(args, config)
    stages = Stages(args.quiet)
    try:
        pipeline.build(config, target, formats, templates_dir=args.templates,
                       cache_dir=args.cache_dir, use_cache=not args.no_cache, progress=stages,
                       jobs=args.jobs)
    finally:
        stages.close()
    if not args.quiet:
        print(f"wrote {target}/ ({', '.join(formats)})", file=sys.stderr)
    return EXIT_OK


def run_batch(args: argparse.Namespace) -> int:
    """``reportgen batch``: every variant into its own folder, an index and batch.json."""
    from reportgen.course import batch

    formats = parse_formats(args.format)
    _check_templates(args)
    stages = Stages(args.quiet)
    try:
        def report(outcome: batch.Outcome, done: int, total: int) -> None:
            stages.line(_variant_line(outcome, done, total))

        result = batch.build(args.config, args.out, formats, overrides=_overrides(args),
                             matrix_options=args.matrix, templates_dir=args.templates,
                             jobs=args.jobs, executor=args.executor, scheduler=args.scheduler,
                             worker_timeout=args.worker_timeout, cache_dir=args.cache_dir,
                             use_cache=not args.no_cache, progress=stages, on_variant=report)
    finally:
        stages.close()
    counts = {status: sum(1 for o in result.outcomes if o.status == status)
              for status in ("built", "skipped", "failed", "pending")}
    pending = f", {counts['pending']} pending" if counts["pending"] else ""
    print(f"wrote {result.folder}/: {counts['built']} built, {counts['skipped']} already "
          f"there, {counts['failed']} failed{pending}, of {len(result.outcomes)} variants",
          file=sys.stderr)
    for outcome in result.failed:
        print(f"reportgen: error: variant {outcome.variant.id}: {outcome.error}", file=sys.stderr)
    if result.stopped:
        print(f"reportgen: error: {result.stopped}", file=sys.stderr)
    return EXIT_FAILED if result.failed or result.stopped else EXIT_OK


def _variant_line(outcome: Any, done: int, total: int) -> str:
    mark = {"built": "[green]✓[/]", "skipped": "[dim]=[/]", "failed": "[red]✗[/]"}[outcome.status]
    detail = {"built": f"{outcome.seconds:.1f} s", "skipped": "already built",
              "failed": outcome.error or "failed"}[outcome.status]
    return f"  {mark} {done}/{total} {outcome.variant.id}  {detail}"


def run_grade(args: argparse.Namespace) -> int:
    """``reportgen grade``: score submissions, write grades.csv, print a summary."""
    from reportgen.course import grading

    marked = grading.grade(args.batch_dir, args.submissions)
    for item in marked:
        if item.rejected:
            print(f"  {item.path.name}: NOT SCORED: {item.rejected}")
        else:
            notes = f" ({'; '.join(item.notes)})" if item.notes else ""
            print(f"  {item.path.name}: student {item.student_id}: {item.total:g} points{notes}")
    scored = [m for m in marked if not m.rejected]
    print(f"graded {len(scored)} of {len(marked)} submission(s) into "
          f"{args.batch_dir / grading.GRADES_FILE}")
    return EXIT_FAILED if len(scored) < len(marked) else EXIT_OK


def _check_templates(args: argparse.Namespace) -> None:
    if args.templates is not None and not args.templates.is_dir():
        raise ConfigError(f"--templates: expected a folder of templates, got '{args.templates}'")


def run_watch(args: argparse.Namespace) -> int:
    """``reportgen watch``: build, then rebuild on every change until Ctrl-C."""
    import threading

    from reportgen import serve, watch

    formats = parse_formats(args.format)
    _check_templates(args)
    if args.serve:
        serve.check_port(args.port)
    config = load(args.config, args.overrides)
    target = output_folder(args, config)
    watcher = watch.Watcher(args.config, target, args.overrides, formats, args.templates,
                            args.cache_dir, describe=lambda exc: error_lines(exc)[0])

    def report(rebuild: watch.Rebuild) -> None:
        stamp = time.strftime("%H:%M:%S")
        if rebuild.ok:
            print(f"[{stamp}] {rebuild.message}", file=sys.stderr, flush=True)
        else:
            print(f"[{stamp}] error: {rebuild.message} (keeping the last good report)",
                  file=sys.stderr, flush=True)

    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        if args.serve:
            try:
                url = stack.enter_context(serve.serving(lambda: watcher.site, args.port))
            except OSError as exc:
                raise ConfigError(f"--port: cannot serve on {serve.HOST}:{args.port} "
                                  f"({exc.strerror or exc})") from None
            print(f"serving {url} (Ctrl-C stops)", file=sys.stderr, flush=True)
        print(f"watching {watcher.config_path} (Ctrl-C stops)", file=sys.stderr, flush=True)
        watch.watch(watcher, report, stop)
    return EXIT_OK


def run_init(args: argparse.Namespace) -> int:
    """``reportgen init``: write a new handout folder."""
    from reportgen import scaffold

    written = scaffold.scaffold(args.folder)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    config = args.folder / scaffold.CONFIG_FILE
    print(f"next: reportgen build {config} --templates {args.folder / 'templates'}",
          file=sys.stderr)
    return EXIT_OK


def run_schema(_args: argparse.Namespace) -> int:
    """``reportgen schema``: the config's JSON Schema on stdout."""
    from reportgen.config import json_schema_text

    sys.stdout.write(json_schema_text())
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """``reportgen verify``: recompute from the report's own config and compare."""
    from reportgen import verification

    return verification.main(args.path, quiet=args.quiet)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": run_build,
    "compute": run_compute,
    "verify": run_verify,
    "batch": run_batch,
    "grade": run_grade,
    "watch": run_watch,
    "init": run_init,
    "schema": run_schema,
}


def error_lines(exc: Exception) -> list[str]:
    """What the command line prints for bad input: an error about an argument names its
    option (``--jobs: ...``), any other its own lines."""
    if isinstance(exc, NamesParameter):
        return [f"--{exc.parameter.replace('_', '-')}: {exc.problem}"]
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return [f"{exc.strerror or exc}{where}"]
    return str(exc).splitlines() or [type(exc).__name__]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        with interrupts.handling():
            return COMMANDS[args.command](args)
    except interrupts.Interrupted as exc:
        outcome = exc.outcome
        if outcome is None and args.command != "verify":
            outcome = "the previous report is untouched"
        detail = f"; {outcome}" if outcome else ""
        print(f"reportgen: interrupted ({exc.name}){detail}", file=sys.stderr)
        return exc.exit_code
    except (ConfigError, OSError) as exc:
        for line in error_lines(exc):
            print(f"reportgen: error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # raised by code itself; a real SIGINT arrives as Interrupted
        print("reportgen: interrupted; the previous report is untouched", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    raise SystemExit(main())
