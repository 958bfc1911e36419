"""reportgen's own modules and the imports between them, read from the source (no import).

The compute cache and the figure and equation caches key on the source of the modules
they depend on (``code_digest``), and the tests check the layers and cycles from the same
graph: the module list comes from the package folders, never from hand-kept lists.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import pkgutil
from pathlib import Path

PACKAGE = "reportgen"
ROOT = Path(__file__).resolve().parent


@functools.cache
def all_modules() -> dict[str, Path]:
    """Every module of the package by dotted name, packages by their ``__init__.py``."""
    found = {PACKAGE: ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], prefix=f"{PACKAGE}."):
        relative = info.name.split(".")[1:]
        path = ROOT.joinpath(*relative)
        found[info.name] = path / "__init__.py" if info.ispkg else path.with_suffix(".py")
    return {name: path for name, path in sorted(found.items()) if path.is_file()}


def modules_under(package: str) -> list[str]:
    """The modules of ``package`` (itself included), sorted."""
    return [name for name in all_modules() if name == package or name.startswith(package + ".")]


@functools.cache
def imports_of(module: str) -> frozenset[str]:
    """The reportgen modules that ``module`` imports anywhere in its body (functions too).

    ``from reportgen.x import y`` counts as importing ``reportgen.x.y`` when that is a
    module, else ``reportgen.x``; parent packages that Python imports on the way are not
    counted (they are not dependencies of the code).
    """
    known = all_modules()
    tree = ast.parse(known[module].read_text(encoding="utf-8"))
    package = module if known[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None or not (base == PACKAGE or base.startswith(PACKAGE + ".")):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    found.discard(module)
    return frozenset(name for name in found if name in known)


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    if node.level == 0:
        return node.module
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def dependencies(modules: list[str]) -> list[str]:
    """``modules`` and everything they import, transitively, sorted."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports_of(name))
    return sorted(seen)


@functools.cache
def code_digest(package: str) -> str:
    """sha256 of the source of ``package`` and every module it imports: the code that ran
    (read once per process, as the modules were imported once)."""
    digest = hashlib.sha256()
    paths = all_modules()
    for name in dependencies(modules_under(package)):
        digest.update(name.encode() + b"\0" + paths[name].read_bytes() + b"\0")
    return digest.hexdigest()
