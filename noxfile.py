"""nox sessions: tests, the installed wheel, the lowest dependency versions, property runs,
lint, typecheck, handout builds and benchmarks.

``nox`` alone runs what CI runs: ``tests``, ``installed``, ``lowest`` and ``docs``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["tests", "installed", "lowest", "docs"]
nox.options.reuse_existing_virtualenvs = True
#: uv makes each session's virtualenv in seconds (pip takes about a minute for JAX and the
#: rest); where uv is not installed, nox falls back to virtualenv and pip.
nox.options.default_venv_backend = "uv|virtualenv"

ROOT = Path(__file__).parent
#: pytest's arguments unless a session is given others: two worker processes (the suite
#: spends most of its time building handouts, one process per test file at a time).
PYTEST_ARGS = ["-q", "-n", "2", "--dist", "loadfile"]
#: What ``lowest`` runs: the tests that reach the dependencies' APIs, cheaply (JAX, optax and
#: Hypothesis for the compute, pydantic for the schema; one whole handout through Jinja,
#: matplotlib, WeasyPrint and pypdf in test_pdf; matplotlib's SVG, WeasyPrint's boxes and
#: pypdf's pages in test_printsvg and test_pagination), not the whole suite a second time.
LOWEST_TESTS = [
    "tests/test_properties_loss.py", "tests/test_properties_optimize.py",
    "tests/test_experiment.py", "tests/test_diagnostics.py", "tests/test_config.py",
    "tests/test_results.py", "tests/test_student_view.py", "tests/test_mathtex.py",
    "tests/test_pdf.py", "tests/test_pagination.py", "tests/test_printsvg.py",
]
PYTHON: str | None = None  # the interpreter nox runs under (3.11 here, 3.12 on the GPU node)
#: The distribution's name (what users pip install); the import and the command are reportgen.
DISTRIBUTION: str = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
    "project"]["name"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (Hypothesis 'ci' profile: derandomized)."""
    session.install("-e", ".[test]")
    session.env["HYPOTHESIS_PROFILE"] = "ci"
    session.run("pytest", *(session.posargs or PYTEST_ARGS))


@nox.session(python=PYTHON, reuse_venv=False, venv_backend="virtualenv")
def installed(session: nox.Session) -> None:
    """Install the wheel the way users do (not editable) and build from outside the checkout.

    A fresh venv each time; the wheel is built here and installed by its distribution name
    with the Dask extra (``pip install --find-links DIR 'NAME[dask]'``, dependencies from
    the usual index), and `reportgen build`, `verify` and `batch` run in an empty temporary
    folder, so a file the wheel lacks (a template, a shipped handout, a roster) fails this
    session.
    """
    with tempfile.TemporaryDirectory(prefix="reportgen-wheel-") as scratch:
        dist = Path(scratch) / "dist"
        output = session.run("python", "-m", "pip", "wheel", "--no-deps", "-w", str(dist),
                             str(ROOT), silent=True)
        warnings = [line for line in str(output).splitlines()
                    if "warning" in line.lower() and "pip" not in line.lower()]
        if warnings:
            session.error("building the wheel warned:\n" + "\n".join(warnings))
        wheel_name = re.sub(r"[-_.]+", "_", DISTRIBUTION)
        if not list(dist.glob(f"{wheel_name}-*.whl")):
            session.error(f"no {wheel_name}-*.whl in {dist}")
        # By name from a folder of wheels, as users install it from an index: the name and
        # the extra they type.
        session.install("--find-links", str(dist), f"{DISTRIBUTION}[dask]")
        work = Path(scratch) / "work"
        work.mkdir()
        session.chdir(work)
        session.env["REPORTGEN_CACHE_DIR"] = str(Path(scratch) / "cache")
        session.run("reportgen", "--version")
        session.run("reportgen", "build", "--quiet")
        session.run("reportgen", "verify", "build/source-notebook")
        session.run("reportgen", "init", "lab", "--from", "lab-course")
        session.run("reportgen", "batch", "lab/lab-course.toml", "--format", "html",
                    "--quiet", "--out", "lab-batch")
        session.run("python", "-c", _CHECK_INSTALLED, str(work), DISTRIBUTION)


_CHECK_INSTALLED = """
import importlib.metadata, json, shutil, sys
from pathlib import Path
import distributed  # the dask extra
import reportgen
work, name = Path(sys.argv[1]), sys.argv[2]
assert importlib.metadata.distribution(name).version == reportgen.__version__
assert shutil.which("reportgen"), "the reportgen command"
report = work / "build" / "source-notebook"
names = {p.name for p in report.iterdir()}
assert {"index.html", "handout.pdf", "results.json", "manifest.json"} <= names, names
assert str(Path(reportgen.__file__).resolve()).find("site-packages") >= 0, reportgen.__file__
batch = json.loads((work / "lab-batch" / "batch.json").read_text())
assert len(batch["variants"]) == 8, batch["variants"]  # 4 students, 2 copies each
assert (work / "lab-batch" / "answer-key.csv").is_file()
print("installed wheel: handout, verify and a student batch built outside the checkout")
"""

_LOWER_BOUND = re.compile(r"\s*([A-Za-z0-9._-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][0-9.]*)\s*")


def _lower_bounds(requirements: list[str]) -> dict[str, str]:
    """``{normalized name: version}`` for every ``name>=version`` in ``requirements``."""
    bounds: dict[str, str] = {}
    for requirement in requirements:
        match = _LOWER_BOUND.fullmatch(requirement)
        if match:
            bounds[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return bounds


def _release(version: str) -> tuple[int, ...]:
    """'68.1' -> (68, 1, 0, 0): release numbers padded, so '13' equals '13.0.0'."""
    numbers = [int(part) for part in re.findall(r"\d+", version.split("+")[0])[:4]]
    return tuple(numbers + [0] * (4 - len(numbers)))


@nox.session(python=PYTHON, reuse_venv=False)
def lowest(session: nox.Session) -> None:
    """Run the tests with every dependency at the lower bound pyproject.toml declares.

    uv's ``lowest-direct`` resolution installs each direct dependency (and the test extra)
    at its lowest allowed version; their own dependencies resolve to the newest compatible.
    The session checks that each installed version *is* the declared bound (a bound that
    cannot be installed fails here), then runs ``LOWEST_TESTS``. Always a fresh venv: uv keeps
    installed versions that satisfy a bound, so a reused venv would hide a lowered one.
    """
    session.install("uv")
    session.run("uv", "pip", "install", "--python", session.virtualenv.location,
                "--resolution", "lowest-direct", "-e", ".[test]")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = _lower_bounds(project["dependencies"] + project["optional-dependencies"]["test"])
    listing = session.run(
        "python", "-c",
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        silent=True,
    )
    installed_versions = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, version in json.loads(str(listing).strip().splitlines()[-1]).items()
    }
    off = {
        name: (bound, installed_versions.get(name))
        for name, bound in wanted.items()
        if installed_versions.get(name) is None
        or _release(installed_versions[name]) != _release(bound)
    }
    session.log("lowest: " + ", ".join(f"{n}=={installed_versions.get(n)}" for n in sorted(wanted)))
    if off:
        session.error(f"not installed at the declared lower bound (bound, installed): {off}")
    session.env["HYPOTHESIS_PROFILE"] = "ci"
    session.run("pytest", *(session.posargs or [*PYTEST_ARGS, *LOWEST_TESTS]))


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site (references generated from the code, the gallery;
    offline, warnings as errors) into build/site, then run every guide's code blocks."""
    session.install("-e", ".[docs,test]")
    # One cache for the gallery and the guides (they build the same shipped handouts), empty
    # at the start so that the guides run as on a new machine.
    cache = ROOT / "build" / "docs-cache"
    shutil.rmtree(cache, ignore_errors=True)
    session.env["REPORTGEN_CACHE_DIR"] = str(cache)
    session.run("python", "docs/generate.py", "--gallery")
    session.run("mkdocs", "build", "--strict")
    session.env["HYPOTHESIS_PROFILE"] = "ci"
    session.run("pytest", "-q", "-n", "2", "docs/test_guides.py", *session.posargs)


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
    session.run("ruff", "check", "reportgen", "tests", "benchmarks", "docs", "noxfile.py")


@nox.session(python=PYTHON, default=False)
def typecheck(session: nox.Session) -> None:
    """Type-check the package with mypy."""
    session.install("-e", ".[test]", "mypy")
    session.run("mypy", "reportgen")


def _is_batch(config: Path) -> bool:
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return "matrix" in data or "students" in data


@nox.session(python=PYTHON, default=False)
def report(session: nox.Session) -> None:
    """Build every shipped handout into build/<name>/ (batches into build/<name>-batch/)."""
    session.install("-e", ".")
    names = session.posargs or sorted(p.stem for p in (ROOT / "reports").glob("*.toml"))
    for name in names:
        command = "batch" if _is_batch(ROOT / "reports" / f"{name}.toml") else "build"
        session.run("reportgen", command, name)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmark against the notebook's ways; table to stdout, bench-results/bench.json."""
    session.install("-e", ".")
    # The notebook baseline runs under nbconvert: installed here only, never a dependency.
    session.install("nbconvert", "jupyter-client", "ipykernel")
    session.run("python", "benchmarks/bench.py", *session.posargs)
