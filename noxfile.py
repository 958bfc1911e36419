"""nox sessions: tests, property runs, lint, typecheck, handout builds, benchmarks."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PYTHON: str | None = None  # the interpreter nox runs under (3.11 here, 3.12 on the GPU node)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (Hypothesis 'ci' profile: derandomized)."""
    session.install("-e", ".[test]")
    session.env["HYPOTHESIS_PROFILE"] = "ci"
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session(python=PYTHON, default=False)
def properties(session: nox.Session) -> None:
    """Run the Hypothesis property suites thoroughly (>= 1000 examples each)."""
    session.install("-e", ".[test]")
    session.env["HYPOTHESIS_PROFILE"] = "thorough"
    session.run("pytest", "-q", "-m", "property", *session.posargs)


@nox.session(python=PYTHON, default=False)
def lint(session: nox.Session) -> None:
    """Check style and common mistakes with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "reportgen", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON, default=False)
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy."""
    session.install("-e", ".[test]", "mypy")
    session.run("mypy", "reportgen")


@nox.session(python=PYTHON, default=False)
def report(session: nox.Session) -> None:
    """Build every shipped handout into build/<name>/."""
    session.install("-e", ".")
    names = session.posargs or sorted(p.stem for p in (ROOT / "reports").glob("*.toml"))
    for name in names:
        session.run("reportgen", "build", name)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark against the notebook's ways; table to stdout, bench-results/bench.json."""
    session.install("-e", ".")
    # The notebook baseline runs under nbconvert: installed here only, never a dependency.
    session.install("nbconvert", "jupyter-client", "ipykernel")
    session.run("python", "benchmarks/bench.py", *session.posargs)
