"""The compute cache keys on what changes the numbers, across processes.

A build in a fresh process must find what another process stored (the key may not depend
on environment variables reportgen itself sets while computing), and a change to how the
handout reads (title, author, paper, run names) must not recompute, while the results it
writes are exactly those of a fresh computation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reportgen
from reportgen import config, pipeline
from reportgen.store import cache

PROBE = """
import json, sys
from reportgen.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "jax": "jax" in sys.modules}))
"""


def run_cli(*args: str, cache: Path) -> dict:
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache)}
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         check=True, env=env, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One process computed the default config into an empty cache (``a/``): the folder
    holding that cache and ``a``, and what the process said. Later processes only read
    the cache (a hit) or bypass it (``--no-cache``), so the tests share it unchanged."""
    folder = tmp_path_factory.mktemp("stored")
    first = run_cli("compute", "--out", str(folder / "a"), "-q", cache=folder / "cache")
    return folder, first


def test_a_fresh_process_reads_what_another_stored(stored: tuple[Path, dict],
                                                   tmp_path: Path) -> None:
    folder, first = stored
    second = run_cli("compute", "--out", str(tmp_path / "b"), "-q", cache=folder / "cache")
    assert first == {"code": 0, "jax": True}
    assert second == {"code": 0, "jax": False}  # a cache hit never imports JAX
    assert (folder / "a" / "results.json").read_bytes() == \
        (tmp_path / "b" / "results.json").read_bytes()


SEQUENCE = """
import json, os
from reportgen.numerics import runtime
from reportgen.store import cache
key = cache.key("numbers", "cpu")
runtime.configure_jax("auto")  # adds the deterministic-GPU flag for a possible GPU
gpu_flags = os.environ["XLA_FLAGS"]
runtime.configure_jax("cpu")
print(json.dumps([gpu_flags, runtime.environment("cpu", "float64")["xla_flags"],
                  cache.key("numbers", "cpu"), key]))
"""


def _cpu_after_auto(xla_flags: str | None) -> tuple[str, str, str, str]:
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run([sys.executable, "-c", SEQUENCE], capture_output=True, text=True,
                         check=True, env=env, timeout=120).stdout
    gpu_flags, recorded, key_after, key_before = json.loads(out.strip().splitlines()[-1])
    return gpu_flags, recorded, key_after, key_before


def test_a_cpu_computation_after_an_auto_one_keys_and_records_the_users_flags() -> None:
    """One process computing ``auto`` then ``cpu`` (two API builds, or a test run's worker),
    and a child process that inherited the flag the first added: the CPU computations'
    manifests and cache keys hold the user's XLA_FLAGS, never the GPU flag."""
    clean = _cpu_after_auto(None)
    assert "--xla_gpu_deterministic_ops=true" in clean[0]
    assert clean[1] == "" and clean[2] == clean[3]
    inherited = _cpu_after_auto(clean[0])  # a child of the first process
    assert inherited[1] == "" and inherited[2] == inherited[3] == clean[3]
    mine = "--xla_cpu_enable_fast_math=false"
    users = _cpu_after_auto(mine)
    assert users[1] == mine and users[2] == users[3] != clean[3]


def test_presentation_changes_reuse_the_numbers(stored: tuple[Path, dict],
                                                tmp_path: Path) -> None:
    cache = stored[0] / "cache"
    assert stored[1] == {"code": 0, "jax": True}  # the default config's numbers are stored
    changed = ["--set", 'title="Another title"', "--set", 'author="Someone"', "--set",
               'paper="letter"', "--set", 'runs.1.name="Stochastic mini-batches"']
    hit = run_cli("compute", "--out", str(tmp_path / "b"), "-q", *changed, cache=cache)
    assert hit == {"code": 0, "jax": False}
    fresh = run_cli("compute", "--out", str(tmp_path / "c"), "-q", "--no-cache", *changed,
                    cache=cache)
    assert fresh["jax"] is True
    assert (tmp_path / "b" / "results.json").read_bytes() == \
        (tmp_path / "c" / "results.json").read_bytes()
    results = json.loads((tmp_path / "b" / "results.json").read_text())
    assert results["config"]["title"] == "Another title"
    assert results["runs"][1]["name"] == "Stochastic mini-batches"


def test_numbers_digest_ignores_presentation_only() -> None:
    base = config.load("source-notebook")
    same = config.load("source-notebook", {"title": "x", "author": "y", "paper": "letter",
                                           "runs.0.name": "z", "date": "2027-02-03"})
    other = config.load("source-notebook", {"runs.0.learning_rate": 0.2})
    assert same.numbers_digest() == base.numbers_digest() != other.numbers_digest()
    assert same.digest() != base.digest()


def test_restamped_results_equal_a_fresh_compute(tmp_path: Path) -> None:
    renamed = config.load("source-notebook", {"title": "Renamed", "runs.0.name": "GD"})
    pipeline.compute(config.load("source-notebook"), cache_dir=tmp_path)
    cached = pipeline.compute(renamed, cache_dir=tmp_path)
    assert cached.cached
    fresh = pipeline.compute(renamed, use_cache=False).results
    assert cached.results.to_dict() == fresh.to_dict()


DIGEST = """
from reportgen.store import cache
print(cache.__file__)
print(cache.code_digest())
"""


def _code_digest(root: Path) -> str:
    """``cache.code_digest()`` in a fresh process that imports reportgen from ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", DIGEST], capture_output=True, text=True,
                         check=True, env=env, cwd=root, timeout=120).stdout.split()
    assert Path(out[0]).is_relative_to(root)  # the copy was imported, not the checkout
    return out[1]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_code_digest_follows_the_numbers_not_the_words(tmp_path: Path) -> None:
    """Rewording a message or changing the TOML reader or writer keeps every cached
    result; a change to a default or to the compute code does not."""
    package = tmp_path / "reportgen"
    shutil.copytree(Path(reportgen.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    original = cache.code_digest()  # the checkout's: the copy's, until it is edited

    _edit(package / "config" / "messages.py", ": unknown key", ": not a known key")
    _edit(package / "config" / "validation.py", "MAX_LINES = 5", "MAX_LINES = 6")
    _edit(package / "config" / "shape.py", "line {self.line}: expected a dotted",
          "line {self.line}: expected a shorter dotted")
    _edit(package / "config" / "writer.py", '"true" if value else "false"',
          '"false" if not value else "true"')
    assert _code_digest(tmp_path) == original

    _edit(package / "config" / "sections.py", "learning_rate: Finite = Field(0.1,",
          "learning_rate: Finite = Field(0.2,")
    changed_default = _code_digest(tmp_path)
    assert changed_default != original

    _edit(package / "numerics" / "model.py", '"""The linear model', '"""The line')
    assert _code_digest(tmp_path) not in (original, changed_default)
