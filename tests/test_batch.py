"""Course mode, part 1: a matrix of variants built as one batch, locally or on Dask.

Each variant folder must be byte-identical to a single build with the same ``--set``
values; the batch resumes after an interruption; bad matrix input is exit 2.
"""

from __future__ import annotations

import hashlib
import json
import signal
import time
from pathlib import Path

import pytest
from cli_process import run_reportgen, start_reportgen

from reportgen import cli
from reportgen.config import ConfigError, load, read_source
from reportgen.course import matrix

pytestmark = pytest.mark.slow

SMALL = """\
title = "A small study"
seed = 3

[data]
n = 40

[surface]
resolution = 24

[[runs]]
name = "Batch gradient descent"
learning_rate = 0.1
epochs = 6
init = [0.0, 0.0]

[matrix]
"runs.0.learning_rate" = [0.02, 0.5]
"data.noise" = [0.5, 1.0]
"""
VARIANTS = 4  # the matrix's product: 2 learning rates x 2 noise levels


def tree(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


reportgen = run_reportgen


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("study")
    (folder / "study.toml").write_text(SMALL, encoding="utf-8")
    return folder / "study.toml"


@pytest.fixture(scope="module")
def batch_dir(study: Path) -> Path:
    out = study.parent / "batch"
    reportgen("batch", str(study), "--out", str(out), "--jobs", "2", "--format", "html", "-q")
    return out


# ---------------------------------------------------------------- the matrix


def test_product_and_zip() -> None:
    axes = {"a": [1, 2, 3], "b": ["x", "y"]}
    assert len(matrix.combinations(axes, "product")) == 6
    assert matrix.combinations({"a": [1, 2], "b": [3, 4]}, "zip") == [{"a": 1, "b": 3},
                                                                      {"a": 2, "b": 4}]
    with pytest.raises(ConfigError, match="zip"):
        matrix.combinations(axes, "zip")


@pytest.mark.parametrize("mode", ["product", "zip"])
def test_either_mode_is_bounded_in_variants(mode: str) -> None:
    """zip mode used to return any number of rows; product refused more than the bound."""
    many = list(range(matrix.MAX_VARIANTS + 1))
    axes = {"a": many} if mode == "zip" else {"a": many[:101], "b": many[:50]}
    with pytest.raises(ConfigError, match=f"at most {matrix.MAX_VARIANTS} variants"):
        matrix.combinations(axes, mode)
    assert len(matrix.combinations({"a": many[:-1]}, mode)) == matrix.MAX_VARIANTS


def test_dotted_keys_read_alike_in_set_and_matrix() -> None:
    """A quoted key part is one part in --set, so in the matrix too."""
    (override,) = matrix.overrides_for({'data."x.y"': 1})
    assert override.keys == ("data", "x.y")


def test_option_values_are_read_as_toml() -> None:
    assert matrix.parse_option("runs.0.learning_rate=0.02,0.1") == ("runs.0.learning_rate",
                                                                   [0.02, 0.1])
    assert matrix.parse_option('data.rng="jax","numpy-legacy"')[1] == ["jax", "numpy-legacy"]
    assert matrix.parse_option("data.theta=[1, 2],[3, 4]")[1] == [[1, 2], [3, 4]]


def test_variant_ids_are_readable_stable_and_distinct(study: Path) -> None:
    source = read_source(study)
    config = load(study)
    first = [v.id for v in matrix.expand(source, config)]
    assert first == [v.id for v in matrix.expand(source, config)]
    assert len(set(first)) == VARIANTS
    assert first[0].startswith("learning_rate-0.02_noise-0.5-")


def test_a_variant_config_is_the_single_build_config(study: Path) -> None:
    variants = matrix.expand(read_source(study), load(study))
    single = load(study, ["runs.0.learning_rate=0.5", "data.noise=1.0"])
    assert variants[-1].config == single
    assert variants[-1].config.digest() == single.digest()


@pytest.mark.parametrize(("args", "message"), [
    (["--matrix", "runs.0.learning_rat=0.1,0.2"],
     "runs[0].learning_rat: unknown key; did you mean 'learning_rate'?"),
    (["--matrix", "runs.0.learning_rate=0.1,-1"],
     "--matrix runs.0.learning_rate=-1: runs[0].learning_rate: expected a value > 0.0"),
    (["--matrix", "runs.0.learning_rate"], "--matrix runs.0.learning_rate: expected KEY=V1,V2"),
    (["--matrix", "runs.7.learning_rate=0.1"], "runs has 1 entry"),
    (["--jobs", "0"], "--jobs: expected a whole number >= 1"),
    (["--executor", "dask"], "--scheduler: expected the address of a Dask scheduler"),
])
def test_bad_matrix_input_is_one_line_and_exit_2(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    message: str,
) -> None:
    code = cli.main(["batch", str(study), "--out", str(tmp_path / "b"), "-q", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert message in err
    assert not (tmp_path / "b").exists()


def test_a_bad_matrix_table_names_the_entry(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(SMALL.replace('"data.noise" = [0.5, 1.0]', '"data.noise" = 0.5'))
    assert cli.main(["batch", str(config), "--out", str(tmp_path / "b"), "-q"]) == 2
    assert 'matrix."data.noise": expected a non-empty array of values, got 0.5' in \
        capsys.readouterr().err


# ---------------------------------------------------------------- the batch folder


def test_batch_writes_every_variant_an_index_and_batch_json(batch_dir: Path) -> None:
    record = json.loads((batch_dir / "batch.json").read_text())
    assert record["schema"] == "reportgen.batch/1" and record["complete"] is True
    assert len(record["variants"]) == VARIANTS
    index = (batch_dir / "index.html").read_text()
    for row in record["variants"]:
        folder = batch_dir / row["id"]
        assert {"index.html", "results.json", "manifest.json"} <= set(tree(folder))
        assert hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest() == \
            row["manifest_sha256"]
        assert json.loads((folder / "manifest.json").read_text())["config_sha256"] == \
            row["config_sha256"]
        assert f'href="{row["id"]}/index.html"' in index
    assert "Content-Security-Policy" in index and 'src="data:image/svg+xml;base64,' in index
    assert index.count("<tr>") == VARIANTS + 1  # the header and one row per variant


def test_a_variant_is_byte_identical_to_a_single_build(batch_dir: Path, study: Path) -> None:
    record = json.loads((batch_dir / "batch.json").read_text())
    row = next(r for r in record["variants"] if r["values"] == {
        "runs.0.learning_rate": 0.5, "data.noise": 0.5})
    single = study.parent / "single"
    reportgen("build", str(study), "--set", "runs.0.learning_rate=0.5", "--set",
              "data.noise=0.5", "--format", "html", "--out", str(single), "-q",
              "--no-cache")  # computed afresh
    assert tree(single) == tree(batch_dir / row["id"])


def test_verify_checks_every_variant_of_a_batch(batch_dir: Path) -> None:
    """One verify run over the batch with one variant's number changed: every variant is
    recomputed and rebuilt, the others reproduce, the changed one is named, exit 1 (the
    verdict of an all-reproduced batch: test_api, reportgen.verify on a batch folder)."""
    record = json.loads((batch_dir / "batch.json").read_text())
    ids = [row["id"] for row in record["variants"]]
    victim = batch_dir / ids[2] / "results.json"
    original = victim.read_bytes()
    data = json.loads(original)
    data["ols"]["loss"] *= 1.01
    victim.write_text(json.dumps(data))
    try:
        failed = reportgen("verify", str(batch_dir), check=False)
    finally:
        victim.write_bytes(original)
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    checked = [line.split()[1].rstrip(":") for line in lines if line.startswith("verify ")]
    assert checked == [str(batch_dir / name) for name in ids]  # each variant, in order
    verdicts = [line for line in lines if line.startswith(("reproduced: ", "NOT reproduced: "))]
    assert [v.startswith("reproduced: ") for v in verdicts] == [True, True, False, True]
    assert any(line.startswith("  ols.loss: stored ") for line in lines)
    assert lines[-1] == (f"batch {batch_dir}: {VARIANTS - 1} of {VARIANTS} variants "
                         f"reproduced; NOT reproduced: {ids[2]}")


def test_an_interrupted_batch_resumes(batch_dir: Path, study: Path) -> None:
    record = json.loads((batch_dir / "batch.json").read_text())
    gone = batch_dir / record["variants"][1]["id"]
    before = tree(gone)
    import shutil

    shutil.rmtree(gone)
    done = reportgen("batch", str(study), "--out", str(batch_dir), "--format", "html")
    assert f"1 built, {VARIANTS - 1} already there, 0 failed" in done.stderr
    assert tree(gone) == before


def test_a_failing_variant_is_reported_and_the_others_kept(tmp_path: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text(SMALL.replace('"data.noise" = [0.5, 1.0]', '"data.noise" = [0.5]'))
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "partials").mkdir()
    # A template that breaks for one learning rate only.
    (templates / "partials" / "provenance.html").write_text(
        "{% if runs[0].learning_rate == 0.5 %}{{ no_such_value }}{% endif %}")
    # rendered in the batch's own process (--jobs 1): a spawned pool's start-up would be
    # most of this short batch's time (the pool renders batch_dir)
    done = reportgen("batch", str(config), "--out", str(tmp_path / "b"), "--format", "html",
                     "--templates", str(templates), "--jobs", "1", check=False)
    assert done.returncode == 1
    assert "1 built, 0 already there, 1 failed" in done.stderr
    assert "learning_rate-0.5_noise-0.5-" in done.stderr and "no_such_value" in done.stderr
    record = json.loads((tmp_path / "b" / "batch.json").read_text())
    assert [row["status"] for row in record["variants"]] == ["built", "failed"]
    assert record["complete"] is False


def test_a_batch_refuses_a_folder_of_other_files(tmp_path: Path, study: Path) -> None:
    (tmp_path / "thesis.tex").write_text("mine")
    done = reportgen("batch", str(study), "--out", str(tmp_path), check=False)
    assert done.returncode == 2
    assert "--out:" in done.stderr and "holds other files" in done.stderr
    assert (tmp_path / "thesis.tex").read_text() == "mine"


def test_dask_cluster_gives_the_same_bytes(batch_dir: Path, study: Path) -> None:
    """Two of the variants (--matrix narrows the noise axis) rendered by a worker process
    of a real cluster: each folder the same bytes as the local batch's (a spawned pool's)
    folder of that variant."""
    distributed = pytest.importorskip("distributed")  # reportgen[dask]; the test extra has it
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = study.parent / "dask"
        reportgen("batch", str(study), "--out", str(out), "--executor", "dask",
                  "--scheduler", cluster.scheduler_address, "--format", "html", "-q",
                  "--matrix", "data.noise=0.5")
    rows = json.loads((out / "batch.json").read_text())["variants"]
    assert [row["values"]["data.noise"] for row in rows] == [0.5, 0.5]
    assert all(row["status"] == "built" for row in rows)
    for row in rows:
        assert tree(out / row["id"]) == tree(batch_dir / row["id"])


# ---------------------------------------------------------------- refused early, bounded (issue 22)

STUDENTS = """\
title = "Your own data"

[data]
n = 30
theta = [4.0, 3.0]

[surface]
resolution = 20

[[runs]]
learning_rate = 0.1
epochs = 5
init = [0.0, 0.0]

[students]
roster = "roster.csv"
salt_file = "course.salt"

[students.ranges]
"data.theta" = [[2.0, 6.0], [1.0, 4.0]]
"""
ROSTER = "id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(1, 9))


def _course(folder: Path, constraints: str = "") -> Path:
    (folder / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (folder / "course.salt").write_text("a test course's secret salt\n", encoding="utf-8")
    config = folder / "course.toml"
    config.write_text(STUDENTS + constraints, encoding="utf-8")
    return config


def _result_entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("results.json")) if cache.exists() else []


def test_out_holding_a_users_file_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It printed "✓ drawing 4 student problem(s) 3.8 s" before the refusal (item 10)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(cache))
    config = _course(tmp_path, "[students.constraints]\ncondition_number = [1.0, 1000.0]\n")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    code = cli.main(["batch", str(config), "--out", str(mine), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"reportgen: error: --out: {mine} holds other files; expected an empty "
                   f"folder or a reportgen batch folder (with batch.json)\n")
    assert not cache.exists()  # nothing was computed
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    assert (mine / "thesis.tex").read_text() == "mine"


def test_unsatisfiable_constraints_end_at_once_and_cache_no_rejected_draw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """8 students, condition numbers no draw reaches, 10,000 redraws each: still drawing
    after 120 s with a 1.1 GB cache before (item 12)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("REPORTGEN_CACHE_DIR", str(cache))
    config = _course(tmp_path, "[students.constraints]\ncondition_number = [1000.0, 2000.0]\n"
                               "max_redraws = 10000\n")
    started = time.monotonic()
    code = cli.main(["batch", str(config), "--out", str(tmp_path / "b"), "--format", "html",
                     "-q"])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("reportgen: error: students.constraints: none of the first 64 "
                          "draws holds (last: condition_number ")
    assert "outside [1000.0, 2000.0]); the constraints look unsatisfiable" in err
    assert elapsed < 60
    assert _result_entries(cache) == []  # no rejected draw is cached
    assert not (tmp_path / "b").exists()


def test_redraws_are_bounded_for_the_whole_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget of one draw per student: constraints that reject some first draws stop
    the batch with one line, however many redraws each student may have."""
    from reportgen.course import plan

    monkeypatch.setattr(plan, "MIN_DRAW_BUDGET", 0)
    monkeypatch.setattr(plan, "DRAWS_PER_VARIANT", 1)
    monkeypatch.setattr(plan, "SAMPLE_DRAWS", 1)
    config = _course(tmp_path, "[students.constraints]\ncondition_number = [1.0, 14.5]\n"
                               "max_redraws = 10000\n")
    with pytest.raises(ConfigError, match=r"students.constraints: only 4 of 8 draws hold; "
                       r"the 4 student\(s\) still open would need about 8 more draws, over "
                       r"the 0 this batch may still compute \(at most 8\)"):
        plan.make_plan(config, cache_dir=tmp_path / "cache")
    assert len(_result_entries(tmp_path / "cache")) == 4  # the draws that held, only


def test_batch_json_lists_what_a_killed_batch_built(study: Path, tmp_path: Path) -> None:
    """batch.json was written at the start and the end only: after kill -9, every
    variant was "pending", the built ones too (item 11). Rendered in the batch's own
    process (--jobs 1: batch.json is rewritten as each variant lands whichever executor
    renders it, and a spawned pool's start-up is most of a short batch's time)."""
    out = tmp_path / "b"
    batch = start_reportgen("batch", study, "--out", out, "--format", "html", "--jobs", "1")
    assert batch.stderr is not None
    for line in batch.stderr:
        if f" 2/{VARIANTS} " in line:
            batch.send_signal(signal.SIGKILL)
            break
    batch.wait(60)
    assert batch.returncode == -signal.SIGKILL
    record = json.loads((out / "batch.json").read_text())
    built = [row for row in record["variants"] if row["status"] == "built"]
    assert len(built) >= 2 and record["complete"] is False
    for row in record["variants"]:
        folder = out / row["id"]
        assert (folder / "manifest.json").is_file() == (row["status"] == "built")
        if row["status"] == "built":
            assert hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest() == \
                row["manifest_sha256"]
