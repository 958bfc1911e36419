"""The compute cache keys on what changes the numbers, across processes.

A build in a fresh process must find what another process stored (the key may not depend
on environment variables reportgen itself sets while computing), and a change to how the
handout reads (title, author, paper, run names) must not recompute, while the results it
writes are exactly those of a fresh computation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from reportgen import config, pipeline

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


def test_a_fresh_process_reads_what_another_stored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run_cli("compute", "--out", str(tmp_path / "a"), "-q", cache=cache)
    second = run_cli("compute", "--out", str(tmp_path / "b"), "-q", cache=cache)
    assert first == {"code": 0, "jax": True}
    assert second == {"code": 0, "jax": False}  # a cache hit never imports JAX
    assert (tmp_path / "a" / "results.json").read_bytes() == \
        (tmp_path / "b" / "results.json").read_bytes()


def test_presentation_changes_reuse_the_numbers(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run_cli("compute", "--out", str(tmp_path / "a"), "-q", cache=cache)
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
