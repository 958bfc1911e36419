"""Fuzzing the command line: whatever TOML and --set values it gets, it exits 0 or 2.

Documents are built as dicts that mix valid and invalid keys and values, then written as
TOML; others are random text. Valid values are kept small (n <= 50, epochs <= 5,
resolution <= 8) so that the configs that do validate compute in well under a second;
invalid ones fail in validation before JAX is touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import math
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen import cli, config

FUZZ = settings(
    settings.get_profile("ci"), max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ---------------------------------------------------------------- values

SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, 1e-300]

finite = st.floats(-100.0, 100.0, allow_nan=False)
#: Text a title or name may hold (control characters are refused, so they are junk here).
printable = st.characters(exclude_categories=("Cc", "Cs"))
positive = st.floats(1e-4, 10.0)
junk = st.one_of(
    st.text(max_size=8),
    st.booleans(),
    st.sampled_from(SPECIAL_FLOATS),
    st.integers(-(2**70), 2**70),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dates(),
    st.dictionaries(st.sampled_from(["a", "n", "x"]), st.integers(0, 3), max_size=2),
)


def field(valid: st.SearchStrategy[Any], mixed: bool) -> st.SearchStrategy[Any]:
    """A valid value; when ``mixed``, sometimes anything at all."""
    return st.one_of(valid, valid, valid, junk) if mixed else valid


def count(low: int, high: int, mixed: bool) -> st.SearchStrategy[Any]:
    """A small count, or one of the ways a count goes wrong (never a large valid one).

    Valid counts come from three values so that JAX compiles few distinct shapes.
    """
    valid = st.sampled_from(sorted({low, (low + high) // 2, high}))
    if not mixed:
        return valid
    wrong = st.sampled_from([0, -1, float(high), 2.5, "3", math.nan, 10**12, True])
    return st.one_of(valid, valid, wrong)


pair = st.tuples(finite, finite).map(list)
increasing = st.tuples(finite, st.floats(0.01, 50.0)).map(lambda p: [p[0], p[0] + p[1]])


def table(fields: dict[str, st.SearchStrategy[Any]], mixed: bool) -> st.SearchStrategy[dict]:
    """Any subset of ``fields``; when ``mixed``, sometimes with a misspelt or unknown key."""
    chosen = st.fixed_dictionaries({}, optional=fields)
    if not mixed:
        return chosen
    extra = st.dictionaries(
        st.sampled_from([*(k + "s" for k in fields), *(k[:-1] for k in fields), "zzz"]),
        junk, max_size=1,
    )
    return st.tuples(chosen, st.one_of(st.just({}), st.just({}), extra)).map(
        lambda parts: {**parts[0], **parts[1]}
    )


def configs(mixed: bool) -> st.SearchStrategy[dict[str, Any]]:
    """Config documents as dicts: all valid, or (``mixed``) with invalid keys and values."""
    def f(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return field(valid, mixed)

    def c(low: int, high: int) -> st.SearchStrategy[Any]:
        return count(low, high, mixed)

    data = table({
        "n": c(2, 50),
        "theta": f(pair),
        "x_range": f(increasing),
        "noise": f(st.floats(0.0, 5.0)),
        "rng": f(st.sampled_from(["numpy-legacy", "jax"])),
    }, mixed)
    surface = table({
        "theta0": f(increasing),
        "theta1": f(increasing),
        "resolution": c(2, 8),
        "method": f(st.sampled_from(["auto", "exact", "stats"])),
    }, mixed)
    run = table({
        "name": f(st.text(printable, max_size=12)),
        "optimizer": f(st.sampled_from(["gd", "momentum", "nesterov", "adam", "rmsprop"])),
        "learning_rate": f(st.one_of(positive, st.sampled_from([1.0, 50.0]))),
        "epochs": c(1, 5),
        # at most the smallest valid n, so that a valid document stays valid
        "batch_size": c(1, 2),
        "init": f(st.one_of(st.just("random"), pair)),
        "momentum": f(st.floats(0.0, 0.99)),
        "b1": f(st.floats(0.0, 0.99)),
        "b2": f(st.floats(0.0, 0.999)),
        "decay": f(st.floats(0.0, 0.99)),
        "eps": f(st.floats(1e-10, 1e-2)),
    }, mixed)
    rates = st.lists(positive, min_size=1, max_size=4)
    settings = table({"num": c(2, 6), "epochs": c(1, 5), "init": f(pair)}, mixed)
    sweep = st.one_of(
        st.tuples(settings, f(rates)).map(lambda t: {**t[0], "rates": t[1]}),
        st.tuples(settings, f(positive)).map(
            lambda t: {**t[0], "min_rate": t[1], "max_rate": 20.0}),
    )
    return table({
        "title": f(st.text(printable, max_size=20)),
        "author": f(st.text(printable, max_size=10)),
        "date": f(st.dates(dt.date(1970, 1, 2), dt.date(2100, 1, 1))),
        "seed": c(0, 5),
        "precision": f(st.sampled_from(["float64", "float32"])),
        "device": f(st.sampled_from(["auto", "cpu"])),
        "paper": f(st.sampled_from(["a4", "letter"])),
        "data": f(data),
        "surface": f(surface),
        "runs": f(st.lists(run, min_size=0 if mixed else 1, max_size=3)),
        "sweep": f(sweep),
    }, mixed)


# ---------------------------------------------------------------- TOML


def toml_value(value: Any) -> str:
    """``value`` as a TOML literal; tables and arrays inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(type(value))


def toml_string(text: str) -> str:
    """A TOML basic string (json.dumps would write surrogate pairs, which TOML refuses)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in escaped
    ) + '"'


def to_toml(document: dict[str, Any]) -> str:
    return "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in
                   document.items())


documents = st.one_of(
    configs(mixed=False).map(to_toml),
    configs(mixed=True).map(to_toml),
    configs(mixed=True).map(to_toml),
    st.text(max_size=200),
    st.text(alphabet='[]=".,{}\n abcdnr0123', max_size=80),
)

SET_KEYS = [
    "seed", "title", "precision", "data.n", "data.noise", "data.theta", "data.x_range",
    "surface.resolution", "surface.theta0", "runs.0.learning_rate", "runs.0.epochs",
    "runs.0.batch_size", "runs.0.init", "runs.1.optimizer", "runs.5.epochs", "runs",
    "sweep.num", "foo", "data.n.x", "runs.x.epochs", "",
]
SET_VALUES = [
    "1", "0", "-1", "2.5", "nan", "inf", "abc", "", "[1.0, 2.0]", "[]", '"jax"', "true",
    "{n = 3}", "[1.0,", "999999999999999999999", '"random"', "adam",
]
overrides = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(SET_KEYS), st.sampled_from(SET_VALUES)).map("=".join),
        st.text(max_size=20),
    ),
    max_size=3,
)


# ---------------------------------------------------------------- the property


@pytest.fixture(autouse=True, scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One cache for the module: JAX's compilation cache is set once per process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTGEN_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz-cache")))
        yield


def run_cli(document: str, sets: list[str]) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "fuzz.toml"
        config.write_text(document, encoding="utf-8", errors="surrogatepass")
        argv = ["compute", str(config), "--out", str(Path(tmp) / "out"), "--quiet",
                *(f"--set={text}" for text in sets)]
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = cli.main(argv)
        if code == 0:
            assert (Path(tmp) / "out" / "results.json").is_file()
    return code, err.getvalue()


@FUZZ
@given(document=documents, sets=overrides)
def test_cli_exits_0_or_2_and_never_tracebacks(document: str, sets: list[str]) -> None:
    code, err = run_cli(document, sets)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert 1 <= len(lines) <= 5, err
        assert all(line.startswith("reportgen: error: ") for line in lines), err


@FUZZ
@given(document=configs(mixed=False).map(to_toml))
def test_valid_configs_compute(document: str) -> None:
    """Every config built from valid values alone computes, diverging runs included."""
    code, err = run_cli(document, [])
    assert code == 0, err
    assert err == ""


@FUZZ
@given(document=configs(mixed=False))
def test_the_config_a_report_embeds_reads_back_the_same(document: dict[str, Any]) -> None:
    """dump_toml (the config.toml that verify re-reads) round-trips any valid config."""
    original = config.validate(document)
    again = config.validate(tomllib.loads(config.dump_toml(original)))
    assert again.normalised() == original.normalised()  # batch_size filled in, as designed
    assert again.digest() == original.digest()
