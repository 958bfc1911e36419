# PYTHON_ARGCOMPLETE_OK (argcomplete's marker: this command answers shell completion)
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
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from reportgen import interrupts, pipeline
from reportgen._version import __version__
from reportgen.config import Config, ConfigError, load, parse_key
from reportgen.course.cluster import WORKER_TIMEOUT_S
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


def _add_config_arguments(parser: argparse.ArgumentParser,
                          out_default: str = "build/<name>") -> None:
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
                        help=f"the report folder to write (default: {out_default}); it must be "
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
    _add_config_arguments(batch, out_default="build/<name>-batch/")
    _add_render_arguments(batch, audience=False)
    batch.add_argument("--matrix", dest="matrix", action="append", default=[],
                       metavar="KEY=V1,V2", help="vary a config value over a list (repeatable; "
                       "replaces the config's [matrix] entry for KEY)")
    batch.add_argument("--jobs", type=int, default=available_cores(), metavar="N",
                       help="render in N local worker processes, 1 in this process "
                       "(default: one per core this process may use, %(default)s here)")
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
                       help="comma-separated output formats: html, pdf, ipynb (default: html)")
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
                      help="where to write (default: ., the current folder)")
    init.add_argument("--from", dest="source", choices=shipped_handouts(), default=None,
                      metavar="NAME",
                      help="start from a shipped handout or batch instead: its config, the "
                      "roster it names, the schema, and for a course a fresh random .salt "
                      f"listed in .gitignore ({', '.join(shipped_handouts())})")

    commands.add_parser(
        "schema", help="print the config's JSON Schema",
        description="Print the JSON Schema of the config (types, ranges, allowed values, "
        "descriptions; unknown keys refused) for editors and validators.")

    grade = commands.add_parser(
        "grade", help="mark filled-in student PDFs against a batch's answer key",
        description="Read each submission's form fields, identify the student from the PDF's "
        "attached config (checked against batch.json, its own manifest and its first "
        "page), score every answer within its tolerance and merge the marks into "
        "BATCH_DIR/grades.csv (one row per student; earlier marks are kept), with "
        "grades-moodle.csv and grades-canvas.csv for an LMS import, and the index.")
    grade.add_argument("batch_dir", type=Path, help="the folder `reportgen batch` wrote")
    grade.add_argument("submissions", type=Path, nargs="+", metavar="SUBMISSION.pdf",
                       help="filled-in student handouts")
    grade.add_argument("--replace", action="store_true",
                       help="mark a new file for a student already marked from another "
                       "(without it, that is an error and nothing is written)")
    _add_discovery_commands(commands)
    _add_examples(parser)
    return parser


def available_cores() -> int:
    """The cores this process may run on (its affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _add_discovery_commands(commands: Any) -> None:
    """``list``, ``templates list|copy`` and ``completion``: what is shipped, and how to
    start from it, without looking inside the installed package."""
    commands.add_parser(
        "list", help="list the shipped handouts and batches",
        description="List the shipped handouts and batches: the names that build, batch and "
        "init --from accept, each with the command that makes it and its title.")
    templates = commands.add_parser(
        "templates", help="list the shipped templates, or copy one out to override it",
        description="The templates a handout is made of. A folder given with --templates "
        "overrides them by name: copy one out, edit it, build with --templates DIR.")
    actions = templates.add_subparsers(dest="templates_command", required=True,
                                       metavar="ACTION")
    actions.add_parser("list", help="list the shipped templates by name",
                       description="List every shipped template (HTML and CSS) by the name "
                       "--templates overrides it with.")
    copy = actions.add_parser(
        "copy", help="copy a shipped template into a folder, to edit",
        description="Copy a shipped template into DIR under its own name (keeping "
        "partials/), so that --templates DIR overrides it. Never overwrites a file.")
    copy.add_argument("name", choices=shipped_templates(), metavar="NAME",
                      help="a template's name, as `reportgen templates list` prints it")
    copy.add_argument("folder", nargs="?", type=Path, default=Path("templates"), metavar="DIR",
                      help="the folder of your templates (default: templates)")
    completion = commands.add_parser(
        "completion", help="print the shell code that completes reportgen's commands",
        description="Print the shell code that completes reportgen's commands, options and "
        "shipped names (through argcomplete: pip install 'reportgen-handouts[completion]'). "
        "Load it from your shell's start-up file.")
    completion.add_argument("shell", choices=("bash", "zsh", "fish"),
                            help="the shell to complete in")


#: Each command's examples, shown at the end of its --help (one command per line, a
#: comment after two spaces and #; tests/test_docs.py parses every one).
EXAMPLES: dict[str, str] = {
    "build": """\
  reportgen build                                   # the default handout -> build/source-notebook/
  reportgen build learning-rates --format html      # a shipped handout, HTML only
  reportgen build --format html,pdf,ipynb           # and the handout as a notebook
  reportgen build handout.toml --set runs.0.learning_rate=0.3 --out build/fast
  reportgen build handout.toml --templates templates  # with your own templates""",
    "compute": """\
  reportgen compute                                 # build/source-notebook/results.json
  reportgen compute handout.toml --set data.n=1000 --out build/n1000""",
    "verify": """\
  reportgen verify build/source-notebook            # a report folder
  reportgen verify handout.pdf                      # a handout PDF alone (its attachments)
  reportgen verify build/lab                        # every variant of a batch""",
    "batch": """\
  reportgen batch learning-rate-study               # -> build/learning-rate-study-batch/
  reportgen batch handout.toml --matrix runs.0.learning_rate=0.02,0.1,0.5
  reportgen batch lab/lab-course.toml --out build/lab  # students/, instructor/, handouts/, key
  reportgen batch lab/lab-course.toml --format html,pdf,ipynb --out build/lab  # with notebooks
  reportgen batch study.toml --executor dask --scheduler tcp://10.0.0.5:8786""",
    "watch": """\
  reportgen watch handout.toml --serve              # rebuild on save, reload the browser
  reportgen watch handout.toml --templates templates --format html,pdf""",
    "init": """\
  reportgen init lecture                            # handout.toml, its schema, templates/
  reportgen init lab --from lab-course              # a course: config, roster, secret .salt""",
    "schema": """\
  reportgen schema > reportgen.schema.json          # what a config's #:schema line names""",
    "grade": """\
  reportgen grade build/lab submissions/*.pdf       # -> build/lab/grades.csv (merged)
  reportgen grade build/lab late/s003.pdf --replace  # a new file for a student marked before""",
    "list": """\
  reportgen list                                    # names for build, batch and init --from""",
    "templates": """\
  reportgen templates list
  reportgen templates copy partials/figure.html     # -> templates/partials/figure.html""",
    "templates list": """\
  reportgen templates list""",
    "templates copy": """\
  reportgen templates copy handout.css              # -> templates/handout.css
  reportgen templates copy partials/figure.html mine  # then build with --templates mine""",
    "completion": """\
  eval "$(reportgen completion bash)"               # in ~/.bashrc
  reportgen completion zsh > ~/.zfunc/_reportgen    # with fpath+=~/.zfunc in ~/.zshrc
  reportgen completion fish > ~/.config/fish/completions/reportgen.fish""",
}


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, except that an examples epilog keeps its lines."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:\n"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _add_examples(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Give every subcommand (nested ones too) its examples as the end of its --help."""
    for action in parser._actions:  # argparse keeps its subcommands here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                command = f"{prefix}{name}"
                sub.formatter_class = _HelpFormatter
                sub.epilog = f"examples:\n{EXAMPLES[command]}"
                _add_examples(sub, f"{command} ")


def _add_render_arguments(parser: argparse.ArgumentParser, audience: bool = True) -> None:
    parser.add_argument("--format", default="html,pdf",
                        help="comma-separated output formats: html, pdf, ipynb (a notebook "
                        "that recomputes the numbers; default: html,pdf)")
    parser.add_argument("--templates", type=Path, default=None, metavar="DIR",
                        help="a folder of templates overriding the shipped ones by name")
    parser.add_argument("--audience", choices=("student", "instructor"), default=None,
                        help="for handouts with exercises: student copies withhold the answers "
                        "and have fillable fields; instructor copies add worked solutions "
                        "(default: the config's audience, student)" if audience
                        else argparse.SUPPRESS)


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
