"""The command line's parser: every command, its options and their help, and the examples
that end each command's ``--help``.

``reportgen.cli`` runs what this parses; ``docs/generate.py`` prints every command's help
from it into the command line reference.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from reportgen._version import __version__
from reportgen.course.cluster import WORKER_TIMEOUT_S
from reportgen.shipped import shipped_handouts, shipped_templates


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
