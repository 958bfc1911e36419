"""GPU check of reportgen's compute (no rendering): agreement with the CPU and speed.

    python3 benchmarks/gpu_check.py            # on the GPU node, from the repo root
    python3 benchmarks/gpu_check.py --small    # anywhere: small sizes, CPU only if no GPU

It imports only the compute modules (config, experiment, surface, optimize, model), which
need jax, optax, numpy and pydantic. The lent H100 image has no pydantic: carry it as
wheels (see the message printed when it is missing).

Checks, each against its goal from issue 5:
1. the default handout computed on CPU and GPU, in float64 and float32: the largest
   normwise relative difference of any array in results (goal <= 1e-12 and <= 1e-5);
2. the exact loss grid 4096^2 x 10^4 in float32: its time and FLOP/s as a share of the
   H100 SXM's FP32 peak, for ``exact_grid`` (row identity, O(G n + G^2)) and for the
   brute-force ``direct_grid`` (O(G^2 n), the formulation the ~27% was measured on);
3. the learning-rate sweep, 1024 rates x 1000 steps on n = 10^4 (goal <= 20 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: H100 SXM dense FP32 (non-tensor) peak, FLOP/s.
H100_FP32_PEAK = 67e12
PYDANTIC_HELP = """\
reportgen's config needs pydantic, which this machine lacks. On a machine with pip, in the
repo root:
  echo /.whl/ >> .git/info/exclude
  python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
    --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \\
    -d .whl pydantic pydantic-core annotated-types typing-inspection
(pydantic and its needs: pin pydantic-core to the version pydantic's METADATA names).
Then carry .whl and begin the command with:
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PYTHONPATH || exit;"""


def require_pydantic() -> None:
    try:
        import pydantic  # noqa: F401
    except ModuleNotFoundError:
        print(PYDANTIC_HELP, file=sys.stderr)
        raise SystemExit(3) from None


def timeit(fn: Callable[[], Any], repeats: int = 7) -> tuple[float, float]:
    """(first call, median of ``repeats`` later calls), in seconds; fn must block."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return first, statistics.median(samples)


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Numeric arrays and numbers in the typed results (all but the config), by path."""
    import dataclasses

    import numpy as np

    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            if field.name != "config":
                item = getattr(value, field.name)
                yield from leaves(item, f"{path}.{field.name}" if path else field.name)
    elif isinstance(value, tuple) and value and all(dataclasses.is_dataclass(v) for v in value):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    elif isinstance(value, bool | str) or value is None:
        return
    else:  # arrays, numbers, tuples of flags or steps (None reads as NaN)
        yield path, np.asarray(value, dtype=float)


def max_relative_difference(a: Any, b: Any) -> tuple[float, str]:
    """The largest normwise relative difference max|a - b| / max|a| over all arrays."""
    import numpy as np

    worst, where = 0.0, ""
    other = dict(leaves(b))
    for path, left in leaves(a):
        right = other.get(path)
        if right is None or right.shape != left.shape or left.size == 0:
            continue
        finite = np.isfinite(left) & np.isfinite(right)
        if not finite.any():
            continue
        scale = float(np.max(np.abs(left[finite]))) or 1.0
        diff = float(np.max(np.abs(left[finite] - right[finite]))) / scale
        if diff > worst:
            worst, where = diff, path
    return worst, where


def check_agreement(has_gpu: bool, small: bool) -> list[tuple[str, str, str, str]]:
    from reportgen import config
    from reportgen.numerics import experiment

    rows = []
    handout = ROOT / "reports" / "source-notebook.toml"
    for precision, goal in (("float64", 1e-12), ("float32", 1e-5)):
        sets = [f'precision="{precision}"']
        if small:
            sets.append("surface.resolution=64")
        cpu, _ = experiment.compute(config.load(handout, [*sets, 'device="cpu"']))
        if not has_gpu:
            rows.append((f"default handout {precision}", "CPU vs GPU", "no GPU: skipped",
                         f"<= {goal:g}"))
            continue
        gpu, _ = experiment.compute(config.load(handout, [*sets, 'device="gpu"']))
        diff, where = max_relative_difference(cpu, gpu)
        verdict = "met" if diff <= goal else "missed"
        rows.append((f"default handout {precision}", "max rel. diff CPU vs GPU",
                     f"{diff:.1e} ({where})", f"<= {goal:g}: {verdict}"))
    return rows


def check_grid(device: Any, small: bool) -> list[tuple[str, str, str, str]]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from reportgen.numerics import surface

    size, n = (256, 1000) if small else (4096, 10_000)
    rng = np.random.RandomState(0)
    x_np = 2 * rng.rand(n)
    y_np = 4 + 3 * x_np + rng.randn(n)
    put = lambda a: jax.device_put(jnp.asarray(a, jnp.float32), device)  # noqa: E731
    x, y = put(x_np), put(y_np)
    theta = put(np.linspace(-10, 10, size))
    platform = device.platform
    # The shipped chunks, and one chunk for all: on a GPU XLA fuses the residuals into the
    # reduction, so the unchunked nested vmap (the ~27% measurement) materialises nothing.
    # On a CPU the direct grid keeps its memory-bounded chunks.
    batches = {
        "exact": surface.row_chunk(n, size, platform),
        "exact, one chunk": size,
        "direct": size * size if platform == "gpu" else surface.chunk_size(n, size * size),
    }

    def grid_fn(name: str) -> Callable[[], Any]:
        kernel = surface.direct_grid if name == "direct" else surface.exact_grid
        return lambda: kernel(theta, theta, x, y, batch=batches[name]).block_until_ready()

    rows = []
    grids = {}
    peak = H100_FP32_PEAK if platform == "gpu" else None
    # FLOPs actually done: exact 5 per (row, sample) [fma, fma, add] + ~6 per point;
    # direct 5 per (point, sample): t0 + t1 x (fma), y - that (sub), acc + r^2 (fma).
    exact_flops = 5.0 * size * n + 6.0 * size * size
    flops = {"exact": exact_flops, "exact, one chunk": exact_flops,
             "direct": 5.0 * size * size * n}
    for name in batches:
        fn = grid_fn(name)
        first, median = timeit(fn, repeats=5)
        grids[name] = np.asarray(fn(), dtype=np.float64)
        rate = flops[name] / median
        share = f", {rate / peak:.1%} of FP32 peak" if peak else ""
        equivalent = 5.0 * size * size * n / median
        note = (f"{rate / 1e9:,.1f} GFLOP/s done{share}; "
                f"{equivalent / 1e9:,.0f} GFLOP/s direct-equivalent")
        rows.append((f"{name} grid {size}^2 x {n:.0e} f32 on {platform}, batch {batches[name]}",
                     f"{median * 1e3:.2f} ms (first {first:.2f} s)", note,
                     "direct >= 50% of peak" if name == "direct" else "time"))
    x64, y64 = jnp.asarray(x_np), jnp.asarray(y_np)
    reference = np.asarray(surface.exact(np.linspace(-10, 10, size), np.linspace(-10, 10, size),
                                         x64, y64))
    for name, grid in grids.items():
        rel = float(np.max(np.abs(grid - reference)) / np.max(np.abs(reference)))
        rows.append((f"{name} grid f32 vs f64", "max rel. diff", f"{rel:.1e}", "<= 1e-5"))
    return rows


def check_sweep(device: Any, small: bool) -> list[tuple[str, str, str, str]]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from reportgen.numerics import optimize

    rates_count, steps, n = (64, 100, 1000) if small else (1024, 1000, 10_000)
    rng = np.random.RandomState(0)
    x_np = 2 * rng.rand(n)
    rows = []
    for dtype in (jnp.float64, jnp.float32):
        put = lambda a, d=dtype: jax.device_put(jnp.asarray(a, d), device)  # noqa: E731
        x, y = put(x_np), put(4 + 3 * x_np + rng.randn(n))
        rates, init = put(np.geomspace(1e-3, 1.0, rates_count)), put(np.zeros(2))

        def run(rates: Any = rates, init: Any = init, x: Any = x, y: Any = y) -> Any:
            return jax.block_until_ready(optimize.sweep(rates, init, x, y, steps=steps))

        first, median = timeit(run)
        verdict = "met" if median <= 0.020 else "missed"
        rows.append((f"sweep {rates_count} x {steps}, n={n:.0e}, {jnp.dtype(dtype).name}",
                     f"{median * 1e3:.2f} ms (first {first:.2f} s)",
                     f"on {device.platform}", f"<= 20 ms: {verdict}"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="small sizes that run in seconds on a CPU (a smoke test)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    require_pydantic()
    import jax

    from reportgen.numerics import runtime

    runtime.configure_jax()  # float64 and the highest matmul precision, before any array

    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    device = gpus[0] if gpus else jax.devices("cpu")[0]
    print(f"jax {jax.__version__}, device: {device.device_kind} ({device.platform})",
          file=sys.stderr)
    if not gpus and not args.small:
        print("no GPU visible: run with --small for a CPU smoke test", file=sys.stderr)
        return 2
    rows = check_agreement(bool(gpus), args.small)
    rows += check_grid(device, args.small)
    rows += check_sweep(device, args.small)
    print("| check | measure | value | goal |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
