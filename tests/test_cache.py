"""The compute cache: an entry that is not exactly what reportgen stored is recomputed.

Each entry carries the sha256 of its files. A hand-edited, truncated or malformed entry
must never reach a handout and never give a traceback: it is a miss, and the recomputed
entry replaces it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reportgen import cli, pipeline
from reportgen.config import Config, load
from reportgen.store import cache

#: A small config (about a second of compute) with a surface.npy (resolution above 256).
SMALL = "seed = 3\n[data]\nn = 20\n[surface]\nresolution = 300\n[[runs]]\nepochs = 3\n"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, Path, Path]:
    """The config, its file, and a private cache directory."""
    path = tmp_path / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    return load(str(path)), path, tmp_path / "cache"


def entry_folder(cache_dir: Path, config: Config) -> Path:
    return cache_dir / "results" / pipeline.cache_key(config)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rewrite(folder: Path, name: str, data: bytes, *, fix_digest: bool) -> None:
    """Replace one file of an entry, with or without recording its new sha256."""
    (folder / name).write_bytes(data)
    if fix_digest:
        record = json.loads((folder / cache.ENTRY_FILE).read_text(encoding="utf-8"))
        record["files"][name] = _digest(data)
        (folder / cache.ENTRY_FILE).write_text(json.dumps(record), encoding="utf-8")


def test_a_hand_edited_results_json_is_recomputed_and_replaced(
    setup: tuple[Config, Path, Path], tmp_path: Path
) -> None:
    """Issue 9, item 6: the handout printed an edited ols.loss = 123.456 seven times."""
    config, path, cache_dir = setup
    first = pipeline.compute(config, cache_dir=cache_dir)
    folder = entry_folder(cache_dir, config)
    stored = (folder / cache.RESULTS_FILE).read_bytes()
    edited = json.loads(stored)
    edited["ols"]["loss"] = 123.456
    (folder / cache.RESULTS_FILE).write_text(json.dumps(edited), encoding="utf-8")

    out = tmp_path / "report"
    argv = ["build", str(path), "--format", "html", "--cache-dir", str(cache_dir),
            "--out", str(out), "-q"]
    assert cli.main(argv) == 0

    assert "123.456" not in (out / "index.html").read_text(encoding="utf-8")
    assert json.loads((out / "results.json").read_text())["ols"] == first.results.to_dict()["ols"]
    assert (folder / cache.RESULTS_FILE).read_bytes() == stored  # the entry was replaced
    again = pipeline.compute(config, cache_dir=cache_dir)
    assert again.cached and again.results.to_dict() == first.results.to_dict()


def _truncate(name: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    return damage


def _replace(name: str, data: bytes, *, fix_digest: bool = True) -> Callable[[Path], None]:
    return lambda folder: _rewrite(folder, name, data, fix_digest=fix_digest)


def _list_outside(folder: Path) -> None:
    """An entry that names a file outside its folder (with that file's own sha256)."""
    outside = folder.parent.parent / "outside.npy"
    outside.write_bytes((folder / "surface.npy").read_bytes())
    record = json.loads((folder / cache.ENTRY_FILE).read_text(encoding="utf-8"))
    record["files"]["../../outside.npy"] = _digest(outside.read_bytes())
    (folder / cache.ENTRY_FILE).write_text(json.dumps(record), encoding="utf-8")


def _environment(value: object) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        record = json.loads((folder / cache.ENTRY_FILE).read_text(encoding="utf-8"))
        record["environment"] = value
        (folder / cache.ENTRY_FILE).write_text(json.dumps(record), encoding="utf-8")
    return damage


DAMAGE = {
    "truncated-results": _truncate(cache.RESULTS_FILE),
    "truncated-array": _truncate("surface.npy"),
    "truncated-entry-json": _truncate(cache.ENTRY_FILE),
    "entry-json-a-list": _replace(cache.ENTRY_FILE, b"[]", fix_digest=False),
    "results-missing": lambda folder: (folder / cache.RESULTS_FILE).unlink(),
    # malformed, yet with matching digests (as an older or buggy writer could leave them)
    "results-not-json": _replace(cache.RESULTS_FILE, b'{"schema": "reportgen.res'),
    "results-a-list": _replace(cache.RESULTS_FILE, b"[]"),
    "results-not-reportgens": _replace(cache.RESULTS_FILE, b'{"schema": "other/1"}'),
    "results-not-utf8": _replace(cache.RESULTS_FILE, b'{"schema": "\xff"}'),
    "array-not-npy": _replace("surface.npy", b"not an array"),
    "environment-a-string": _environment("Linux"),
    "environment-pairs": _environment([["jax_backend", "cpu"]]),
    "a-file-outside": _list_outside,
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_entry_is_recomputed_without_a_traceback(
    kind: str, setup: tuple[Config, Path, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A truncated or malformed entry gave a traceback on every later build."""
    config, path, cache_dir = setup
    out = tmp_path / "report"
    argv = ["compute", str(path), "--cache-dir", str(cache_dir), "--out", str(out), "-q"]
    assert cli.main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    folder = entry_folder(cache_dir, config)
    assert sorted(p.name for p in folder.iterdir()) == ["entry.json", "results.json",
                                                        "surface.npy"]
    DAMAGE[kind](folder)

    assert cli.main(argv) == 0
    assert capsys.readouterr().err == ""
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == [".report.lock", "cache", "report",
                                                            "small.toml"]
    # the recomputed entry replaced the damaged one
    hit = cache.load(cache_dir, pipeline.cache_key(config))
    assert hit is not None and hit.results_text == before["results.json"].decode()
    assert sorted(json.loads((folder / cache.ENTRY_FILE).read_text())["files"]) == [
        "results.json", "surface.npy"]


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_entry_is_a_miss(kind: str, setup: tuple[Config, Path, Path]) -> None:
    config, _path, cache_dir = setup
    pipeline.compute(config, cache_dir=cache_dir)
    DAMAGE[kind](entry_folder(cache_dir, config))
    assert cache.load(cache_dir, pipeline.cache_key(config)) is None


@pytest.mark.parametrize("bad", ["../../outside", "", "g" * 64, "A" * 64, "0" * 63,
                                 "0" * 64 + "/x"])
def test_a_key_that_is_not_a_digest_reaches_no_folder(bad: str, tmp_path: Path) -> None:
    """The key names a folder: anything but a sha256 from ``cache.key`` is refused."""
    entry = cache.Entry("{}", {}, {})
    with pytest.raises(ValueError, match="expected a cache key"):
        cache.store(tmp_path / "cache", bad, entry)
    with pytest.raises(ValueError, match="expected a cache key"):
        cache.load(tmp_path / "cache", bad)
    assert list(tmp_path.iterdir()) == []
