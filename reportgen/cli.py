# PYTHON_ARGCOMPLETE_OK (argcomplete's marker: this command answers shell completion)
"""The ``reportgen`` command line: compute, build and verify handouts.

Exit codes: 0 done, 1 verification mismatch or internal failure, 2 bad input; stopped by
a signal, 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), the report untouched.
The commands, options and help text are ``cli_parser``'s; this module runs them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from reportgen import interrupts, pipeline
from reportgen.cli_parser import make_parser
from reportgen.config import Config, ConfigError, load, parse_key
from reportgen.errors import NamesParameter
from reportgen.layout import default_report_folder
from reportgen.render import FORMATS
from reportgen.shipped import shipped_handouts, shipped_templates

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class ProgressDisplay:
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

    def abandon(self) -> None:
        """Stop the display without marking the stage under way as done (it failed)."""
        self._current = None
        self.close()

    def close(self, message: str | None = None) -> None:
        self._finish_current()
        if self._status is not None:
            self._status.stop()
        if message and self._console is not None:
            self._console.print(message)


def load_config(args: argparse.Namespace) -> Config:
    """The config named on the command line, with --set and --device applied."""
    return load(args.config, _overrides(args))


def check_one_handout(config: Config, args: argparse.Namespace) -> None:
    """Refuse to build (or compute) one handout from a config that makes many.

    A ``[students]`` roster makes a handout per student, and a ``[matrix]`` one per
    combination: built alone, such a config silently gave an anonymous copy or the base
    values only. A matrix whose every varied key is fixed with ``--set`` is one variant,
    byte-identical to the batch's, and builds.
    """
    name = args.config or config.name
    if config.students is not None:
        raise ConfigError(f"{args.command}: {name} has a [students] roster (a handout per "
                          f"student); to build them: reportgen batch {name}")
    varied = [key for key in (config.matrix or {}) if key != "mode"]
    fixed = {parse_key(text.partition("=")[0], "--set") for text in args.overrides}
    loose = [key for key in varied if parse_key(key, f'matrix."{key}"') not in fixed]
    if loose:
        raise ConfigError(f"{args.command}: {name} has a [matrix] of variants; to build them "
                          f"all: reportgen batch {name} (to {args.command} one, fix "
                          f"{', '.join(loose)} with --set)")


def check_many_handouts(config: Config, args: argparse.Namespace) -> None:
    """Refuse a batch of one: a config with neither a matrix, nor --matrix, nor a roster."""
    varied = [key for key in (config.matrix or {}) if key != "mode"]
    if not varied and not args.matrix and config.students is None:
        name = args.config or config.name
        raise ConfigError(f"batch: {name} has no [matrix] or [students] (it makes one "
                          f"handout); to build it: reportgen build {name} (or vary a value "
                          f"with --matrix KEY=V1,V2)")


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
    return default_report_folder(config.name)


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
    check_one_handout(config, args)
    target = output_folder(args, config)
    stages = ProgressDisplay(args.quiet)
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
    config = load_config(args)
    check_one_handout(config, args)
    formats = parse_formats(args.format)
    _check_templates(args)
    target = output_folder(args, config)
    stages = ProgressDisplay(args.quiet)
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
    if args.audience is not None:
        raise ConfigError("--audience: a batch makes every copy at once (DIR/students/ and, "
                          "with exercises, DIR/instructor/); drop --audience")
    check_many_handouts(load_config(args), args)
    stages = ProgressDisplay(args.quiet)
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
    """``reportgen grade``: score submissions, merge grades.csv, print a summary."""
    from reportgen.course import gradebook, grading

    try:
        graded = grading.grade(args.batch_dir, args.submissions, replace=args.replace)
    except grading.GradeConflict as exc:
        print(f"reportgen: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for item in graded.marked:
        if item.rejected:
            print(f"  {item.shown}: NOT SCORED: {item.rejected}")
        else:
            notes = f" ({'; '.join(item.notes)})" if item.notes else ""
            print(f"  {item.shown}: student {shown(item.student_id)}: {item.total:g} "
                  f"points{notes}")
    for line in graded.replaced:
        print(f"  replaced: {line}")
    scored = [m for m in graded.marked if not m.rejected]
    folder = shown(args.batch_dir)
    print(f"graded {len(scored)} of {len(graded.marked)} submission(s) into "
          f"{folder}/{gradebook.GRADES_FILE} (and {gradebook.MOODLE_FILE}, "
          f"{gradebook.CANVAS_FILE}, index.html)")
    return EXIT_FAILED if len(scored) < len(graded.marked) else EXIT_OK


def shown(text: object) -> str:
    """A name as the terminal may show it (control characters escaped)."""
    from reportgen.course.files import shown as escaped

    return escaped(text)


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
    """``reportgen init``: write a new handout folder, or a copy of a shipped one."""
    from reportgen import scaffold

    written = scaffold.scaffold(args.folder, args.source)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    if args.source is None:
        config = args.folder / scaffold.CONFIG_FILE
        print(f"next: reportgen build {config} --templates {args.folder / 'templates'}",
              file=sys.stderr)
        return EXIT_OK
    config = args.folder / f"{args.source}.toml"
    if args.folder / scaffold.SALT_FILE in written:
        print(f"note: the course's secret salt is {args.folder / scaffold.SALT_FILE} (random, "
              f"kept out of git by .gitignore, never in a student's file); keep it: the same "
              f"salt gives every student the same data again",
              file=sys.stderr)
    print(f"next: reportgen {scaffold.describe(args.source).command} {config}", file=sys.stderr)
    return EXIT_OK


def run_list(_args: argparse.Namespace) -> int:
    """``reportgen list``: the shipped handouts and batches, with the command for each."""
    from reportgen import scaffold

    shipped = [scaffold.describe(name) for name in shipped_handouts()]
    width = max(len(item.name) for item in shipped)
    print("shipped handouts and batches (reportgen init DIR --from NAME copies one):")
    for item in shipped:
        print(f"  {item.name:<{width}}  reportgen {item.command:<5}  {item.title}")
        print(f"  {'':<{width}}  {item.makes}")
    return EXIT_OK


def run_templates(args: argparse.Namespace) -> int:
    """``reportgen templates list|copy``: the shipped templates; one copied out."""
    from reportgen import scaffold

    if args.templates_command == "list":
        print("shipped templates (reportgen templates copy NAME [DIR]; "
              "then build with --templates DIR):")
        for name in shipped_templates():
            print(f"  {name}")
        return EXIT_OK
    path = scaffold.copy_template(args.name, args.folder)
    print(f"wrote {path}", file=sys.stderr)
    print(f"next: edit it, then reportgen build CONFIG --templates {args.folder}",
          file=sys.stderr)
    return EXIT_OK


def run_completion(args: argparse.Namespace) -> int:
    """``reportgen completion SHELL``: argcomplete's shell code for reportgen."""
    try:
        import argcomplete
    except ImportError:
        raise ConfigError("completion: needs argcomplete "
                          "(pip install 'reportgen-handouts[completion]')") from None
    sys.stdout.write(argcomplete.shellcode(["reportgen"], shell=args.shell))
    return EXIT_OK


def _complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request (argcomplete's protocol: $_ARGCOMPLETE is
    set) and exit; without argcomplete installed, do nothing."""
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def run_schema(_args: argparse.Namespace) -> int:
    """``reportgen schema``: the config's JSON Schema on stdout."""
    from reportgen.config import json_schema_text

    sys.stdout.write(json_schema_text())
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """``reportgen verify``: recompute from the report's own config and compare."""
    from reportgen import verification

    @contextlib.contextmanager
    def display(_path: Path) -> Iterator[ProgressDisplay]:
        stages = ProgressDisplay(args.quiet)
        try:
            yield stages
        except BaseException:
            stages.abandon()
            raise
        stages.close()

    return verification.main(args.path, quiet=args.quiet, display=display)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": run_build,
    "compute": run_compute,
    "verify": run_verify,
    "batch": run_batch,
    "grade": run_grade,
    "watch": run_watch,
    "init": run_init,
    "schema": run_schema,
    "list": run_list,
    "templates": run_templates,
    "completion": run_completion,
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
    if "_ARGCOMPLETE" in os.environ:
        _complete(parser)
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
    except BrokenPipeError:  # the reader stopped early (reportgen list | head): not an error
        with contextlib.suppress(OSError):  # nothing more reaches the closed pipe at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (ConfigError, OSError) as exc:
        for line in error_lines(exc):
            print(f"reportgen: error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # raised by code itself; a real SIGINT arrives as Interrupted
        print("reportgen: interrupted; the previous report is untouched", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    raise SystemExit(main())
