"""The reportgen command line in a fresh process, as a user runs it.

The one way tests start the command (a batch's spawned workers need a real ``__main__``,
and a signal or a kill must reach a process of its own). The environment is the test
run's (its shared caches) unless a test passes another.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def command(*args: str | Path) -> list[str]:
    """``python -m reportgen ARGS`` as an argument list."""
    return [sys.executable, "-m", "reportgen", *map(str, args)]


def run_reportgen(*args: str | Path, cwd: Path | None = None,
                  env: Mapping[str, str] | None = None, check: bool = True,
                  timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the command to its end; its output captured as text."""
    return subprocess.run(command(*args), cwd=cwd, check=check, capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(env) if env is not None else os.environ.copy())


def start_reportgen(*args: str | Path, env: Mapping[str, str] | None = None,
                    **options: Any) -> subprocess.Popen[str]:
    """Start the command and return at once (stderr piped as text unless ``options`` say
    otherwise), for tests that watch its progress, signal or kill it."""
    options.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(command(*args), text=True,
                            env=dict(env) if env is not None else os.environ.copy(),
                            **options)
