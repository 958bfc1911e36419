"""reportgen.config: loading, defaults, overrides, errors that name their field, and the
normalised config's round trip through dump_toml."""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from reportgen import config
from reportgen.optimizers import NAMES
from reportgen.shipped import shipped_handouts


def roundtrip(cfg: config.Config) -> config.Config:
    """Through config.toml and back, by the reader users' files go through."""
    return config.validate(config.parse_toml(config.dump_toml(cfg)))


# ---------------------------------------------------------------- loading and defaults


def test_default_is_the_source_notebook_handout() -> None:
    cfg = config.load()
    assert config.config_name(None) == "source-notebook"
    assert cfg.seed == 0 and cfg.precision == "float64"
    assert (cfg.data.n, cfg.data.theta, cfg.data.x_range) == (100, (4.0, 3.0), (0.0, 2.0))
    assert cfg.data.noise == 1.0 and cfg.data.rng == "numpy-legacy"
    assert (cfg.surface.theta0, cfg.surface.theta1, cfg.surface.resolution) == (
        (-10.0, 10.0), (-10.0, 10.0), 100)
    batch, mini = cfg.runs
    assert (batch.optimizer, batch.learning_rate, batch.epochs, batch.init) == (
        "gd", 0.1, 10, "random")
    assert cfg.batch_size(batch) == 100
    assert (mini.learning_rate, mini.epochs, cfg.batch_size(mini)) == (0.1, 2, 20)


def test_every_field_has_a_default() -> None:
    cfg = config.validate({})
    assert cfg.precision == "float64" and cfg.device == "auto" and cfg.seed == 0
    assert cfg.data == config.DataConfig() and cfg.surface == config.SurfaceConfig()
    (run,) = cfg.runs
    assert run.batch_size is None and cfg.batch_size(run) == cfg.data.n
    # optax's defaults, as DESIGN.md lists them
    assert (run.momentum, run.b1, run.b2, run.eps, run.decay) == (0.9, 0.9, 0.999, 1e-8, 0.9)
    assert cfg.sweep is None


def test_shipped_handouts_load_by_name_and_by_path(tmp_path: Path) -> None:
    for name in shipped_handouts():
        by_name = config.load(name)
        by_path = config.load(config.resolve_path(name))
        assert by_name == by_path
        assert config.config_name(name) == name
    copy = tmp_path / "mine.toml"
    copy.write_text(config.resolve_path(None).read_text())
    assert config.load(copy) == config.load()
    assert config.config_name(copy) == "mine"


def test_normalised_fills_batch_size_and_is_plain_data() -> None:
    plain = config.load().normalised()
    assert [run["batch_size"] for run in plain["runs"]] == [100, 20]
    assert plain["date"] == "2026-01-01"
    assert isinstance(plain["data"]["theta"], list)


def test_config_is_frozen() -> None:
    cfg = config.load()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.seed = 3  # type: ignore[misc]


# ---------------------------------------------------------------- overrides


def test_overrides_set_dotted_keys_and_list_items() -> None:
    cfg = config.load(overrides=[
        "runs.0.learning_rate=0.3", "seed=7", "data.n=50", "runs.1.batch_size=7",
        "surface.theta0=[-5.0, 5.0]", "precision=float32", 'runs.0.init=[1.0, 2.0]',
        'title="A \\"quoted\\" title"',
    ])
    assert cfg.runs[0].learning_rate == 0.3 and cfg.seed == 7 and cfg.data.n == 50
    assert cfg.runs[1].batch_size == 7 and cfg.surface.theta0 == (-5.0, 5.0)
    assert cfg.precision == "float32"  # a bare word is kept as a string
    assert cfg.runs[0].init == (1.0, 2.0)
    assert cfg.title == 'A "quoted" title'
    assert cfg.runs[1].learning_rate == 0.1  # untouched


def test_later_overrides_win() -> None:
    assert config.load(overrides=["seed=1", "seed=2"]).seed == 2


def test_override_creates_runs_from_the_default_run() -> None:
    raw: dict = {}
    override = config.parse_override("runs.0.learning_rate=0.25")
    config.apply_override(raw, override.keys, override.value)
    cfg = config.validate(raw)
    assert cfg.runs[0].learning_rate == 0.25
    assert cfg.runs[0].epochs == config.RunConfig().epochs


@pytest.mark.parametrize("text", ["noequals", "=3", "a..b=1", ".a=1"])
def test_malformed_overrides_are_config_errors(text: str) -> None:
    with pytest.raises(config.ConfigError, match="--set"):
        config.parse_override(text)


# ---------------------------------------------------------------- errors name the field


@pytest.mark.parametrize(("override", "field"), [
    ("data.n=0", "data.n"),
    ("data.n=2.5", "data.n"),
    ("runs.1.batch_size=200", "runs[1].batch_size"),
    ("runs.0.lerning_rate=1", "runs[0].lerning_rate"),
    ('runs.0.init="foo"', "runs[0].init"),
    ("runs.0.init=[1.0]", "runs[0].init"),
    ("runs.0.learning_rate=-1.0", "runs[0].learning_rate"),
    ("runs.0.learning_rate=nan", "runs[0].learning_rate"),
    ("runs.0.momentum=1.0", "runs[0].momentum"),
    ('runs.0.optimizer="sgd"', "runs[0].optimizer"),
    ("data.noise=inf", "data.noise"),
    ("surface.theta0=[1.0, -1.0]", "surface.theta0"),
    ("surface.resolution=1", "surface.resolution"),
    ('data.rng="mt"', "data.rng"),
    ("seed=-1", "seed"),
    ('precision="float16"', "precision"),
    ("colour=1", "colour"),
    ('pdf.standard="pdf/a-1b"', "pdf.standard"),
])
def test_bad_values_are_one_line_naming_the_field(override: str, field: str) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load(overrides=[override])
    message = str(caught.value)
    assert f"{field}:" in message
    assert "\n" not in message and "Traceback" not in message


@pytest.mark.parametrize("standard", config.PDF_STANDARDS)
def test_pdf_standard_is_optional_and_checked(standard: str) -> None:
    assert config.load().pdf.standard == "pdf/ua-1"  # accessible by default
    chosen = config.load(overrides=[f'pdf.standard="{standard}"'])
    assert chosen.normalised()["pdf"] == {"standard": standard}
    assert chosen.digest() != config.load().digest() or standard == "pdf/ua-1"


def test_unknown_key_suggests_the_close_one() -> None:
    with pytest.raises(config.ConfigError, match="learning_rate"):
        config.load(overrides=["runs.0.lerning_rate=1"])


@pytest.mark.parametrize("override", ["runs.5.epochs=2", "seed.x=1"])
def test_overrides_into_missing_places_are_config_errors(override: str) -> None:
    with pytest.raises(config.ConfigError, match="--set"):
        config.load(overrides=[override])


def test_missing_file_directory_and_bad_toml_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="no-such-handout"):
        config.load("no-such-handout")
    with pytest.raises(config.ConfigError, match="directory"):
        config.load(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("seed = = 1\n")
    with pytest.raises(config.ConfigError, match=r"broken\.toml"):
        config.load(broken)


# ---------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", shipped_handouts())
def test_shipped_handouts_round_trip_through_dump_toml(name: str) -> None:
    cfg = config.load(name)
    again = roundtrip(cfg)
    # Config keeps batch_size unset where the TOML omits it; the normalised form fills it.
    assert roundtrip(again) == again
    assert again.normalised() == cfg.normalised()
    assert again.digest() == cfg.digest()
    assert config.dump_toml(again) == config.dump_toml(cfg)


def test_digest_follows_the_numbers() -> None:
    assert config.load().digest() == config.load().digest()
    assert config.load(overrides=["seed=1"]).digest() != config.load().digest()
    # An explicit default is the same handout as an omitted one.
    assert config.load(overrides=["runs.0.batch_size=100"]).digest() == config.load().digest()


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-6, 1e3, allow_nan=False, allow_infinity=False)
fraction = st.floats(0.0, 0.999, allow_nan=False)
#: Text a title or name may hold: anything printable (control characters are refused).
text = functools.partial(st.text, st.characters(exclude_categories=("Cc", "Cs")))


@st.composite
def pairs(draw: st.DrawFn, increasing: bool = False) -> list[float]:
    low = draw(finite)
    if increasing:
        width = draw(st.floats(1e-3, 1e6, allow_nan=False))
        # at least MIN_RELATIVE_WIDTH of the larger end (with room for rounding)
        width = max(width, 2 * config.MIN_RELATIVE_WIDTH * (abs(low) + width))
        return [low, low + width]
    return [low, draw(finite)]


@st.composite
def raw_configs(draw: st.DrawFn) -> dict:
    n = draw(st.integers(2, 10_000))
    runs = []
    for _ in range(draw(st.integers(1, 4))):
        run = {
            "name": draw(text(max_size=30)),
            "optimizer": draw(st.sampled_from(NAMES)),
            "learning_rate": draw(positive),
            "epochs": draw(st.integers(1, 1000)),
            "momentum": draw(fraction), "b1": draw(fraction), "b2": draw(fraction),
            "decay": draw(fraction), "eps": draw(positive),
        }
        if draw(st.booleans()):  # mini-batch, within the step and shuffle limits
            run["epochs"] = min(run["epochs"], config.MAX_SHUFFLED // (4 * n))
            fewest = -(-n * run["epochs"] // (config.MAX_STEPS // 8))
            run["batch_size"] = draw(st.integers(min(fewest, n), n))
        if draw(st.booleans()):
            run["init"] = draw(pairs())
        runs.append(run)
    raw = {
        "title": draw(text(max_size=60)),
        "author": draw(text(max_size=30)),
        "date": draw(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "precision": draw(st.sampled_from(["float64", "float32"])),
        "device": draw(st.sampled_from(["auto", "cpu", "gpu"])),
        "data": {"n": n, "theta": draw(pairs()), "x_range": draw(pairs(increasing=True)),
                 "noise": draw(st.floats(0.0, 100.0)),
                 "rng": draw(st.sampled_from(["numpy-legacy", "jax"]))},
        "surface": {"theta0": draw(pairs(increasing=True)),
                    "theta1": draw(pairs(increasing=True)),
                    "resolution": draw(st.integers(2, 500))},
        "runs": runs,
    }
    if draw(st.booleans()):
        raw["sweep"] = {"min_rate": 0.01, "max_rate": draw(st.floats(0.02, 10.0)),
                        "num": draw(st.integers(2, 200))}
    return raw


@given(raw_configs())
def test_any_valid_config_round_trips_through_dump_toml(raw: dict) -> None:
    """dump_toml writes the normalised config; reading it back gives the same Config."""
    cfg = config.validate(raw)
    text = config.dump_toml(cfg)
    assert config.parse_toml(text) == tomllib.loads(text)  # the shape scan refuses nothing
    again = config.validate(tomllib.loads(text))
    assert roundtrip(again) == again
    assert again.normalised() == cfg.normalised()
    assert again.digest() == cfg.digest()
    assert config.dump_toml(again) == text  # a fixed point


# ---------------------------------------------------------------- hostile and unusual input


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Windows editors start UTF-8 files with U+FEFF; the config reads the same without."""
    text = config.resolve_path(None).read_text(encoding="utf-8")
    marked = tmp_path / "marked.toml"
    marked.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert config.load(marked) == config.load()


@pytest.mark.parametrize(("text", "keys", "value"), [
    ('data."x.y"=1', ("data", "x.y"), 1),
    ("runs.0.learning_rate = 0.3", ("runs", "0", "learning_rate"), 0.3),
    ('title="a = b"', ("title",), "a = b"),
    ('"a=b".c=1', ("a=b", "c"), 1),
    ("precision=float32", ("precision",), "float32"),
    ("data = {n = 5}", ("data",), {"n": 5}),
])
def test_set_keys_follow_toml_grammar(text: str, keys: tuple[str, ...], value: object) -> None:
    override = config.parse_override(text)
    assert (override.keys, override.value) == (keys, value)


def test_quoted_keys_stay_whole_in_messages() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load(overrides=['data."x.y"=1'])
    assert str(caught.value) == (
        '--set data."x.y"=1: data."x.y": unknown key; expected one of n, theta, x_range, '
        "noise, rng")


@pytest.mark.parametrize("override", ["data={n=5}", "data.n=5"])
def test_an_error_a_set_causes_is_blamed_on_it(override: str) -> None:
    """The default handout's batch of 20 is fine until --set shrinks the data below it."""
    with pytest.raises(config.ConfigError) as caught:
        config.load(overrides=[override])
    assert str(caught.value) == (
        f"--set {override}: runs[1].batch_size: expected 1..5 (data.n), got 20")


def test_mapping_overrides_use_the_same_keys() -> None:
    cfg = config.load(overrides={"runs.0.learning_rate": 0.3, '"seed"': 4})
    assert cfg.runs[0].learning_rate == 0.3 and cfg.seed == 4


SHALLOW = '''\
# brackets, braces and dots in strings and comments are not structure: [[[[ {{{{ a.b.c.d
title = "x [[[[[[[[[[[[[[[[[[[[ a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r"
author = 'y {{{{{{{{{{{{{{{{{{{{{{ \\'
note = """
[[[[[[[[[[[[[[[[[[[[ \\""" a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t
"""
more = \'\'\'[[[[[[[[[[[[[[[[[[[[[[ ""\'\' \'\'\'
when = 1979-05-27T07:32:00.999999-07:00
rates = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8]
a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p = 1
t = { a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p = 1.5, x = [[[[[[[[[[[[[[[1.5]]]]]]]]]]]]]]] }
[[z.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p]]
"q.r.s" = 2
'''


def test_the_shape_scan_reads_strings_comments_and_values_as_toml_does() -> None:
    """16 parts and 16 levels pass; the strings, comments and floats count for nothing."""
    assert config.toml_shape_error(SHALLOW) is None
    parsed = config.parse_toml(SHALLOW)
    assert parsed["more"] == '[[[[[[[[[[[[[[[[[[[[[[ ""\'\' '
    deeper = SHALLOW.replace("[1.5]", "[[1.5]]")
    assert config.toml_shape_error(deeper) == (
        "line 11: expected arrays and inline tables nested at most 16 deep")
    longer = SHALLOW.replace("o.p]]", "o.p.q]]")
    assert config.toml_shape_error(longer) == (
        "line 12: expected a dotted key of at most 16 parts")


@pytest.mark.parametrize("document", [
    "a = " + "[" * 100_000 + "]" * 100_000,
    "a = " + "{b=" * 5_000 + "1" + "}" * 5_000,
    "[" + ".".join(["t"] * 5_000) + "]",
    ".".join(["a"] * 50_000) + " = 1",
])
def test_hostile_nesting_is_refused_without_parsing(document: str) -> None:
    with pytest.raises(config.ConfigError, match=r"^x\.toml: line 1: expected"):
        config.parse_toml(document, "x.toml")


def test_values_at_the_limits_are_accepted() -> None:
    edge = config.MAX_MAGNITUDE
    cfg = config.validate({
        "title": "t" * config.MAX_TITLE_CHARS, "author": "a" * config.MAX_TITLE_CHARS,
        "data": {"theta": [edge, -edge], "x_range": [-edge, edge], "noise": edge},
        "surface": {"theta0": [-edge, edge], "theta1": [edge - 10.0, edge]},
        "runs": [{"name": "n" * config.MAX_NAME_CHARS, "epochs": config.MAX_STEPS,
                  "init": [edge, edge]}],
    })
    assert cfg.data.theta == (edge, -edge)
    many = config.validate({"runs": [{"epochs": 1}] * config.MAX_RUNS})
    assert len(many.runs) == config.MAX_RUNS
