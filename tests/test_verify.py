"""``reportgen verify`` re-derives a report and names what differs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reportgen import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("verify") / "report"
    assert cli.main(["build", "--out", str(folder), "--quiet", "--no-cache"]) == 0
    return folder


def _scaled(value: float) -> float:
    return value * 1.001  # a 0.1% change


def _tamper(results: dict) -> None:
    results["runs"][0]["final_loss"] = _scaled(results["runs"][0]["final_loss"])


def test_untouched_folder_reproduces(report: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["verify", str(report)]) == 0
    out = capsys.readouterr().out
    assert "reproduced" in out and "exact" in out


def test_pdf_alone_reproduces(report: Path, tmp_path: Path, capsys) -> None:
    alone = tmp_path / "handout.pdf"
    shutil.copy(report / "handout.pdf", alone)
    assert cli.main(["verify", str(alone)]) == 0
    assert "reproduced" in capsys.readouterr().out


def test_changed_number_in_folder_is_named(report: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    results = json.loads((copy / "results.json").read_text())
    _tamper(results)
    (copy / "results.json").write_text(json.dumps(results, sort_keys=True, indent=1))
    assert cli.main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "runs[0].final_loss" in out
    assert "results.json: sha256 differs" in out


def test_changed_attachment_in_pdf_is_named(report: Path, tmp_path: Path, capsys) -> None:
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(report / "handout.pdf")
    attachments = {name: data[0] for name, data in reader.attachments.items()}
    results = json.loads(attachments["results.json"])
    results["ols"]["loss"] = _scaled(results["ols"]["loss"])
    attachments["results.json"] = json.dumps(results).encode()
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    for name, data in attachments.items():
        writer.add_attachment(name, data)
    tampered = tmp_path / "tampered.pdf"
    with tampered.open("wb") as handle:
        writer.write(handle)
    assert cli.main(["verify", str(tampered)]) == 1
    assert "ols.loss" in capsys.readouterr().out


def test_changed_figure_is_named(report: Path, tmp_path: Path, capsys) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(report, copy)
    figure = sorted((copy / "figures").iterdir())[0]
    figure.write_bytes(figure.read_bytes() + b"\n")
    assert cli.main(["verify", str(copy)]) == 1
    assert f"figures/{figure.name}: sha256 differs" in capsys.readouterr().out


@pytest.mark.parametrize("make", ["missing", "empty-folder", "text-file"])
def test_bad_paths_are_bad_input(tmp_path: Path, make: str, capsys) -> None:
    path = tmp_path / "thing"
    if make == "empty-folder":
        path.mkdir()
    elif make == "text-file":
        path = tmp_path / "thing.pdf"
        path.write_text("not a pdf")
    assert cli.main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reportgen: error: verify:") and "Traceback" not in err


def test_a_report_made_before_the_schema_grew_still_reproduces(report: Path, tmp_path: Path,
                                                                capsys) -> None:
    """results.json only ever gains keys: a report without the newer ones is not wrong."""
    import hashlib
    import re

    copy = tmp_path / "older"
    shutil.copytree(report, copy)
    results = json.loads((copy / "results.json").read_text())
    for run in results["runs"]:
        del run["shuffles"], run["full_batch_twin"]
    del results["ols"]["xtx"], results["ols"]["xty"], results["config"]["pdf"]
    (copy / "results.json").write_text(json.dumps(results, sort_keys=True, indent=1))
    toml = re.sub(r"\n\[pdf\]\nstandard = \"[^\"]*\"\n", "\n", (copy / "config.toml").read_text())
    (copy / "config.toml").write_text(toml)
    manifest = json.loads((copy / "manifest.json").read_text())
    for name in ("results.json", "config.toml"):
        manifest["files"][name] = hashlib.sha256((copy / name).read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1))
    assert cli.main(["verify", str(copy)]) == 0, capsys.readouterr().out
    results["runs"][0]["final_loss"] = _scaled(results["runs"][0]["final_loss"])
    (copy / "results.json").write_text(json.dumps(results, sort_keys=True, indent=1))
    assert cli.main(["verify", str(copy)]) == 1  # what it does record is still compared
