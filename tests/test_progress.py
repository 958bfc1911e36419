"""No silent waits: every command that takes more than a second shows its stages, and the
commands that can use several processes use the machine's cores unless told otherwise."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_process import run_reportgen

from reportgen import cli, cli_parser

SMALL = """\
[data]
n = 5
[surface]
resolution = 2
[[runs]]
epochs = 1
"""


def reportgen(*args: str) -> subprocess.CompletedProcess[str]:
    return run_reportgen(*args, check=False, timeout=600)


def test_verify_shows_its_stages_and_quiet_hides_them(tmp_path: Path) -> None:
    """Issue 23, item 7: verify printed nothing for 12-16 s, then its verdict."""
    config = tmp_path / "small.toml"
    config.write_text(SMALL, encoding="utf-8")
    assert cli.main(["compute", str(config), "--out", str(tmp_path / "report"), "-q"]) == 0
    shown = reportgen("verify", str(tmp_path / "report"))
    assert shown.returncode == 0, shown.stderr
    stages = [line.split()[1] for line in shown.stderr.splitlines() if "✓" in line]
    assert stages[0] == "read" and "import" in stages and stages[-1] == "compare", stages
    assert shown.stdout.splitlines()[-1].startswith("reproduced:")
    quiet = reportgen("verify", "-q", str(tmp_path / "report"))
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_a_failed_verify_marks_no_stage_done(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert cli.main(["verify", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "✓" not in err and len(err.splitlines()) == 1, err


def test_batch_renders_on_every_core_by_default() -> None:
    """Issue 23, item 7: batch defaulted to --jobs 1 where build uses the cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert cli_parser.make_parser().parse_args(["batch", "lab-course"]).jobs == cores
