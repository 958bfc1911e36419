"""``reportgen verify`` re-derives a report and names what differs."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zlib
from collections.abc import Callable
from contextlib import redirect_stdout
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from reportgen import cli

pytestmark = pytest.mark.slow


#: The handout these tests verify: small data and grid, as every verify recomputes and
#: rebuilds it; a full-batch and a mini-batch run, as the default handout has (29 claims
#: marked, as there). The default handout's own reproduction: tests/test_reproducible.py.
SMALL = """\
[data]
n = 30
[surface]
resolution = 20
[[runs]]
epochs = 3
[[runs]]
epochs = 2
batch_size = 10
"""


@pytest.fixture(scope="module")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("verify-config") / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, small_config: Path) -> Path:
    """The handout, HTML and PDF (its results and figures from the run's cache where
    another build made them: the same numbers and bytes, and the environment of the
    computation that made them, which the cache key pins)."""
    folder = tmp_path_factory.mktemp("verify") / "report"
    assert cli.main(["build", str(small_config), "--out", str(folder), "--quiet"]) == 0
    return folder


@pytest.fixture(scope="module")
def html_report(tmp_path_factory: pytest.TempPathFactory, small_config: Path) -> Path:
    """The handout as HTML only: what does not concern the PDF verifies faster."""
    folder = tmp_path_factory.mktemp("verify-html") / "report"
    assert cli.main(["build", str(small_config), "--out", str(folder), "--format", "html",
                     "--quiet"]) == 0
    return folder


def _scaled(value: float) -> float:
    return value * 1.001  # a 0.1% change


def _tamper(results: dict) -> None:
    results["runs"][0]["final_loss"] = _scaled(results["runs"][0]["final_loss"])


def test_changed_number_in_folder_is_named(tampered: tuple[int, str]) -> None:
    code, out = tampered
    assert code == 1
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


def test_changed_figure_is_named(report: Path, tampered: tuple[int, str]) -> None:
    figure = sorted((report / "figures").iterdir())[0]  # the one ``tampered`` changed
    assert f"  figures/{figure.name}: sha256 differs" in tampered[1]


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


# ---------------------------------------------------------------- hostile folders (issue 9)


def _copy(report: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(report, copy, symlinks=True)
    return copy


def _edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, sort_keys=True, indent=1) + "\n", encoding="utf-8")


def _list_in_manifest(copy: Path, name: str, data: bytes) -> None:
    def add(manifest: dict) -> None:
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
    _edit_json(copy / "manifest.json", add)


#: Files outside the report folder that a manifest lists (issue 9, item 5), as ``tampered``
#: lists them: its name in the manifest (``{outside}``: the outside file's absolute path)
#: and what verify says of it.
ESCAPES = {
    "linked-file": ("figures/ext.svg", "a symbolic link, not a file in the report folder"),
    "dot-dot": ("../outside.svg", "not a path inside the report folder"),
    "absolute": ("{outside}", "not a path inside the report folder"),
}


@pytest.fixture(scope="module")
def tampered(report: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str]:
    """A copy of the report with one change of each kind a folder's verify must name, each
    in a different file, verified once: ``verify``'s exit code and output.

    A number of results.json; the bytes of one figure; a symbolic link to a file outside
    the folder, a ``..`` path and an absolute path, each listed in the manifest with the
    outside file's hash (``ESCAPES``); and a byte of a page of handout.pdf, with its new
    hash in the manifest. Each test below checks the line its change must give.
    """
    root = tmp_path_factory.mktemp("tampered")
    copy = _copy(report, root)
    results = json.loads((copy / "results.json").read_text())
    _tamper(results)
    (copy / "results.json").write_text(json.dumps(results, sort_keys=True, indent=1))
    figure = sorted((copy / "figures").iterdir())[0]
    figure.write_bytes(figure.read_bytes() + b"\n")
    outside = root / "outside.svg"
    outside.write_bytes(b"<svg/>")
    (copy / ESCAPES["linked-file"][0]).symlink_to(outside)
    for name, _ in ESCAPES.values():
        _list_in_manifest(copy, name.format(outside=outside), outside.read_bytes())
    _flip_a_byte_of_the_first_page(copy / "handout.pdf")
    _list_in_manifest(copy, "handout.pdf", (copy / "handout.pdf").read_bytes())
    with redirect_stdout(io.StringIO()) as printed:
        code = cli.main(["verify", str(copy)])
    out = printed.getvalue()
    assert "NOT reproduced" in out and " more\n" not in out  # every difference is shown
    return code, out.replace(str(outside), "{outside}")


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_only_regular_files_inside_the_folder_count(
    tampered: tuple[int, str], escape: str
) -> None:
    """Issue 9, item 5: a symlinked figure listed with its target's hash, or a manifest
    entry out of the folder, was hashed where it pointed and gave "reproduced"."""
    code, out = tampered
    name, says = ESCAPES[escape]
    assert code == 1
    assert f"  {name}: {says} (the manifest lists it)\n" in out


def test_a_linked_figures_folder_does_not_count(
    html_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9, item 5: the figures' folder a symbolic link to a copy elsewhere."""
    copy = _copy(html_report, tmp_path)
    figure = sorted((copy / "figures").iterdir())[0].name
    shutil.copytree(copy / "figures", tmp_path / "elsewhere")
    shutil.rmtree(copy / "figures")
    (copy / "figures").symlink_to(tmp_path / "elsewhere")
    assert cli.main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "NOT reproduced" in out
    assert f"  figures/{figure}: its folder 'figures' is a symbolic link (the manifest " \
           "lists it)\n" in out


def test_a_results_json_linked_from_elsewhere_is_bad_input(
    html_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(html_report, tmp_path)
    (copy / "results.json").rename(tmp_path / "results.json")
    (copy / "results.json").symlink_to(tmp_path / "results.json")
    assert cli.main(["verify", str(copy)]) == 2
    assert capsys.readouterr().err == (
        f"reportgen: error: verify: {copy}/results.json is a symbolic link, not a file in "
        "the report folder\n")


def bomb_pdf(path: Path, inflated: int = 100 << 20) -> None:
    """A one-page PDF whose results.json attachment inflates to ``inflated`` zero bytes
    (from ~100 KB: beyond pypdf's decompression limit)."""
    packer = zlib.compressobj(9)
    stream = b"".join(packer.compress(bytes(1 << 20)) for _ in range(inflated >> 20))
    stream += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R "
        b"/Names << /EmbeddedFiles << /Names [(results.json) 4 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
        b"<< /Type /Filespec /F (results.json) /UF (results.json) /EF << /F 5 0 R >> >>",
        b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n" % len(stream)
        + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def _malformed(report: Path, tmp_path: Path, kind: str) -> Path:
    """A copy of the report with one malformation (or a PDF, for 'pdf-bomb')."""
    if kind == "pdf-bomb":
        bomb_pdf(tmp_path / "bomb.pdf")
        return tmp_path / "bomb.pdf"
    copy = _copy(report, tmp_path)
    if kind == "manifest-files-list":
        _edit_json(copy / "manifest.json", lambda m: m.update(files=sorted(m["files"])))
    elif kind == "manifest-environment-string":
        _edit_json(copy / "manifest.json", lambda m: m.update(environment="Linux"))
    elif kind == "results-config-list":
        _edit_json(copy / "results.json", lambda r: r.update(config=[]))
    elif kind == "config-not-utf8":
        (copy / "config.toml").write_bytes(b'title = "\xff"\n')
    return copy


MALFORMED = {  # kind -> what the one line says
    "manifest-files-list": "manifest.json: files is not a table of file names and sha256",
    "manifest-environment-string": 'manifest.json: environment is not a table (it is "Linux")',
    "results-config-list": "results.json records no config table (config is [])",
    "config-not-utf8": "config.toml is not UTF-8 text (invalid start byte at byte 9)",
    "pdf-bomb": "bomb.pdf is not a readable PDF (LimitReachedError: Limit reached while "
                "decompressing",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_report_is_one_line_of_bad_input(
    report: Path, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9, item 11: each of these was a traceback."""
    path = _malformed(report, tmp_path, kind)
    assert cli.main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("reportgen: error: verify: "), err
    assert MALFORMED[kind] in err


# ---------------------------------------------------------------- the PDF's own bytes


def _flip_a_byte_of_the_first_page(pdf: Path) -> None:
    """Change one byte inside the first page's content stream (the file stays readable)."""
    from pypdf import PdfReader

    contents = PdfReader(pdf).pages[0].raw_get("/Contents")
    number = (contents[0] if isinstance(contents, list) else contents).idnum
    data = bytearray(pdf.read_bytes())
    header = re.search(rb"(?<![0-9])%d 0 obj" % number, data)
    assert header is not None
    start = data.index(b"stream", header.end()) + len(b"stream\n") + 16
    data[start] ^= 0x01
    pdf.write_bytes(bytes(data))


def test_a_changed_page_of_a_pdf_alone_is_found(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9, item 7: a byte flipped in a page's content stream still gave "reproduced"."""
    alone = tmp_path / "handout.pdf"
    shutil.copy(report / "handout.pdf", alone)
    _flip_a_byte_of_the_first_page(alone)
    assert cli.main(["verify", str(alone)]) == 1
    out = capsys.readouterr().out
    assert "  handout.pdf: differs from the PDF rebuilt from its config (first difference " in out


def test_a_changed_page_is_found_even_with_the_manifest_updated(
    tampered: tuple[int, str]
) -> None:
    code, out = tampered
    assert code == 1
    assert "  handout.pdf: differs from the rebuilt file (first difference at byte " in out
    assert "handout.pdf: sha256 differs" not in out


@pytest.fixture
def layouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times each PDF made in this test was laid out, in order."""
    from reportgen.render import pagination

    counts: list[int] = []
    fill_pages = pagination.fill_pages

    def counted(html: str, layout: Callable[[str], Any], *args: Any) -> Any:
        counts.append(0)

        def counting(text: str) -> Any:
            counts[-1] += 1
            return layout(text)
        return fill_pages(html, counting, *args)

    monkeypatch.setattr(pagination, "fill_pages", counted)
    return counts


def test_the_output_says_what_was_compared(report: Path, tmp_path: Path, capsys,
                                           layouts: list[int]) -> None:
    """... and the rebuild reads the figure moves that the build kept in the cache: each PDF
    is laid out once (the small handout needs moves: laid out afresh, more than once)."""
    files = sum(path.is_file() for path in report.rglob("*"))
    marks = len(re.findall(r"data-claim=", (report / "index.html").read_text()))
    assert marks > 20
    assert cli.main(["verify", str(report)]) == 0
    out = capsys.readouterr().out
    assert "exact: same platform" in out.splitlines()[0]
    assert out.splitlines()[-1] == (
        "reproduced: compared every number of results.json with a recomputation; every "
        "file's sha256 with manifest.json; config.toml with results.json's config; re-checked "
        f"the {marks} claims marked in index.html on the recomputed results ({marks} matched); "
        f"the bytes of every file ({files}) with a rebuild (index.html and handout.pdf "
        "included)")
    alone = tmp_path / "handout.pdf"  # the PDF on its own, as a student may get it
    shutil.copy(report / "handout.pdf", alone)
    assert cli.main(["verify", str(alone)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "reproduced: compared every number of the attached results.json with a recomputation; "
        "the attached config.toml with results.json's config; the PDF's own bytes with a "
        "rebuild")
    assert layouts == [1, 1]
    assert cli.main(["build", str(report / "config.toml"), "--out", str(tmp_path / "fresh"),
                     "--no-cache", "--format", "pdf", "--jobs", "1", "--quiet"]) == 0
    assert layouts[2] > 1


def test_a_claim_marked_with_another_verdict_is_a_difference(
    html_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21: verify re-evaluates every marked claim; a verdict that the recomputed
    results do not give is named, even where the rebuild is not compared (built elsewhere)."""
    copy = _copy(html_report, tmp_path)
    page = (copy / "index.html").read_text()
    mark = 'data-claim="bound_side" data-args=\'{"run":0}\' data-holds="yes"'
    assert mark in page
    (copy / "index.html").write_text(page.replace(mark, mark.replace('"yes"', '"no"')))
    _edit_json(copy / "manifest.json", lambda m: (
        m["files"].update({"index.html": hashlib.sha256((copy / "index.html").read_bytes())
                          .hexdigest()}),
        m["environment"]["packages"].update(weasyprint="61.0")))
    assert cli.main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "index.html: claim bound_side (run=0): marked does not hold, recomputed holds" in out
    assert "sha256 differs" not in out


def test_a_report_built_elsewhere_is_not_rebuilt_and_says_so(
    html_report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(html_report, tmp_path)
    _edit_json(copy / "manifest.json",
               lambda m: m["environment"]["packages"].update(weasyprint="61.0"))
    assert cli.main(["verify", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "float64 tolerance" in out and "(differs: packages)" in out
    assert out.splitlines()[-1].endswith(
        "; the files' bytes were not compared with a rebuild: it was built elsewhere "
        f"(weasyprint 61.0 -> {metadata.version('weasyprint')})")


def test_a_report_made_with_custom_templates_says_it_was_not_rebuilt(
    small_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    templates = tmp_path / "templates"
    (templates / "partials").mkdir(parents=True)
    (templates / "partials/provenance.html").write_text("<footer>ours</footer>\n")
    folder = tmp_path / "custom"
    assert cli.main(["build", str(small_config), "--templates", str(templates), "--format",
                     "html", "--out", str(folder), "-q"]) == 0
    assert cli.main(["verify", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(
        "the files' bytes were not compared with a rebuild: the report was made with custom "
        "templates (--templates), which it does not carry")
def test_a_report_made_before_the_schema_grew_still_reproduces(html_report: Path, tmp_path: Path,
                                                                capsys) -> None:
    """results.json only ever gains keys: a report without the newer ones is not wrong."""
    import hashlib
    import re

    copy = tmp_path / "older"
    shutil.copytree(html_report, copy)
    results = json.loads((copy / "results.json").read_text())
    for run in results["runs"]:
        del run["shuffles"], run["full_batch_twin"]
    del results["ols"]["xtx"], results["ols"]["xty"], results["config"]["pdf"]
    (copy / "results.json").write_text(json.dumps(results, sort_keys=True, indent=1))
    toml = re.sub(r"\n\[pdf\]\nstandard = \"[^\"]*\"\n", "\n", (copy / "config.toml").read_text())
    (copy / "config.toml").write_text(toml)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["environment"]["git_commit"] = "0" * 40  # built by the older code
    for name in ("results.json", "config.toml"):
        manifest["files"][name] = hashlib.sha256((copy / name).read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1))
    assert cli.main(["verify", str(copy)]) == 0, capsys.readouterr().out
    results["runs"][0]["final_loss"] = _scaled(results["runs"][0]["final_loss"])
    (copy / "results.json").write_text(json.dumps(results, sort_keys=True, indent=1))
    assert cli.main(["verify", str(copy)]) == 1  # what it does record is still compared


STUDENT_COPY = """\
[data]
n = 30
[surface]
resolution = 20
[[runs]]
epochs = 3
[[exercises]]
id = "stable-rate"
prompt = "Compute 2/L."
answer = "diagnostics.max_stable_lr"
tolerance = 0.001
points = 1
"""


def test_a_student_copy_says_one_true_thing(tmp_path: Path, capsys) -> None:
    """It said "compared no numbers (a student copy carries no results...)" and then
    "config.toml with results.json's config" (issue 22, item 17)."""
    config = tmp_path / "course.toml"
    config.write_text(STUDENT_COPY, encoding="utf-8")
    folder = tmp_path / "student"
    assert cli.main(["build", str(config), "--format", "html", "--out", str(folder),
                     "-q"]) == 0
    assert not (folder / "results.json").exists()  # a student copy
    assert cli.main(["verify", str(folder)]) == 0
    files = sum(path.is_file() for path in folder.rglob("*"))
    marks = (folder / "index.html").read_text(encoding="utf-8").count(" data-claim=")
    assert marks > 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "reproduced: compared its numbers through a rebuild (a student copy carries no "
        "results.json: config.toml was recomputed); every file's sha256 with manifest.json; "
        f"re-checked the {marks} claims marked in index.html on the recomputed results "
        f"({marks} matched); the bytes of every file ({files}) with a rebuild (index.html "
        "included)")
    copy = _copy(folder, tmp_path)
    _edit_json(copy / "manifest.json",
               lambda m: m["environment"]["packages"].update(weasyprint="61.0"))
    assert cli.main(["verify", str(copy)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("reproduced: compared no numbers (a student copy carries no "
                           "results.json, and it was not rebuilt); every file's sha256")
    assert "results.json's config" not in last
