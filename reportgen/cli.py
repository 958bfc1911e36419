"""The ``reportgen`` command line: compute, build and verify handouts.

Exit codes: 0 done, 1 verification mismatch or internal failure, 2 bad input; stopped by
a signal, 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), the report untouched.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reportgen import interrupts, pipeline
from reportgen._version import __version__
from reportgen.config import Config, ConfigError, load
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
    build.add_argument("--format", default="html,pdf",
                       help="comma-separated output formats: html, pdf (default: html,pdf)")
    build.add_argument("--templates", type=Path, default=None, metavar="DIR",
                       help="a folder of templates overriding the shipped ones by name")

    compute = commands.add_parser("compute", help="compute results.json only, no rendering",
                                  description="Compute a handout's numbers into results.json.")
    _add_config_arguments(compute)

    verify = commands.add_parser("verify", help="re-derive a report and compare",
                                 description="Recompute a report from its own config and "
                                 "compare numbers and file hashes.")
    verify.add_argument("path", type=Path, help="a report folder or a handout PDF")
    verify.add_argument("-q", "--quiet", action="store_true", help="print only differences")
    return parser


def load_config(args: argparse.Namespace) -> Config:
    """The config named on the command line, with --set and --device applied."""
    overrides = list(args.overrides)
    if args.device is not None:
        overrides.append(f"device={args.device!r}".replace("'", '"'))
    return load(args.config, overrides)


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
    config = load_config(args)
    formats = parse_formats(args.format)
    if args.templates is not None and not args.templates.is_dir():
        raise ConfigError(f"--templates: expected a folder of templates, got '{args.templates}'")
    target = output_folder(args, config)
    stages = Stages(args.quiet)
    try:
        pipeline.build(config, target, formats, templates_dir=args.templates,
                       cache_dir=args.cache_dir, use_cache=not args.no_cache, progress=stages)
    finally:
        stages.close()
    if not args.quiet:
        print(f"wrote {target}/ ({', '.join(formats)})", file=sys.stderr)
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """``reportgen verify``: recompute from the report's own config and compare."""
    from reportgen import verification

    return verification.main(args.path, quiet=args.quiet)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "build": run_build,
    "compute": run_compute,
    "verify": run_verify,
}


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
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"reportgen: error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        from reportgen.store.output import OutputError

        if isinstance(exc, OutputError):
            print(f"reportgen: error: {exc.strerror}", file=sys.stderr)
        else:
            where = f" ({exc.filename})" if exc.filename else ""
            print(f"reportgen: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # raised by code itself; a real SIGINT arrives as Interrupted
        print("reportgen: interrupted; the previous report is untouched", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    raise SystemExit(main())
