"""The architecture: the layer rule, no import cycles, a lazy API, no import side effects.

Module lists come from the package folders (``reportgen.codebase``), never from a hand-kept
list: a module added to ``compute/`` or ``render/`` is checked the day it is added.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
import textwrap

import pytest

from reportgen import codebase as sources
from reportgen.store import cache


@functools.cache
def third_party_imports(module: str) -> frozenset[str]:
    """Top-level names of the other packages ``module`` imports anywhere in its body."""
    tree = ast.parse(sources.all_modules()[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    found.discard(sources.PACKAGE)
    return frozenset(found)


def find_cycle() -> list[str] | None:
    """One import cycle among the package's modules, or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(sources.imports_of(name)):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sources.all_modules():
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


RENDERING = ("matplotlib", "jinja2", "weasyprint")
HEAVY = ("jax", *RENDERING)


def _imported_after(code: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return {name.split(".")[0] for name in out.split()}


def test_the_layers_have_modules() -> None:
    assert len(sources.modules_under("reportgen.numerics")) >= 8
    assert len(sources.modules_under("reportgen.render")) >= 8
    assert len(sources.modules_under("reportgen.store")) >= 5


LAYERS = {  # package -> what neither it nor anything it imports may import
    "reportgen.render": ("jax", "jaxlib", "optax"),
    "reportgen.numerics": RENDERING,
    "reportgen.store": HEAVY,
    "reportgen.claims": HEAVY,
}


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_layer_rule_in_the_source(package: str) -> None:
    """Every module of the layer and every module it imports, function-level imports too."""
    for module in sources.dependencies(sources.modules_under(package)):
        forbidden = third_party_imports(module) & set(LAYERS[package])
        assert not forbidden, f"{module} (reached from {package}) imports {forbidden}"


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_layer_rule_at_run_time(package: str) -> None:
    """Importing every module of the layer loads none of what it must not."""
    code = "\n".join(f"import {module}" for module in sources.modules_under(package))
    assert not set(LAYERS[package]) & _imported_after(code)


def test_no_import_cycles() -> None:
    assert find_cycle() is None


def test_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = {"reportgen.a": {"reportgen.b"}, "reportgen.b": {"reportgen.a"}}
    monkeypatch.setattr(sources, "all_modules", lambda: dict.fromkeys(graph))
    monkeypatch.setattr(sources, "imports_of", lambda name: frozenset(graph[name]))
    assert find_cycle() == ["reportgen.a", "reportgen.b", "reportgen.a"]


def test_api_names_survive_importing_every_module() -> None:
    """No submodule shares a name with an API function (importing it would rebind it)."""
    code = textwrap.dedent("""
        import importlib, reportgen
        from reportgen import codebase as sources
        for name in sources.all_modules():
            if name != "reportgen.__main__":  # that one runs the command line
                importlib.import_module(name)
        print(all(callable(getattr(reportgen, name)) for name in
                  ("load_config", "compute", "build", "verify")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "True"


def test_import_reportgen_loads_nothing_heavy() -> None:
    loaded = _imported_after("import reportgen; reportgen.load_config('source-notebook')")
    assert not set(HEAVY) & loaded


def test_importing_compute_changes_no_jax_setting() -> None:
    code = textwrap.dedent("""
        import json, jax
        import reportgen.numerics.experiment, reportgen.numerics.model
        print(json.dumps([jax.config.jax_enable_x64, str(jax.config.jax_default_matmul_precision)]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert json.loads(out) == [False, "None"]


JAX_DRAW = textwrap.dedent("""
    import sys
    if sys.argv[1] == "model-first":
        import reportgen.numerics.model
    from reportgen.config import validate
    from reportgen.numerics.data import draw
    draws = draw(validate({"data": {"rng": "jax", "n": 5}}))
    print(repr(float(draws.data.y[0])), draws.data.x.dtype)
""")


def test_jax_draws_do_not_depend_on_what_was_imported_first() -> None:
    outputs = {
        order: subprocess.run([sys.executable, "-c", JAX_DRAW, order], capture_output=True,
                              text=True, check=True, timeout=120).stdout
        for order in ("data-first", "model-first")
    }
    assert outputs["data-first"] == outputs["model-first"]
    assert outputs["data-first"].split()[1] == "float64"


#: The config modules that define numbers (the models, their defaults, normalisation and
#: bounds), which the compute layer imports, and those that only read, write or explain.
CONFIG_NUMBERS = {"checks", "course_mode", "errors", "fields", "limits", "schema", "sections",
                  "spelling"}
CONFIG_WORDS = {"loading", "messages", "overrides", "reading", "schema_json", "shape",
                "validation", "writer"}


def test_cache_digest_covers_every_compute_module_and_what_they_import() -> None:
    covered = set(cache.compute_modules())
    assert set(sources.modules_under("reportgen.numerics")) <= covered
    assert {"reportgen.theory", "reportgen.optimizers", "reportgen.store.results"} <= covered
    assert not any(name.startswith("reportgen.render") for name in covered)
    config = {name for name in covered if name.startswith("reportgen.config")}
    assert config == {f"reportgen.config.{name}" for name in CONFIG_NUMBERS}


def test_the_config_modules_are_all_sorted_into_numbers_or_words() -> None:
    """A config module added later is decided on: in the compute cache's key, or not."""
    modules = {name.removeprefix("reportgen.config.")
               for name in sources.modules_under("reportgen.config")} - {"reportgen.config"}
    assert modules == CONFIG_NUMBERS | CONFIG_WORDS
    assert not CONFIG_NUMBERS & CONFIG_WORDS


def test_the_cache_imports_no_config() -> None:
    """The cache takes a key, not a config: it reaches no config module but the few that
    define the results' config type (``store.results`` holds the config it was made for)."""
    for module in ("reportgen.store.cache", "reportgen.store.manifest", "reportgen.store.output"):
        reached = {name for name in sources.dependencies([module])
                   if name.startswith("reportgen.config")}
        assert reached <= {f"reportgen.config.{name}" for name in CONFIG_NUMBERS}, module
        assert "reportgen.config" not in reached, module


#: The floors of the house, lowest first (DESIGN.md's data flow: config, numerics, store,
#: the claims about the results, render, pipeline, the course tools, the user's doors). A
#: module may import its own floor and the ones below, never one above. The results'
#: definition (``store.results``) and the package data's location (``shipped``) are
#: ground-floor facts that numerics and config use; the exercise kinds' arithmetic
#: (``store.kinds``, numpy only) is a formula like theory.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("reportgen._version", "reportgen.optimizers", "reportgen.xla_flags",
                "reportgen.interrupts", "reportgen.shipped", "reportgen.codebase",
                "reportgen.errors", "reportgen.layout", "reportgen.config")),
    ("formulas", ("reportgen.theory", "reportgen.formatting", "reportgen.store.kinds")),
    ("results", ("reportgen.store.results",)),
    ("numerics", ("reportgen.numerics",)),
    ("store", ("reportgen.store",)),
    ("claims", ("reportgen.claims",)),
    ("render", ("reportgen.render",)),
    ("pipeline", ("reportgen.pipeline", "reportgen.renderer_process")),
    ("tools", ("reportgen.course", "reportgen.watch", "reportgen.serve",
               "reportgen.verification", "reportgen.scaffold")),
    ("doors", ("reportgen.api", "reportgen.cli", "reportgen.cli_parser", "reportgen.__main__",
               "reportgen")),
]


def floor_of(module: str) -> int:
    """The floor a module lives on: the longest matching prefix decides."""
    best, length = None, -1
    for number, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = number, len(prefix)
    assert best is not None, f"{module} is on no floor: add it to FLOORS"
    return best


def test_every_import_points_down_or_level() -> None:
    """No arrow back up: function-level imports count too."""
    upward = [f"{module} ({FLOORS[floor_of(module)][0]}) imports {target} "
              f"({FLOORS[floor_of(target)][0]})"
              for module in sources.all_modules() for target in sources.imports_of(module)
              if floor_of(target) > floor_of(module)]
    assert not upward, "\n".join(upward)


def folder_of(module: str) -> str:
    """The folder a module belongs to (a subpackage), or the module itself at the top."""
    parts = module.split(".")
    known = sources.all_modules()
    folder = ".".join(parts[:2])
    is_package = known.get(folder) is not None and known[folder].name == "__init__.py"
    return folder if len(parts) > 1 and is_package else module


def test_no_circle_between_folders() -> None:
    edges: dict[str, set[str]] = {}
    for module in sources.all_modules():
        for target in sources.imports_of(module):
            a, b = folder_of(module), folder_of(target)
            if a != b and a != "reportgen" and b != "reportgen":
                edges.setdefault(a, set()).add(b)
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        seen[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if seen.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in seen and (found := visit(nxt, [*path, node])):
                return found
        seen[node] = 2
        return None

    for start in sorted(edges):
        if start not in seen:
            cycle = visit(start, [])
            assert cycle is None, " -> ".join(cycle)


def test_the_floor_test_sees_an_arrow_back_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The direction test can fail: numerics importing the renderer is caught."""
    real = sources.imports_of
    monkeypatch.setattr(sources, "imports_of", lambda name: real(name) | (
        {"reportgen.render.format"} if name == "reportgen.numerics.model" else set()))
    with pytest.raises(AssertionError, match=r"numerics\.model"):
        test_every_import_points_down_or_level()


def test_every_package_folder_goes_into_the_wheel() -> None:
    """pyproject.toml lists the packages by hand (templates/ and reports/ are mapped in);
    a folder missing from the list installs nowhere and the wheel fails at import."""
    import tomllib
    from pathlib import Path

    root = Path(sources.__file__).resolve().parent
    folders = {".".join(("reportgen", *init.parent.relative_to(root).parts))
               for init in root.rglob("__init__.py")}
    pyproject = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    assert folders <= listed, sorted(folders - listed)
