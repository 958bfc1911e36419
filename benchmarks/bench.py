"""reportgen's benchmarks against the notebook's ways, measured in the same run.

    python benchmarks/bench.py [--quick] [--only cli,pdf,course] [--out bench-results]

Every row runs in a fresh subprocess, so its peak memory is that process's own
``ru_maxrss`` (read by the child for in-process rows, by ``os.wait4`` for command rows):
it includes the interpreter and its imports; the ``idle`` row shows that floor.
Times are the median of repeated runs after one warm-up run; ``first`` is the warm-up
run itself, so for JAX rows ``first - median`` is the compile (and first-transfer) time.
Baselines slower than ``--budget`` seconds are timed on a subset of the grid (the first
rows, or the first points of the first row) and scaled up: those cells say "est.".

Rows that are compared with one another (a cold build and the notebook's routes, one
cold build and a batch, a cold build and a title-only rebuild) run interleaved: each
repeat runs each of them once, in an order reversed every other repeat, so that the load
of a shared machine drifts alike on all. Prints a markdown table of every row, then the
goals of issue 24 (each ratio from rows of this run), and writes ``bench.json`` into the
output folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "benchmarks" / "source_notebook.ipynb"

SURFACE_CASES = [(100, 100), (1000, 100), (1000, 10_000), (1000, 1_000_000)]
SURFACE_METHODS = ["loop", "numpy", "direct", "exact", "stats"]
#: Not a target row: the largest grid the issue asks to stay bounded in memory.
MEMORY_CASE = (3000, 100_000)
SWEEP_RATES, SWEEP_STEPS, SWEEP_N = 1024, 1000, 10_000
#: Full numpy broadcasting only while its (G, G, n) temporaries fit in this many bytes.
NUMPY_BROADCAST_BYTES = 3 * 2**30

METHOD_NAMES = {
    "loop": "notebook loop",
    "numpy": "numpy broadcast",
    "direct": "jax direct (nested vmap)",
    "exact": "reportgen exact",
    "stats": "reportgen stats",
    "vmap": "reportgen sweep (one vmapped call)",
    "runs-loop": "loop of jitted single runs",
}


# ---------------------------------------------------------------- the measured code


def notebook_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x and y drawn as the notebook does: (n, 1) columns from one seeded stream."""
    rng = np.random.RandomState(seed)
    x = 2 * rng.rand(n, 1)
    return x, 4 + 3 * x + rng.randn(n, 1)


def compute_loss(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """The notebook's loss, verbatim."""
    error = y - X.dot(theta)
    return float(np.mean(error**2))


def loop_surface(theta0: np.ndarray, theta1: np.ndarray, x: np.ndarray, y: np.ndarray,
                 points: int | None = None) -> np.ndarray:
    """The notebook's double loop over a meshgrid; stops after ``points`` points if given."""
    X_b = np.c_[np.ones((len(x), 1)), x]  # the notebook's name
    theta0_mesh, theta1_mesh = np.meshgrid(theta0, theta1)
    loss = np.full(theta0_mesh.shape, np.nan)
    done = 0
    for i in range(theta0_mesh.shape[0]):
        for j in range(theta0_mesh.shape[1]):
            if points is not None and done >= points:
                return loss
            theta_ij = np.array([[theta0_mesh[i, j]], [theta1_mesh[i, j]]])
            loss[i, j] = compute_loss(theta_ij, X_b, y)
            done += 1
    return loss


def numpy_surface(theta0: np.ndarray, theta1: np.ndarray, x: np.ndarray, y: np.ndarray,
                  rows_per_chunk: int | None = None) -> np.ndarray:
    """All points at once by broadcasting (G1, G0, n); in row chunks if asked."""
    xs, ys = x.ravel(), y.ravel()
    chunk = rows_per_chunk or len(theta1)
    # With chunks, a block holds at most 2^22 residuals: split the columns too at large n.
    cols = len(theta0) if rows_per_chunk is None else max(1, (1 << 22) // (chunk * len(xs)))
    out = np.empty((len(theta1), len(theta0)))
    for start in range(0, len(theta1), chunk):
        t1 = theta1[start:start + chunk, None, None]
        for left in range(0, len(theta0), cols):
            t0 = theta0[None, left:left + cols, None]
            residual = ys[None, None, :] - t0 - t1 * xs[None, None, :]
            out[start:start + chunk, left:left + cols] = np.mean(residual**2, axis=-1)
    return out


# ---------------------------------------------------------------- timing helpers


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(fn: Callable[[], Any], budget_s: float, most: int = 7) -> dict[str, Any]:
    """One warm-up run, then up to ``most`` timed runs within about ``budget_s``."""
    first = timed(fn)
    count = int(max(1, min(most, budget_s // max(first, 1e-6))))
    samples = [timed(fn) for _ in range(count)]
    return {"first_s": first, "median_s": statistics.median(samples), "repeats": count}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- child rows


def child_surface(spec: dict[str, Any]) -> dict[str, Any]:
    """One method at one (G, n): its time, and its grid saved for the differences."""
    grid_size, n, method = spec["G"], spec["n"], spec["method"]
    budget = spec["budget"]
    x, y = notebook_data(n)
    theta0 = np.linspace(-10, 10, grid_size)
    theta1 = np.linspace(-10, 10, grid_size)
    row: dict[str, Any] = {"estimated": False}
    if method in ("loop", "numpy"):
        row.update(_numpy_method(method, theta0, theta1, x, y, budget))
        grid = row.pop("grid")
    else:
        import jax.numpy as jnp

        from reportgen.numerics import runtime, surface

        runtime.configure_jax("cpu")
        xj, yj = jnp.asarray(x.ravel()), jnp.asarray(y.ravel())
        if method == "direct":
            row.update(_direct(theta0, theta1, xj, yj, budget))
            grid = row.pop("grid")
        else:
            def run() -> np.ndarray:
                return surface.loss_surface(theta0, theta1, xj, yj, method).loss

            row.update(repeat(run, budget))
            grid = run()
    np.save(spec["save"], grid)
    return row


def _numpy_method(method: str, theta0: np.ndarray, theta1: np.ndarray, x: np.ndarray,
                  y: np.ndarray, budget: float) -> dict[str, Any]:
    grid_size, n = len(theta0), len(x)
    if method == "loop":
        # Per point: the difference of two probes, so the fixed setup (meshgrid, np.c_ of
        # n rows) does not inflate the estimate.
        probe_points = 100
        once = timed(lambda: loop_surface(theta0, theta1, x, y, points=probe_points))
        twice = timed(lambda: loop_surface(theta0, theta1, x, y, points=2 * probe_points))
        probe = max(twice - once, once / 10)
        total = probe / probe_points * grid_size * grid_size
        if total <= budget:
            result = repeat(lambda: loop_surface(theta0, theta1, x, y), budget, most=3)
            return {**result, "grid": loop_surface(theta0, theta1, x, y)}
        points = max(probe_points, int(budget / 3 / (probe / probe_points)))
        grid: np.ndarray = np.empty(0)

        def part() -> None:
            nonlocal grid
            grid = loop_surface(theta0, theta1, x, y, points=points)

        elapsed = timed(part)
        scale = grid_size * grid_size / points
        return {"median_s": elapsed * scale, "first_s": None, "repeats": 1, "estimated": True,
                "subset": f"{points} of {grid_size * grid_size} points", "grid": grid}
    full_bytes = grid_size * grid_size * n * 8 * 3
    if full_bytes <= NUMPY_BROADCAST_BYTES:
        result = repeat(lambda: numpy_surface(theta0, theta1, x, y), budget, most=5)
        return {**result, "grid": numpy_surface(theta0, theta1, x, y)}
    chunk = max(1, (1 << 22) // (grid_size * n))
    probe = timed(lambda: numpy_surface(theta0, theta1[:chunk], x, y, chunk))
    rows = min(grid_size, max(chunk, int(budget / 3 / probe) * chunk))
    grid = np.full((grid_size, grid_size), np.nan)
    elapsed = timed(lambda: grid.__setitem__(
        slice(0, rows), numpy_surface(theta0, theta1[:rows], x, y, chunk)))
    note = f"row chunks of {chunk}: {full_bytes / 2**30:.0f} GiB unchunked"
    if rows < grid_size:
        note += f"; {rows} of {grid_size} rows timed"
    return {"median_s": elapsed * grid_size / rows, "first_s": None, "repeats": 1,
            "estimated": rows < grid_size, "subset": note, "grid": grid}


def _direct(theta0: np.ndarray, theta1: np.ndarray, x: Any, y: Any,
            budget: float) -> dict[str, Any]:
    import jax.numpy as jnp

    from reportgen.numerics import surface

    grid_size = len(theta0)

    def rows(count: int) -> np.ndarray:
        return np.asarray(surface.direct(jnp.asarray(theta0), jnp.asarray(theta1[:count]), x, y))

    rows(1)  # compile the one-row shape
    probe = timed(lambda: rows(1))
    if probe * grid_size <= budget:
        result = repeat(lambda: rows(grid_size), budget, most=5)
        return {**result, "grid": rows(grid_size)}
    count = max(1, min(grid_size, int(budget / 3 / probe)))
    part = rows(count)  # compile this shape, then time it
    elapsed = timed(lambda: rows(count))
    grid = np.full((grid_size, grid_size), np.nan)
    grid[:count] = part
    return {"median_s": elapsed * grid_size / count, "first_s": None, "repeats": 1,
            "estimated": True, "subset": f"{count} of {grid_size} rows", "grid": grid}


def child_sweep(spec: dict[str, Any]) -> dict[str, Any]:
    """1024 learning rates x 1000 steps: one vmapped call, or a loop of jitted runs."""
    import jax
    import jax.numpy as jnp

    from reportgen.numerics import optimize, runtime

    runtime.configure_jax("cpu")
    x, y = (jnp.asarray(a.ravel()) for a in notebook_data(SWEEP_N))
    rates = jnp.asarray(np.geomspace(1e-3, 1.0, SWEEP_RATES))
    init = jnp.zeros(2)
    if spec["method"] == "vmap":
        def run() -> Any:
            return jax.block_until_ready(optimize.sweep(rates, init, x, y, steps=SWEEP_STEPS))
    else:
        def run() -> Any:
            outs = [optimize.sweep_single(rate, init, x, y, steps=SWEEP_STEPS) for rate in rates]
            return jax.block_until_ready(outs)
    row = repeat(run, spec["budget"], most=7 if spec["method"] == "vmap" else 3)
    out = run()
    finals = (np.asarray(out[0]) if spec["method"] == "vmap"
              else np.array([float(final) for final, _ in out]))
    np.save(spec["save"], finals)
    return row


def child_matrix(spec: dict[str, Any]) -> dict[str, Any]:
    """The compute stage of ``count`` variants of the default handout, cold (one process)."""
    start = time.perf_counter()
    from reportgen import config
    from reportgen.numerics import experiment, runtime

    runtime.configure_jax("cpu")
    count = int(spec["count"])
    configs = [config.load("source-notebook", {"runs.0.learning_rate": 0.002 * (i + 1),
                                               "data.noise": 0.5 + (i % 4) * 0.5})
               for i in range(count)]
    loaded = time.perf_counter()
    experiment.compute_many(configs)
    done = time.perf_counter()
    return {"median_s": done - loaded, "first_s": done - start, "repeats": 1,
            "peak_rss_mb": peak_rss_mb()}


def child_idle(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor under every row: the interpreter with jax and reportgen imported."""
    from reportgen.numerics import surface  # noqa: F401

    return {"median_s": None, "first_s": None, "repeats": 0}


CHILDREN = {"surface": child_surface, "sweep": child_sweep, "idle": child_idle,
            "matrix": child_matrix}


def child_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    row = CHILDREN[spec["kind"]](spec)
    row["peak_rss_mb"] = peak_rss_mb()
    print("BENCH-ROW " + json.dumps(row))


# ---------------------------------------------------------------- parent


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True, check=False, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-ROW "):
            return json.loads(line[len("BENCH-ROW "):])
    return {"error": (done.stderr or done.stdout).strip().splitlines()[-1:]}


def run_command(argv: Sequence[str], env: dict[str, str], repeats: int) -> dict[str, Any]:
    """Wall time (median) and peak RSS (largest, with waited-for descendants) of a command."""
    times, peaks, failure = [], [], None
    for _ in range(repeats):
        start = time.perf_counter()
        with subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) as proc:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            stderr = proc.stderr.read().decode() if proc.stderr else ""
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if proc.returncode != 0:
            failure = stderr.strip().splitlines()[-3:]
    row: dict[str, Any] = {"median_s": statistics.median(times), "first_s": times[0],
                           "repeats": repeats, "peak_rss_mb": max(peaks)}
    if failure:
        row["error"] = failure
    return row


def cold_env(cache: Path) -> dict[str, str]:
    """An environment whose reportgen and JAX caches point at an empty folder."""
    env = dict(os.environ, REPORTGEN_CACHE_DIR=str(cache / "reportgen"),
               XDG_CACHE_HOME=str(cache / "xdg"), JAX_COMPILATION_CACHE_DIR=str(cache / "jax"),
               MPLCONFIGDIR=str(cache / "mpl"))
    return env


def fresh_cache(base: Path, name: str) -> Path:
    path = base / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def bench_surface(work: Path, budget: float, quick: bool) -> list[dict[str, Any]]:
    rows = []
    cases = SURFACE_CASES[:2] if quick else SURFACE_CASES
    for grid_size, n in [*cases, *([] if quick else [MEMORY_CASE])]:
        methods = SURFACE_METHODS if (grid_size, n) != MEMORY_CASE else ["exact"]
        grids: dict[str, np.ndarray] = {}
        for method in methods:
            save = work / f"surface-{grid_size}-{n}-{method}.npy"
            spec = {"kind": "surface", "method": method, "G": grid_size, "n": n,
                    "budget": budget, "save": str(save)}
            row = run_child(spec)
            row.update(group="surface", case=f"G={grid_size}, n={n:.0e}".replace("e+0", "e"),
                       G=grid_size, n=n, method=method)
            if save.exists():
                grids[method] = np.load(save)
                save.unlink()
            rows.append(row)
            print(f"  {row['case']:<18} {method:<7} {_fmt_s(row.get('median_s'))}",
                  file=sys.stderr)
        reference = grids.get("exact")
        for row in rows[-len(methods):]:
            grid = grids.get(row["method"])
            if reference is not None and grid is not None and row["method"] != "exact":
                row["max_abs_diff_vs_exact"] = float(np.nanmax(np.abs(grid - reference)))
        loop = grids.get("loop")
        if loop is not None and reference is not None:
            rows[-len(methods) + methods.index("exact")]["max_abs_diff_vs_loop"] = float(
                np.nanmax(np.abs(reference - loop)))
    return rows


def bench_sweep(work: Path, budget: float) -> list[dict[str, Any]]:
    rows, finals = [], {}
    for method in ("vmap", "runs-loop"):
        save = work / f"sweep-{method}.npy"
        row = run_child({"kind": "sweep", "method": method, "budget": budget, "save": str(save)})
        row.update(group="sweep", case=f"{SWEEP_RATES} rates x {SWEEP_STEPS} steps, n=1e4",
                   method=method)
        if save.exists():
            finals[method] = np.load(save)
        rows.append(row)
        print(f"  sweep {method:<6} {_fmt_s(row.get('median_s'))}", file=sys.stderr)
    if len(finals) == 2:
        same = np.array_equal(finals["vmap"], finals["runs-loop"], equal_nan=True)
        rows[0]["equal_to_loop"] = bool(same)
    return rows


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--no-pdf-header-footer")


def notebook_steps(work: Path, index: int, env: dict[str, str],
                   pdf: bool) -> list[Step] | None:
    """The notebook executed to HTML by nbconvert and, with ``pdf``, printed to PDF by
    headless Chromium (the notebook's route to a handout); None if a tool is missing."""
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or \
        shutil.which("jupyter")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if jupyter is None or (pdf and chromium is None):
        return None
    out = work / f"notebook-{'pdf' if pdf else 'html'}-{index}"
    steps: list[Step] = [([jupyter, "nbconvert", "--execute", "--to", "html", "--output-dir",
                           str(out), str(NOTEBOOK)], env)]
    if pdf and chromium is not None:
        page = out / (NOTEBOOK.stem + ".html")
        steps.append(([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={out / 'profile'}",
                       f"--print-to-pdf={out / 'notebook.pdf'}", page.as_uri()], env))
    return steps


def bench_cli(work: Path, repeats: int) -> list[dict[str, Any]]:
    """Cold builds (empty caches every time) against executing the notebook, interleaved."""
    reportgen = [sys.executable, "-m", "reportgen"]
    case = "default handout, cold"

    def build(*options: str) -> Callable[[int], list[Step]]:
        def steps(index: int) -> list[Step]:
            out = work / f"cli-{index}"
            return [([*reportgen, "build", "--quiet", *options, "--out", str(out)],
                     cold_env(fresh_cache(work, "cold")))]
        return steps

    def notebook(pdf: bool) -> Callable[[int], list[Step]]:
        def steps(index: int) -> list[Step]:
            return notebook_steps(work, index, cold_env(fresh_cache(work, "nb")), pdf) or []
        return steps

    runs = {"reportgen build": build(), "reportgen build --jobs 1": build("--jobs", "1"),
            "reportgen build (html)": build("--format", "html")}
    missing = []
    for name, pdf in (("nbconvert --execute", False), ("notebook to PDF", True)):
        if notebook_steps(work, 0, {}, pdf) is None:
            missing.append(name)
        else:
            runs[name] = notebook(pdf)
    found = interleaved(runs, repeats)
    rows = []
    for name, row in found.items():
        row.update(group="cli", case=case, method=name)
        rows.append(row)
        print(f"  {name:<26} {_fmt_s(row['median_s'])}", file=sys.stderr)
    for name in missing:
        rows.append({"group": "cli", "case": case, "method": name,
                     "error": ["jupyter (nox -s bench installs it) or chromium is not installed"]})
    route = found.get("notebook to PDF")
    if route is not None:
        route["note"] = ("nbconvert --execute --to html, then headless Chromium "
                         "--print-to-pdf (16 pages, its own styles)")
    big = [*reportgen, "compute", "--quiet", "--out", str(work / "out"), "--set",
           "data.n=1000000", "--set", "surface.resolution=1000"]
    row = _cold_rows(big, lambda name: cold_env(fresh_cache(work, name)), repeats)
    row.update(group="cli", case="n=1e6, resolution 1000", method="reportgen compute")
    rows.append(row)
    print(f"  compute n=1e6        {_fmt_s(row['median_s'])}", file=sys.stderr)
    return rows


STAGE_LINE = re.compile(r"✓ (?P<stage>.+?)\s+(?P<seconds>[\d.]+) s\s*$")
RENDER_STAGES = {"load renderer", "write results", "write", "figures", "html", "pdf", "manifest"}


def stage_seconds(argv: Sequence[str], env: dict[str, str]) -> dict[str, float]:
    """Run a reportgen command with its progress display and read each stage's seconds."""
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    stages: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = STAGE_LINE.search(line)
        if match:
            stages[match["stage"]] = float(match["seconds"])
    return stages


def compute_stage(stages: dict[str, float]) -> float:
    """Seconds before rendering starts: imports, JAX compute or the cache read."""
    return sum(v for k, v in stages.items() if k not in RENDER_STAGES)


def bench_cache(work: Path, repeats: int) -> list[dict[str, Any]]:
    """A template-only rebuild against a cold build: the compute stage each one pays."""
    shipped = ROOT / "templates"
    edited = work / "templates-edited"
    shutil.copytree(shipped, edited, dirs_exist_ok=True)
    css = edited / "handout.css"
    css.write_text(css.read_text(encoding="utf-8") + "\nh1 { letter-spacing: 0.01em; }\n",
                   encoding="utf-8")
    build = [sys.executable, "-m", "reportgen", "build", "--out", str(work / "cached-out")]
    cold_times, rebuild_times = [], []
    for _ in range(repeats):
        env = cold_env(fresh_cache(work, "cache-row"))
        cold_times.append(compute_stage(stage_seconds(build, env)))
        again = stage_seconds([*build, "--templates", str(edited)], env)
        rebuild_times.append(compute_stage(again))
    cold = statistics.median(cold_times)
    rebuild = statistics.median(rebuild_times)
    rows = [
        {"group": "cache", "case": "default handout, compute stage", "method": "cold build",
         "median_s": cold, "first_s": cold_times[0], "repeats": repeats},
        {"group": "cache", "case": "default handout, compute stage",
         "method": "template-only rebuild", "median_s": rebuild, "first_s": rebuild_times[0],
         "repeats": repeats,
         "note": f"{rebuild / cold:.3f}x the cold compute stage (goal <= 0.1x)"},
    ]
    print(f"  compute stage: cold {_fmt_s(cold)}, template-only rebuild {_fmt_s(rebuild)}",
          file=sys.stderr)
    return rows


BATCH_RATES = [0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.48]


def bench_batch(work: Path, repeats: int) -> list[dict[str, Any]]:
    """12 variants with --jobs 2 against one cold build; 200 variants' compute against one."""
    reportgen = [sys.executable, "-m", "reportgen"]

    def cold(name: str) -> dict[str, str]:
        return cold_env(fresh_cache(work, name))

    case = "12 variants (HTML + PDF)"
    matrix = "runs.0.learning_rate=" + ",".join(map(str, BATCH_RATES))

    def single(index: int) -> list[Step]:
        return [([*reportgen, "build", "--quiet", "--out", str(work / f"one-{index}")],
                 cold("cold"))]

    def twelve(index: int) -> list[Step]:
        # a fresh folder each time: batch skips variants already written (resume), so a
        # second run into one folder would time 12 skips, not 12 builds
        return [([*reportgen, "batch", "--quiet", "--matrix", matrix, "--jobs", "2", "--out",
                  str(work / f"twelve-{index}")], cold("cold"))]

    found = interleaved({"one cold build": single, "reportgen batch --jobs 2": twelve},
                        repeats)
    single_row, batch = found["one cold build"], found["reportgen batch --jobs 2"]
    single_row.update(group="batch", case=case, method="one cold build")
    batch.update(group="batch", case=case, method="reportgen batch --jobs 2")
    if single_row.get("median_s") and batch.get("median_s"):
        batch["note"] = (f"{batch['median_s'] / single_row['median_s']:.2f}x one cold build "
                         f"(goal <= 4x; 12 builds in a row ~ 12x)")
    rows = [single_row, batch]
    one = run_child({"kind": "matrix", "count": 1})
    many = run_child({"kind": "matrix", "count": 200})
    one.update(group="batch", case="compute stage, cold", method="1 variant")
    many.update(group="batch", case="compute stage, cold",
                method="200 variants (one program per shape)")
    if one.get("median_s") and many.get("median_s"):
        many["note"] = f"{many['median_s'] / one['median_s']:.2f}x one variant (goal <= 3x)"
    rows += [one, many]
    for row in rows:
        print(f"  {row['case']:<26} {row['method']:<26} {_fmt_s(row.get('median_s'))}",
              file=sys.stderr)
    return rows


COURSE_STUDENTS = 40


def course_config(folder: Path, students: int) -> Path:
    """The shipped lab course with a generated roster of ``students`` rows and a salt file;
    its config."""
    folder.mkdir(parents=True, exist_ok=True)
    roster = "id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(1, students + 1))
    (folder / "roster.csv").write_text(roster, encoding="utf-8")
    # the course's secret (``reportgen init`` writes a random one); fixed, so runs compare
    (folder / ".salt").write_text("bench-salt-" + "0" * 32 + "\n", encoding="utf-8")
    text = (ROOT / "reports" / "lab-course.toml").read_text(encoding="utf-8")
    config = folder / "course.toml"
    config.write_text(re.sub(r'^roster = "[^"]*"', 'roster = "roster.csv"', text, flags=re.M),
                      encoding="utf-8")
    return config


def bench_course(work: Path, repeats: int) -> list[dict[str, Any]]:
    """A course: student and instructor copies for a 40-row roster (one batch run makes both
    trees, from a cold cache), per variant, against one cold build."""
    reportgen = [sys.executable, "-m", "reportgen"]
    config = course_config(work / "course-source", COURSE_STUDENTS)
    variants = 2 * COURSE_STUDENTS

    def single(index: int) -> list[Step]:
        return [([*reportgen, "build", "--quiet", "--out", str(work / f"course-one-{index}")],
                 cold_env(fresh_cache(work, "cold")))]

    def course(index: int) -> list[Step]:
        return [([*reportgen, "batch", str(config), "--quiet", "--jobs", "2", "--out",
                  str(work / f"course-{index}")], cold_env(fresh_cache(work, "course-cache")))]

    found = interleaved({"one cold build": single, "course": course}, repeats)
    case = f"course: {COURSE_STUDENTS} students x 2 copies (HTML + PDF)"
    cold, whole = found["one cold build"], found["course"]
    cold.update(group="course", case=case, method="one cold build")
    whole.update(group="course", case=case,
                 method="reportgen batch --jobs 2 (students/ and instructor/)")
    per = {key: whole[key] / variants for key in ("median_s", "first_s")}
    per_variant: dict[str, Any] = {"group": "course", "case": case,
                                   "method": f"per variant (1/{variants} of the course)",
                                   "repeats": repeats, **per}
    if cold.get("median_s"):
        per_variant["note"] = (f"{per['median_s'] / cold['median_s']:.3f}x one cold build "
                               f"(goal <= 0.25x)")
    if "error" in whole:
        per_variant["error"] = whole["error"]
    rows = [cold, whole, per_variant]
    for row in rows:
        print(f"  {row['method']:<52} {_fmt_s(row.get('median_s'))}", file=sys.stderr)
    return rows


def bench_pdf(work: Path, repeats: int) -> list[dict[str, Any]]:
    """The PDF stage of the default handout by part, and WeasyPrint's own floor: the same
    pages laid out once and written, and an empty page with the same stylesheets
    (``pdf_stages.py``, in a fresh process)."""
    folder = work / "pdf-html"
    env = cold_env(fresh_cache(work, "pdf-cache"))
    subprocess.run([sys.executable, "-m", "reportgen", "build", "--quiet", "--format", "html",
                    "--out", str(folder)], env=env, cwd=ROOT, check=True)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pdf_stages.py"),
                           str(folder), str(repeats)], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    found = next((json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines()
                  if line.startswith("PDF-STAGES ")), None)
    case = "default handout, PDF stage"
    if found is None:
        return [{"group": "pdf", "case": case, "method": "render_pdf",
                 "error": (done.stderr or done.stdout).strip().splitlines()[-1:]}]
    ours, floor = found["ours"], found["floor"]

    def row(method: str, clock: list[float], note: str = "", **extra: Any) -> dict[str, Any]:
        return {"group": "pdf", "case": case, "method": method, "median_s": clock[0],
                "cpu_s": clock[1], "repeats": extra.pop("repeats", repeats),
                "note": note + (f"; CPU {clock[1]:.2f} s" if note else f"CPU {clock[1]:.2f} s"),
                **extra}

    parts = [key for key in ours if key.startswith("layout")] + ["write_pdf"]
    rows = [row("render_pdf, first in its process", found["first"]["total"], repeats=1,
                note="what a build pays"),
            row("render_pdf (stages below)", ours["total"],
                f"{ours['total'][1] / floor[1]:.2f}x WeasyPrint's floor for these pages in "
                f"CPU (goal <= 1.2x)")]
    for key in ["parse", *parts, "reportgen"]:
        label = {"parse": "  HTML parsing", "write_pdf": "  write_pdf",
                 "reportgen": "  reportgen's own (placement, names, SVG rewrite)"}.get(
            key, f"  {key}")
        note = f"of which SVG drawing {ours['svg'][0]:.2f} s" if key == "write_pdf" else ""
        rows.append(row(label, ours[key], note))
    rows += [row("WeasyPrint floor: these pages laid out once and written", floor),
             row("WeasyPrint floor: an empty page, the same stylesheets", found["empty"]),
             row("import weasyprint", found["import"], repeats=1)]
    for item in rows:
        print(f"  {item['method']:<56} {_fmt_s(item.get('median_s'))}", file=sys.stderr)
    return rows


def bench_authoring(work: Path, repeats: int) -> list[dict[str, Any]]:
    """Cold build stages, a title-only rebuild, and watch's edit-to-HTML latency."""
    build = [sys.executable, "-m", "reportgen", "build", "--out", str(work / "author")]
    cold_times, rebuild_times, stage_runs = [], [], []
    for index in range(repeats):
        env = cold_env(fresh_cache(work, "author-cache"))
        start = time.perf_counter()
        stage_runs.append(stage_seconds(build, env))
        cold_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        stage_seconds([*build, "--set", f'title="Edited title {index}"'], env)
        rebuild_times.append(time.perf_counter() - start)
    cold, rebuild = statistics.median(cold_times), statistics.median(rebuild_times)
    stages = {name: statistics.median(run.get(name, 0.0) for run in stage_runs)
              for name in stage_runs[0]}
    rows: list[dict[str, Any]] = [
        {"group": "authoring", "case": "default handout", "method": "cold build (stages below)",
         "median_s": cold, "first_s": cold_times[0], "repeats": repeats,
         "note": ", ".join(f"{k} {v:.2f} s" for k, v in stages.items())},
        {"group": "authoring", "case": "default handout", "method": "title-only rebuild",
         "median_s": rebuild, "first_s": rebuild_times[0], "repeats": repeats,
         "note": f"{rebuild / cold:.2f}x the cold build (goal <= 0.35x)"},
    ]
    latency = watch_latency(work, repeats)
    rows.append({"group": "authoring", "case": "default handout",
                 "method": "watch: edited title to HTML", "median_s": latency,
                 "repeats": repeats, "note": "goal <= 1 s"})
    for row in rows:
        print(f"  {row['method']:<28} {_fmt_s(row.get('median_s'))}", file=sys.stderr)
    return rows


def watch_latency(work: Path, edits: int) -> float:
    """Median seconds from saving an edited title to an index.html that shows it."""
    folder = fresh_cache(work, "watch")
    config = folder / "handout.toml"
    config.write_text((ROOT / "reports" / "source-notebook.toml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    html = folder / "out" / "index.html"
    env = cold_env(fresh_cache(work, "watch-cache"))
    process = subprocess.Popen([sys.executable, "-m", "reportgen", "watch", str(config),
                                "--out", str(folder / "out")], env=env, cwd=ROOT,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    latencies = []
    try:
        assert process.stderr is not None
        while "rebuilt" not in process.stderr.readline():
            pass
        for index in range(edits):
            time.sleep(0.5)
            text = re.sub(r'^title = ".*"$', f'title = "Watched {index}"',
                          config.read_text(encoding="utf-8"), flags=re.M)
            start = time.perf_counter()
            config.write_text(text, encoding="utf-8")
            while f"Watched {index}" not in _read(html):
                time.sleep(0.005)
            latencies.append(time.perf_counter() - start)
            process.stderr.readline()
    finally:
        process.terminate()
        process.wait(30)
    return statistics.median(latencies)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _cold_rows(argv: list[str] | Callable[[int], list[str]],
               cold: Callable[[str], dict[str, str]], repeats: int) -> dict[str, Any]:
    """Run a command ``repeats`` times, each with empty caches (``argv(i)``: the i-th run's)."""
    def command(index: int) -> list[str]:
        return argv(index) if callable(argv) else argv

    results = [run_command(command(index), cold("cold"), 1) for index in range(repeats)]
    times = [r["median_s"] for r in results]
    row = {"median_s": statistics.median(times), "first_s": times[0], "repeats": repeats,
           "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        row["error"] = errors[0]
    return row


Step = tuple[list[str], dict[str, str]]  # one command and its environment


def interleaved(runs: dict[str, Callable[[int], list[Step]]],
                repeats: int) -> dict[str, dict[str, Any]]:
    """Each of ``runs`` ``repeats`` times, interleaved: repeat ``i`` runs every one once (in
    reverse order every other repeat). ``runs[name](i)`` gives the commands of its ``i``-th
    run, timed together; a row per name: median wall time, the largest peak RSS."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    peaks: dict[str, list[float]] = {name: [] for name in runs}
    errors: dict[str, list[str]] = {}
    names = list(runs)
    for index in range(repeats):
        for name in names if index % 2 == 0 else names[::-1]:
            total = 0.0
            for argv, env in runs[name](index):
                result = run_command(argv, env, 1)
                total += result["median_s"]
                peaks[name].append(result["peak_rss_mb"])
                if "error" in result:
                    errors.setdefault(name, result["error"])
            times[name].append(total)
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        rows[name] = {"median_s": statistics.median(times[name]), "first_s": times[name][0],
                      "repeats": repeats, "peak_rss_mb": max(peaks[name], default=0.0)}
        if name in errors:
            rows[name]["error"] = errors[name]
    return rows


# ---------------------------------------------------------------- report


TARGETS = {
    ("surface", 100, 100): "exact and stats >= 100x loop",
    ("surface", 1000, 100): "exact >= 100x loop and >= 10x numpy",
    ("surface", 1000, 1_000_000): "stats <= 20 ms, |stats - exact| <= 1e-9",
    ("sweep",): "vmap >= 50x loop",
    ("cli", "n=1e6, resolution 1000"): "<= 10 s and <= 2 GB peak",
}


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Speed-ups against the baselines of the same case: loop, numpy, the loop of runs."""
    by_case: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_case.setdefault((row["group"], row["case"]), {})[row["method"]] = row
    for (group, _case), methods in by_case.items():
        baselines = {"surface": ["loop", "numpy"], "sweep": ["runs-loop"],
                     "cli": ["nbconvert --execute"], "cache": [], "batch": [],
                     "course": [], "authoring": [], "pdf": []}[group]
        for row in methods.values():
            if row["method"] == "loop":
                continue
            for base in baselines:
                other = methods.get(base)
                if other is None or other is row or not row.get("median_s"):
                    continue
                if other.get("median_s"):
                    key = {"runs-loop": "loop", "nbconvert --execute": "nbconvert"}.get(base, base)
                    row[f"x_vs_{key}"] = other["median_s"] / row["median_s"]


def markdown(rows: list[dict[str, Any]], idle_mb: float | None) -> str:
    lines = [
        "| case | method | median | first call | runs | peak RSS | vs loop | vs numpy "
        "| max abs diff vs exact | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio_loop = row.get("x_vs_loop") or row.get("x_vs_nbconvert")
        diff = row.get("max_abs_diff_vs_exact")
        if diff is None and row.get("max_abs_diff_vs_loop") is not None:
            diff_text = f"{row['max_abs_diff_vs_loop']:.1e} (vs loop)"
        else:
            diff_text = "" if diff is None else f"{diff:.1e}"
        note = row.get("subset", "") or row.get("note", "")
        if row.get("equal_to_loop") is not None:
            note = "bitwise equal to the loop" if row["equal_to_loop"] else "differs from loop"
        if "error" in row:
            note = "error: " + " ".join(row["error"])
        estimated = " (est.)" if row.get("estimated") else ""
        lines.append(
            f"| {row['case']} | {METHOD_NAMES.get(row['method'], row['method'])} "
            f"| {_fmt_s(row.get('median_s'))}{estimated} | {_fmt_s(row.get('first_s'))} "
            f"| {row.get('repeats', '')} | {_fmt_mb(row.get('peak_rss_mb'))} "
            f"| {_fmt_x(ratio_loop)} | {_fmt_x(row.get('x_vs_numpy'))} | {diff_text} | {note} |"
        )
    if idle_mb is not None:
        lines.append("")
        lines.append(f"Peak RSS includes the interpreter: python + jax + reportgen alone "
                     f"take {idle_mb:.0f} MB.")
    return "\n".join(lines)


def _find(rows: list[dict[str, Any]], group: str, method: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["group"] == group and r["method"] == method
                 and "error" not in r), None)


#: Issue 24's rows: (what, (group, method) measured, (group, method) it is compared with,
#: the goal as the largest ratio, the value's key).
GOALS = [
    ("cold build, HTML + PDF, vs the notebook to HTML (nbconvert) and PDF (Chromium)",
     ("cli", "reportgen build"), ("cli", "notebook to PDF"), 0.7, "median_s"),
    ("cold build, HTML only, vs nbconvert --execute --to html",
     ("cli", "reportgen build (html)"), ("cli", "nbconvert --execute"), 0.6, "median_s"),
    ("title-only rebuild vs cold build",
     ("authoring", "title-only rebuild"), ("authoring", "cold build (stages below)"), 0.35,
     "median_s"),
    ("12 variants (--jobs 2) vs one cold build",
     ("batch", "reportgen batch --jobs 2"), ("batch", "one cold build"), 4.0, "median_s"),
    (f"course of {COURSE_STUDENTS} students, both copies: per variant vs one cold build",
     ("course", f"per variant (1/{2 * COURSE_STUDENTS} of the course)"),
     ("course", "one cold build"), 0.25, "median_s"),
    ("PDF stage vs WeasyPrint alone on these pages (CPU)",
     ("pdf", "render_pdf (stages below)"),
     ("pdf", "WeasyPrint floor: these pages laid out once and written"), 1.2, "cpu_s"),
]


def goals(rows: list[dict[str, Any]]) -> str:
    """Issue 24's table: each goal's ratio from rows of this run (blank where not run)."""
    lines = ["| goal (issue 24) | reportgen | anchor | ratio | goal | met |",
             "|---|---:|---:|---:|---:|---|"]
    for label, (group, method), (base_group, base_method), limit, key in GOALS:
        row, base = _find(rows, group, method), _find(rows, base_group, base_method)
        if row is None or base is None or not row.get(key) or not base.get(key):
            lines.append(f"| {label} | | | | <= {limit:g}x | not run |")
            continue
        ratio = row[key] / base[key]
        lines.append(f"| {label} | {_fmt_s(row[key])} | {_fmt_s(base[key])} | {ratio:.2f}x "
                     f"| <= {limit:g}x | {'yes' if ratio <= limit else 'no'} |")
    watch = _find(rows, "authoring", "watch: edited title to HTML")
    lines.append(f"| watch: edited title to updated HTML | {_fmt_s((watch or {}).get('median_s'))}"
                 f" | | | <= 1 s | "
                 f"{'not run' if watch is None else 'yes' if watch['median_s'] <= 1 else 'no'} |")
    empty = _find(rows, "pdf", "WeasyPrint floor: an empty page, the same stylesheets")
    if empty is not None:
        lines.append(f"| WeasyPrint on an empty page, the same stylesheets (the floor) "
                     f"| {_fmt_s(empty['median_s'])} | | | | |")
    return "\n".join(lines)


def _fmt_s(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def _fmt_mb(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} MB"


def _fmt_x(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}x" if value >= 10 else f"{value:.1f}x"


def machine() -> dict[str, Any]:
    import jax

    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()], "load_average": os.getloadavg()}


#: The groups of rows, in the order they run (``--only`` picks some).
GROUPS = ("surface", "sweep", "cli", "cache", "batch", "course", "authoring", "pdf")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="small cases and one repeat of the commands (a smoke test)")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help="comma-separated groups: " + ", ".join(GROUPS))
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds a baseline may take before it is timed on a subset")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command row")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child)
        return 0
    groups = {g.strip() for g in args.only.split(",")}
    if groups - set(GROUPS):
        parser.error(f"--only: unknown group(s) {sorted(groups - set(GROUPS))}; "
                     f"expected some of {', '.join(GROUPS)}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        work = Path(tmp)
        idle = run_child({"kind": "idle"}).get("peak_rss_mb")
        budget = min(args.budget, 5.0) if args.quick else args.budget
        if "surface" in groups:
            rows += bench_surface(work, budget, args.quick)
        if "sweep" in groups:
            rows += bench_sweep(work, min(budget, 10.0))
        if "cli" in groups:
            rows += bench_cli(work, 1 if args.quick else args.repeats)
        if "cache" in groups:
            rows += bench_cache(work, 1 if args.quick else args.repeats)
        if "batch" in groups:
            rows += bench_batch(work, 1 if args.quick else args.repeats)
        if "course" in groups:
            rows += bench_course(work, 1 if args.quick else args.repeats)
        if "authoring" in groups:
            rows += bench_authoring(work, 1 if args.quick else args.repeats)
        if "pdf" in groups:
            rows += bench_pdf(work, 1 if args.quick else args.repeats)
    add_ratios(rows)
    table = markdown(rows, idle) + "\n\n" + goals(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"machine": machine(), "idle_peak_rss_mb": idle, "rows": rows,
              "targets": {" ".join(map(str, k)): v for k, v in TARGETS.items()},
              "table": table}
    (args.out / "bench.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out / 'bench.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
