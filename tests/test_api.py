"""The Python API: the same contract as the command line, from a script or a notebook."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import reportgen


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> reportgen.Report:
    cfg = reportgen.load_config("source-notebook")
    return reportgen.build(cfg, out=tmp_path_factory.mktemp("api") / "report")


def test_load_config_with_overrides_by_dotted_key() -> None:
    cfg = reportgen.load_config("source-notebook",
                                overrides={"runs.0.learning_rate": 0.3, "data.n": 50})
    assert cfg.runs[0].learning_rate == 0.3 and cfg.data.n == 50
    assert cfg.name == "source-notebook"


def test_load_config_names_a_bad_override() -> None:
    with pytest.raises(reportgen.ConfigError, match=r"overrides\['data.n'\]: data.n"):
        reportgen.load_config("source-notebook", overrides={"data.n": "many"})


def test_compute_gives_what_results_json_holds(built: reportgen.Report) -> None:
    res = reportgen.compute(reportgen.load_config("source-notebook"))
    stored = json.loads((built.path / "results.json").read_text(encoding="utf-8"))
    assert res.to_dict() == stored
    assert list(res.runs[0].final_theta) == pytest.approx([3.9106679350316482, 3.204127528398984],
                                                        abs=1e-15)
    table = res._repr_html_()
    assert table.count("<tr>") == 4 and "3.91" in table and "closed form" in table


def test_to_dict_is_a_copy() -> None:
    res = reportgen.compute(reportgen.load_config("source-notebook"))
    res.to_dict()["runs"].clear()
    assert len(res.runs) == 2


def test_build_writes_the_report_folder(built: reportgen.Report) -> None:
    assert {"index.html", "handout.pdf", "results.json", "manifest.json", "config.toml"} <= set(
        built.files)
    assert built.html_path == built.path / "index.html" and built.html_path.is_file()
    assert built.pdf_path is not None and built.pdf_path.read_bytes().startswith(b"%PDF")
    inline = built._repr_html_()
    assert inline.startswith("<iframe") and "srcdoc=" in inline
    assert "&lt;h1&gt;Gradient descent for linear regression&lt;/h1&gt;" in inline


def test_build_html_only(tmp_path: Path) -> None:
    rep = reportgen.build(reportgen.load_config("source-notebook"), out=tmp_path / "r",
                          formats=("html",))
    assert rep.pdf_path is None and rep.html_path is not None


@pytest.fixture(scope="module")
def api_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A shipped batch config by name, its matrix replaced (two learning rates) and a
    value overridden, built once as HTML: the result and its folder. Tests that change a
    file change a copy."""
    folder = tmp_path_factory.mktemp("api-batch") / "batch"
    result = reportgen.build_batch("learning-rate-study", folder, formats=("html",),
                                   matrix=["runs.0.learning_rate=0.05,0.2"],
                                   overrides={"surface.resolution": 20})
    return result, folder


def test_verify_passes_and_then_names_a_difference(api_batch: tuple[Any, Path],
                                                   tmp_path: Path) -> None:
    """A report folder (a variant's: what reportgen.build writes for its config)."""
    result, folder = api_batch
    report = tmp_path / "report"
    shutil.copytree(folder / result.outcomes[0].variant.id, report)
    check = reportgen.verify(report)
    assert check.ok and check.differences == () and check.variants == ()
    results = report / "results.json"
    data = json.loads(results.read_text(encoding="utf-8"))
    data["ols"]["loss"] *= 1.001
    results.write_text(json.dumps(data), encoding="utf-8")
    check = reportgen.verify(report)
    assert not check.ok
    assert any(line.startswith("ols.loss:") for line in check.differences)


# ---------------------------------------------------------------- issue 22, items 14-16


def test_build_and_verify_a_batch_folder_as_the_command_line_does(
    api_batch: tuple[Any, Path], tmp_path: Path
) -> None:
    """reportgen.build_batch() builds each variant; reportgen.verify() raised ConfigError
    on a batch folder that `reportgen verify` checks (item 14): one library function now
    tells a batch from a report (the command line's verdict: test_batch)."""
    result, folder = api_batch
    assert [o.status for o in result.outcomes] == ["built", "built"] and not result.failed
    for outcome in result.outcomes:
        assert (folder / outcome.variant.id / "index.html").is_file()
        assert outcome.variant.config.surface.resolution == 20
    assert {o.variant.config.runs[0].learning_rate for o in result.outcomes} == {0.05, 0.2}
    check = reportgen.verify(folder)
    assert check.ok and check.differences == ()
    assert [v.path.name for v in check.variants] == [o.variant.id for o in result.outcomes]
    assert all(v.ok for v in check.variants)
    batch = tmp_path / "batch"
    shutil.copytree(folder, batch)
    victim = batch / result.outcomes[1].variant.id / "results.json"
    data = json.loads(victim.read_text(encoding="utf-8"))
    data["ols"]["loss"] *= 1.001
    victim.write_text(json.dumps(data), encoding="utf-8")
    check = reportgen.verify(batch)
    assert not check.ok and [v.ok for v in check.variants] == [True, False]
    assert f"{result.outcomes[1].variant.id}: ols.loss:" in "\n".join(check.differences)


@pytest.fixture
def small() -> reportgen.Config:
    return reportgen.load_config(overrides={"surface.resolution": 20})


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from reportgen import cli

    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    return err.removeprefix("reportgen: error: ").rstrip("\n")


def test_an_unusable_out_folder_is_the_exported_output_error_in_one_line(
    small: reportgen.Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """OutputError was not exported and read "[Errno 16] --out: ..." (item 15)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(reportgen.OutputError) as caught:
        reportgen.build(small, out=".")
    message = str(caught.value)
    assert isinstance(caught.value, OSError) and caught.value.errno == 16
    assert message == (f"out='.': {tmp_path} is the working directory or holds it; choose "
                       "a folder of its own")
    line = _cli_error(["build", "--out", ".", "-q"], capsys)
    assert line == "--out: " + message.split(": ", 1)[1]  # the same line, in CLI terms
    assert {"ConfigError", "OutputError", "ParameterError"} <= set(dir(reportgen))


@pytest.mark.parametrize(("call", "args", "python", "cli_line"), [
    ({"jobs": 0}, ["--jobs", "0"], "jobs=0: expected a whole number >= 1, got 0",
     "--jobs: expected a whole number >= 1, got 0"),
    ({"executor": "spark"}, None, "executor='spark': expected local or dask, got 'spark'",
     None),
    ({"executor": "dask", "scheduler": "foo://bar:1"},
     ["--executor", "dask", "--scheduler", "foo://bar:1"],
     "scheduler='foo://bar:1': expected tcp://HOST:PORT, the address of a Dask scheduler, "
     "got 'foo://bar:1'",
     "--scheduler: expected tcp://HOST:PORT, the address of a Dask scheduler, got "
     "'foo://bar:1'"),
    ({"executor": "dask", "worker_timeout": 0}, ["--executor", "dask", "--scheduler",
                                                  "tcp://127.0.0.1:1", "--worker-timeout", "0"],
     "worker_timeout=0: expected a number of seconds > 0, got 0",
     "--worker-timeout: expected a number of seconds > 0, got 0.0"),
])
def test_a_bad_argument_is_named_as_the_caller_spelled_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], call: dict, args: list[str] | None,
    python: str, cli_line: str | None,
) -> None:
    """Lower layers named CLI flags ("--jobs:") to Python callers too (item 16)."""
    arguments = {"scheduler": "tcp://127.0.0.1:1", **call}
    with pytest.raises(reportgen.ParameterError) as caught:
        reportgen.build_batch("learning-rate-study", tmp_path / "b", **arguments)
    assert str(caught.value) == python
    assert isinstance(caught.value, reportgen.ConfigError)
    if args is not None:
        line = _cli_error(["batch", "learning-rate-study", "--out", str(tmp_path / "b"), *args],
                          capsys)
        assert line == cli_line
    assert not (tmp_path / "b").exists()


def test_lower_layers_name_the_parameter_not_a_flag(tmp_path: Path) -> None:
    from reportgen import pipeline
    from reportgen.course import batch, cluster

    for check in (lambda: pipeline.check_jobs(0),
                  lambda: cluster.check_address("inproc://x"),
                  lambda: batch.check_options(1, "spark", None)):
        with pytest.raises(reportgen.ParameterError) as caught:
            check()
        assert not str(caught.value).startswith("--")
        assert str(caught.value).startswith(f"{caught.value.parameter}: ")
    (tmp_path / "mine.txt").write_text("mine")
    with pytest.raises(reportgen.OutputError) as refused:
        batch.check_folder(tmp_path)
    assert str(refused.value).startswith(f"out: {tmp_path} holds other files")
