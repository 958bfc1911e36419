"""The authoring loop: the JSON Schema, init, templates and list (watch: test_watch_server.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reportgen import cli
from reportgen.config import json_schema, json_schema_text, resolve_path
from reportgen.config import load as load_config
from reportgen.shipped import reports_dir, shipped_handouts, templates_dir


def as_json(value: Any) -> Any:
    """TOML data as JSON data (dates become ISO strings, as editors validate them)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


@pytest.mark.parametrize("name", shipped_handouts())
def test_the_schema_accepts_every_shipped_config(name: str) -> None:
    path = resolve_path(name)
    assert path.read_text().startswith("#:schema ./reportgen.schema.json\n")
    validator().validate(as_json(tomllib.loads(path.read_text())))


def test_the_shipped_schema_file_is_the_generated_one() -> None:
    assert (reports_dir() / "reportgen.schema.json").read_text() == json_schema_text()


@pytest.mark.parametrize(("config", "where"), [
    ({"titel": "x"}, "'titel' was unexpected"),
    ({"data": {"n": 1}}, "1 is less than the minimum of 2"),
    ({"data": {"noise": -1}}, "-1 is less than the minimum of 0"),
    ({"runs": [{"optimizer": "sgd"}]}, "'sgd' is not one of"),
    ({"runs": [{"learning_rat": 0.1}]}, "'learning_rat' was unexpected"),
    ({"precision": "float16"}, "'float16' is not one of"),
])
def test_the_schema_refuses_unknown_keys_and_out_of_range_values(config: dict,
                                                                 where: str) -> None:
    errors = [error.message for error in validator().iter_errors(config)]
    assert any(where in message for message in errors), errors


def test_schema_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema()


def test_init_writes_a_folder_that_builds(tmp_path: Path) -> None:
    assert cli.main(["init", str(tmp_path / "new")]) == 0
    names = sorted(p.relative_to(tmp_path / "new").as_posix()
                   for p in (tmp_path / "new").rglob("*") if p.is_file())
    assert names == ["handout.toml", "reportgen.schema.json", "templates/README.md",
                     "templates/partials/provenance.html"]
    config = (tmp_path / "new" / "handout.toml").read_text()
    validator().validate(as_json(tomllib.loads(config)))
    templates = tmp_path / "new" / "templates"
    (templates / "partials" / "provenance.html").write_text("<p>Our own small print.</p>")
    assert cli.main(["build", str(tmp_path / "new" / "handout.toml"), "--templates",
                     str(templates), "--format", "html", "--out", str(tmp_path / "out"),
                     "-q"]) == 0
    assert "Our own small print." in (tmp_path / "out" / "index.html").read_text()


def test_init_writes_every_section_of_the_schema(tmp_path: Path) -> None:
    """Issue 23, item 3: "every section", but [pdf] and audience were missing. Each
    top-level key of the schema is in the new config, set or commented."""
    assert cli.main(["init", str(tmp_path)]) == 0
    config = (tmp_path / "handout.toml").read_text()
    for key, spec in json_schema()["properties"].items():
        table = any("$ref" in option or option.get("type") == "object"
                    or "$ref" in option.get("items", {}) for option in spec.get("anyOf", [spec]))
        line = rf"^#? *\[{{1,2}}{key}\]{{1,2}}" if table else rf"^#? *{key} = "
        assert re.search(line, config, re.M), key


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "handout.toml").write_text("mine")
    assert cli.main(["init", str(tmp_path)]) == 2
    assert "already exists; reportgen init never overwrites" in capsys.readouterr().err
    assert (tmp_path / "handout.toml").read_text() == "mine"
    assert not (tmp_path / "templates").exists()


@pytest.mark.parametrize("in_the_way", ["file", "link"])
def test_init_checks_every_path_before_writing_any(tmp_path: Path, in_the_way: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22, item 13: with p/templates a file (or a link to someone's folder), init
    stopped with "File exists" after writing handout.toml and the schema."""
    folder, elsewhere = tmp_path / "p", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    if in_the_way == "file":
        (folder / "templates").write_text("mine")
    else:
        (folder / "templates").symlink_to(elsewhere)
    assert cli.main(["init", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"reportgen: error: init: {folder / 'templates'} is in the way: expected a "
                   "folder (or nothing) there; nothing was written"]
    assert [p.name for p in folder.iterdir()] == ["templates"]
    assert list(elsewhere.iterdir()) == []
    (folder / "templates").unlink()
    assert cli.main(["init", str(folder)]) == 0  # the rerun works


# ---------------------------------------------------------------- init --from, list, templates


def test_init_from_a_course_copies_its_roster_schema_and_a_fresh_salt(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23, item 5: a course started without reaching into site-packages."""
    salts = []
    for folder in (tmp_path / "lab", tmp_path / "lab2"):
        assert cli.main(["init", str(folder), "--from", "lab-course"]) == 0
        names = sorted(p.name for p in folder.iterdir())
        assert names == [".gitignore", ".salt", "lab-course-roster.csv", "lab-course.toml",
                         "reportgen.schema.json"]
        assert (folder / "lab-course.toml").read_text() == \
            (reports_dir() / "lab-course.toml").read_text()
        config = load_config(str(folder / "lab-course.toml"))
        assert config.students is not None
        assert (folder / config.students.roster).read_text() == \
            (reports_dir() / "lab-course-roster.csv").read_text()
        assert json.loads((folder / "reportgen.schema.json").read_text()) == json_schema()
        salt = (folder / ".salt").read_text()
        assert re.fullmatch(r"[0-9a-f]{64}\n", salt)
        assert (folder / ".salt").stat().st_mode & 0o777 == 0o600
        assert ".salt" in (folder / ".gitignore").read_text().splitlines()
        salts.append(salt)
    assert salts[0] != salts[1]
    err = capsys.readouterr().err
    assert f"next: reportgen batch {tmp_path / 'lab2' / 'lab-course.toml'}" in err


def test_init_from_a_handout_copies_its_config_and_schema(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init", str(tmp_path), "--from", "optimizers"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["optimizers.toml",
                                                         "reportgen.schema.json"]
    assert f"next: reportgen build {tmp_path / 'optimizers.toml'}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        cli.main(["init", str(tmp_path / "x"), "--from", "no-such-handout"])
    assert stopped.value.code == 2 and not (tmp_path / "x").exists()


def test_list_names_each_shipped_handout_with_its_command(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    commands = dict(re.findall(r"^  ([\w-]+) +reportgen (build|batch) ", out, re.M))
    assert set(commands) == set(shipped_handouts())
    assert commands["lab-course"] == commands["learning-rate-study"] == "batch"
    assert commands["source-notebook"] == commands["optimizers"] == "build"
    assert "6 variants of runs.0.learning_rate" in out
    assert "a handout per student of a 4-student roster, 4 exercises" in out


@pytest.mark.slow
def test_a_copied_template_overrides_the_shipped_one(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["templates", "list"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"handout.html", "handout.css", "partials/provenance.html"} <= set(listed)
    mine = tmp_path / "mine"
    assert cli.main(["templates", "copy", "partials/provenance.html", str(mine)]) == 0
    copied = mine / "partials" / "provenance.html"
    assert copied.read_text() == (templates_dir() / "partials" / "provenance.html").read_text()
    copied.write_text(copied.read_text().replace("</footer>", "<p>Copied and edited.</p></footer>"))
    assert cli.main(["templates", "copy", "partials/provenance.html", str(mine)]) == 2
    assert "already exists; reportgen templates copy never overwrites" in \
        capsys.readouterr().err
    assert "Copied and edited." in copied.read_text()
    assert cli.main(["build", "--templates", str(mine), "--format", "html", "--out",
                     str(tmp_path / "out"), "-q"]) == 0
    assert "<p>Copied and edited.</p>" in (tmp_path / "out" / "index.html").read_text()


# ---------------------------------------------------------------- watch
# ``reportgen watch --serve`` (rebuilds on edits, a broken config, the reload script in the
# served page only) is tested in test_watch_server.py, on that module's watcher.


def test_every_key_of_the_schema_is_described() -> None:
    schema = json_schema()
    models = {"Config": schema, **schema["$defs"]}
    missing = [f"{model}.{key}" for model, spec in models.items()
               for key, field in spec.get("properties", {}).items() if not field.get("description")]
    assert missing == []
