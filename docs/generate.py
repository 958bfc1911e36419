"""Generate the documentation's reference pages and gallery from the code (never by hand).

    python docs/generate.py [--gallery]

- ``reference/config.md`` from the config's JSON Schema (the pydantic model): every key,
  its type, default, range or allowed values, and its description;
- ``reference/cli.md`` from the argument parser: every command and option;
- ``reference/templates.md`` from the typed definition of the template context that the
  renderer itself uses (``reportgen.render.context``), with example values from the
  default handout, and every filter;
- ``gallery.md`` (with ``--gallery``): the first page of each shipped handout as an
  image, beside its config;
- ``css/pygments.css``: the colours of the code Pygments highlights at build time (the
  site loads nothing from a CDN).

``nox -s docs`` runs this, then ``mkdocs build --strict``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

from reportgen.config import json_schema  # noqa: E402

#: Each model of the schema, the TOML table it is, and its order on the page.
TABLES = [
    ("Config", "top level"),
    ("DataConfig", "[data]"),
    ("SurfaceConfig", "[surface]"),
    ("RunConfig", "[[runs]]"),
    ("SweepConfig", "[sweep]"),
    ("PdfConfig", "[pdf]"),
    ("ExerciseConfig", "[[exercises]]"),
    ("StudentsConfig", "[students]"),
    ("ConstraintsConfig", "[students.constraints]"),
    ("StudentConfig", "[student]"),
]


# ---------------------------------------------------------------- config


def _type(spec: Mapping[str, Any]) -> str:
    """A schema type in words: ``number``, ``[number, number]``, ``"a" | "b"``, a table."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        table = dict(TABLES).get(name, name)
        return f"table {table}" if not table.startswith("[[") else f"tables {table}"
    if "enum" in spec:
        return " \\| ".join(json.dumps(value) for value in spec["enum"])
    if "const" in spec:
        return json.dumps(spec["const"])
    if "anyOf" in spec:
        return " or ".join(_type(option) for option in spec["anyOf"])
    kind = spec.get("type")
    if kind == "array":
        if "prefixItems" in spec:
            return "[" + ", ".join(_type(item) for item in spec["prefixItems"]) + "]"
        return f"array of {_type(spec.get('items', {}))}"
    if kind == "object":
        extra = spec.get("additionalProperties")
        return "table" if not isinstance(extra, dict) else f"table of {_type(extra)}"
    if kind == "string" and spec.get("format") == "date":
        return "date"
    if kind == "null":
        return "unset"
    return str(kind or "any")


def _limits(spec: Mapping[str, Any]) -> str:
    words = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<",
             "minLength": "length >=", "maxLength": "length <=", "minItems": "items >=",
             "maxItems": "items <=", "pattern": "matches"}
    found = [f"{words[key]} `{spec[key]}`" for key in words if key in spec
             and not (key in ("minItems", "maxItems") and "prefixItems" in spec)]
    for option in spec.get("anyOf", []):
        found += [part for part in [_limits(option)] if part]
    return ", ".join(found)


def _made_default(model: str, key: str) -> str:
    """A default the schema cannot hold (made by a factory when the key is left out), in
    words: ``[]``, ``{}``, or "one [[runs]] table of defaults"."""
    from reportgen import config

    value = getattr(config, model).model_fields[key].get_default(call_default_factory=True)
    if isinstance(value, list) and value and hasattr(value[0], "model_dump"):
        table = dict(TABLES)[type(value[0]).__name__]
        count = "one" if len(value) == 1 else str(len(value))
        return f"{count} {table} table{'s' if len(value) > 1 else ''} of defaults"
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _default(model_name: str, model: Mapping[str, Any], key: str) -> str:
    """The default cell: "required" exactly where the schema requires the key."""
    spec = model["properties"][key]
    if key in model.get("required", ()):
        return "required"
    if "default" in spec:
        return f"`{json.dumps(spec['default'], ensure_ascii=False)}`"
    return _made_default(model_name, key)


def config_page() -> str:
    """reference/config.md: every key of every table."""
    schema = json_schema()
    models = {"Config": schema, **schema["$defs"]}
    lines = ["# Config reference", "",
             "Generated from the config's JSON Schema (`reportgen schema`, which editors "
             "read through the `#:schema` line of a config). Unknown keys are refused; "
             "every key has a default unless it says required (a config of only a `title` "
             "builds the default handout under that title).", ""]
    for name, table in TABLES:
        model = models[name]
        lines += [f"## {table}", "", model.get("description", ""), "",
                  "| key | type | default | limits | meaning |", "|---|---|---|---|---|"]
        for key, spec in model["properties"].items():
            meaning = spec.get("description", "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{key}` | {_type(spec)} | {_default(name, model, key)} | "
                         f"{_limits(spec)} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line


def _subparsers(parser: argparse.ArgumentParser,
                prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every subcommand by its command line, nested ones (``templates copy``) included."""
    for action in parser._actions:  # argparse keeps its subcommands here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub
                yield from _subparsers(sub, f"{prefix}{name} ")


def cli_page() -> str:
    """reference/cli.md: every command's help, as ``reportgen COMMAND --help`` prints it."""
    from reportgen.cli_parser import make_parser

    parser = make_parser()
    lines = ["# Command line reference", "",
             "Generated from the argument parser: each command's `--help`.", "",
             "Exit codes: 0 done, 1 a verification mismatch (or a failed variant, an "
             "unscored submission), 2 bad input (one line naming the field), 128 + the "
             "signal when interrupted (130 for Ctrl-C).", "", "```text",
             parser.format_help().rstrip(), "```", ""]
    for name, sub in _subparsers(parser):
        lines += [f"## reportgen {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- template context


def _example(value: Any) -> str:
    """A short example of a context value, as a template would print it."""
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(map(str, keys[:6])) + (", ..." if len(keys) > 6 else "")
        return f"a table: {shown}" if keys else "an empty table"
    if isinstance(value, list):
        return f"a list of {len(value)}" + (f" ({_example(value[0])})" if value else "")
    if hasattr(value, "svg") or hasattr(value, "data_uri"):
        return type(value).__name__
    text = repr(value) if not isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def templates_page() -> str:
    """reference/templates.md: every variable, run-view key and filter."""
    from reportgen import api, config
    from reportgen.render import context as context_module
    from reportgen.render.figures import make_figures
    from reportgen.render.format import FILTERS
    from reportgen.render.html import render_context

    results = api.compute(config.load("source-notebook")).value
    handout = render_context(results, None, make_figures(results))
    lines = ["# Template context reference", "",
             "Generated from the typed definition the renderer checks every context "
             "against (`reportgen.render.context.HandoutContext` and `RunView`): a renamed "
             "variable changes this page. Example values are the default handout's.", "",
             "## Variables", "", "| variable | type | meaning | example |", "|---|---|---|---|"]
    for name, (kind, meaning) in context_module.documented(context_module.HandoutContext).items():
        lines.append(f"| `{name}` | `{_cell(kind)}` | {_cell(meaning)} | "
                     f"{_cell(_example(handout[name]))} |")
    lines += ["", "## Each run (`runs[i]`, `run`)", "",
              "Every key of the run in results.json (`name`, `optimizer`, `learning_rate`, "
              "`thetas`, `losses`, `final_theta`, `final_loss`, `gap_to_ols`, `diverged`, "
              "...), and these:", "",
              "| key | type | meaning | example |", "|---|---|---|---|"]
    run = handout["runs"][0]
    for name, (kind, meaning) in context_module.documented(context_module.RunView).items():
        lines.append(f"| `{name}` | `{_cell(kind)}` | {_cell(meaning)} | "
                     f"{_cell(_example(run[name]))} |")
    lines += ["", "## Filters", "", "| filter | what it does | example |", "|---|---|---|"]
    samples = {"num": 0.48411023, "pct": 0.026522, "theta": [4.2221, 2.9685], "rate": 0.1,
               "above": 0.026522, "gap": 0.026522, "share": 0.0621, "factor": 13.52,
               "given": -10.0, "interval": [-10.0, 10.0], "in_sentence": "Batch gradient descent"}
    for name, function in FILTERS.items():
        doc = (function.__doc__ or "").strip().splitlines()[0]
        sample = samples.get(name)
        example = f"`{json.dumps(sample)}` → {function(sample)}" if sample is not None else ""
        lines.append(f"| `{name}` | {_cell(doc)} | {example} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- code colours


def pygments_css() -> str:
    """css/pygments.css: Pygments' default style for the ``.highlight`` blocks that
    pymdownx.highlight writes (mkdocs.yml)."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight") + "\n"


# ---------------------------------------------------------------- gallery


def reportgen(*args: str, cwd: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "reportgen", *args, "--quiet"], check=True, cwd=cwd)


def shipped_toml(name: str) -> dict[str, Any]:
    from reportgen.shipped import reports_dir

    return tomllib.loads((reports_dir() / f"{name}.toml").read_text(encoding="utf-8"))


def first_variant(name: str) -> list[str]:
    """``--set`` options that fix each ``[matrix]`` key at its first value (build refuses a
    matrix; a batch builds every variant)."""
    matrix = shipped_toml(name).get("matrix", {})
    return [f"--set={key}={json.dumps(values[0])}" for key, values in matrix.items()]


def course_copy(name: str, scratch: Path) -> Path:
    """The first student's copy of a course handout, as a lecturer makes it: ``reportgen
    init`` (a fresh salt), the roster cut to its first student, ``reportgen batch``."""
    course = scratch / f"{name}-course"
    subprocess.run([sys.executable, "-m", "reportgen", "init", str(course), "--from", name],
                   check=True, cwd=scratch, capture_output=True)
    config = course / f"{name}.toml"
    roster = course / tomllib.loads(config.read_text(encoding="utf-8"))["students"]["roster"]
    header, first, *_ = roster.read_text(encoding="utf-8").splitlines()
    roster.write_text(f"{header}\n{first}\n", encoding="utf-8")
    out = scratch / f"{name}-batch"
    reportgen("batch", str(config), "--format", "pdf", "--out", str(out),
              cwd=scratch)
    return out / "handouts" / f"{first.split(',')[0]}.pdf"


def gallery_page(images: Path) -> str:
    """gallery.md, and the first page of every shipped handout as a PNG in ``images``."""
    from reportgen.shipped import reports_dir, shipped_handouts

    images.mkdir(parents=True, exist_ok=True)
    lines = ["# Gallery", "", "The first page of each shipped handout (A4; of a study, its first "
             "variant; of a course, the first student's copy), and its config.", ""]
    names = shipped_handouts()
    with tempfile.TemporaryDirectory() as scratch:
        def first_page(name: str) -> None:
            out = Path(scratch) / name
            pdf = course_copy(name, Path(scratch)) if "students" in shipped_toml(name) else None
            if pdf is None:
                reportgen("build", name, *first_variant(name), "--format", "pdf", "--out",
                          str(out), cwd=scratch)
                pdf = out / "handout.pdf"
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1",
                            "-singlefile", str(pdf), str(images / name)], check=True)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:  # two builds at once
            list(pool.map(first_page, names))
    for name in names:
        config = reports_dir() / f"{name}.toml"
        lines += [f"## {name}", "", f"![The first page of {name}](gallery/{name}.png)", "",
                  "```toml", config.read_text(encoding="utf-8").rstrip(), "```", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", action="store_true",
                        help="also build every shipped handout for the gallery (slow)")
    args = parser.parse_args()
    reference = DOCS / "reference"
    reference.mkdir(exist_ok=True)
    (reference / "config.md").write_text(config_page(), encoding="utf-8")
    (reference / "cli.md").write_text(cli_page(), encoding="utf-8")
    (reference / "templates.md").write_text(templates_page(), encoding="utf-8")
    (DOCS / "css").mkdir(exist_ok=True)
    (DOCS / "css" / "pygments.css").write_text(pygments_css(), encoding="utf-8")
    if args.gallery:
        (DOCS / "gallery.md").write_text(gallery_page(DOCS / "gallery"), encoding="utf-8")
    elif not (DOCS / "gallery.md").exists():
        (DOCS / "gallery.md").write_text("# Gallery\n\nBuilt by `nox -s docs`.\n",
                                         encoding="utf-8")
    print(f"wrote the reference pages into {reference}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
