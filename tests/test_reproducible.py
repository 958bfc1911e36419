"""Same config, same machine and versions: byte-identical reports from separate processes.

Each single shipped handout is built cold (an empty cache) by the command line in a process of
its own, and compared with the same handout that the test run built in its worker process
(``built_shipped``: another process, another hash seed and working folder, results that
may come from the run's shared cache, the renderer in-process rather than in a helper).
Both compute on the CPU (``--device cpu``: the device asked for is part of config.toml).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cli_process import run_reportgen
from results_fixture import built_shipped

from reportgen import config
from reportgen.shipped import shipped_handouts

pytestmark = pytest.mark.slow


def _hashes(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _build(name: str, out: Path, cache: Path) -> None:
    env = {**os.environ, "REPORTGEN_CACHE_DIR": str(cache)}
    env.pop("SOURCE_DATE_EPOCH", None)  # the build must set it from the config, not inherit it
    run_reportgen("build", name, "--out", out, "--quiet", "--device", "cpu", env=env,
                  timeout=600)


def _single_handouts() -> list[str]:
    """Shipped handouts that are one handout (batches are checked in test_batch)."""
    return [name for name in shipped_handouts()
            if not {"matrix", "students"} & set(config.read_toml(config.resolve_path(name)))]


@pytest.fixture(scope="module")
def first_builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each single shipped handout built once, cold (into an empty cache of its own, which
    the build fills), in its own process; the cache is ``folders["cache"]``."""
    base = tmp_path_factory.mktemp("first")
    folders = {"cache": base / "cache"}
    for name in _single_handouts():
        folders[name] = base / name
        _build(name, folders[name], folders["cache"])
    return folders


@pytest.mark.parametrize("name", _single_handouts())
def test_two_processes_build_identical_bytes(name: str, first_builds: dict[str, Path]) -> None:
    first, second = _hashes(first_builds[name]), _hashes(built_shipped(name))
    del second[".complete"]  # the shared folder's marker (results_fixture.shared_build)
    assert {"index.html", "handout.pdf", "results.json", "manifest.json"} <= set(first)
    assert any(name.startswith("figures/") for name in first)
    differing = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    assert differing == []


def test_a_build_from_the_cache_is_identical(tmp_path: Path,
                                            first_builds: dict[str, Path]) -> None:
    """A second build reads the numbers, the figures and the PDF's figure moves that the cold
    build stored, and writes the same bytes as the cold build."""
    cache = first_builds["cache"]
    assert all(any((cache / kind).iterdir()) for kind in ("results", "figures"))
    _build("source-notebook", tmp_path / "cached", cache)  # reads the cache
    assert _hashes(tmp_path / "cached") == _hashes(first_builds["source-notebook"])


def test_hashed_files_hold_no_host_paths_or_clock(first_builds: dict[str, Path]) -> None:
    out = first_builds["source-notebook"]
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".html", ".toml", ".svg"}:
            text = path.read_text(encoding="utf-8")
            assert str(out.parent) not in text, path
            host = os.uname().nodename
            if len(host) >= 6:
                assert host not in text, path
