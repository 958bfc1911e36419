"""Provenance: what produced a report, and the sha256 of everything in it.

Nothing here depends on the wall clock, the host name or absolute paths, so two builds
of the same config on the same machine and versions give the same manifest.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from reportgen._version import __version__
from reportgen.layout import BATCH_FILE as BATCH_FILE
from reportgen.layout import MANIFEST_FILE as MANIFEST_FILE

SCHEMA = "reportgen.manifest/1"
#: A batch folder's record of its variants (``reportgen batch``; read by verify and grade).
BATCH_SCHEMA = "reportgen.batch/1"
#: Recorded (as ``"templates": "custom"``) only when a build used --templates: verify
#: cannot rebuild such a report's HTML and PDF, and says so.
TEMPLATES, CUSTOM_TEMPLATES = "templates", "custom"
PACKAGES = (
    "jax", "jaxlib", "numpy", "optax", "matplotlib", "jinja2", "weasyprint", "fonttools",
    "pydantic", "pydyf", "nbformat",
)


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape the numbers and the output."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> str | None:
    """The checkout's commit when reportgen runs from a git checkout, else None."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def file_hashes(
    files: Mapping[str, bytes], skip: tuple[str, ...] = (MANIFEST_FILE,)
) -> dict[str, str]:
    """sha256 of every file (bytes by relative POSIX path) but those in ``skip``, sorted."""
    return {
        name: hashlib.sha256(data).hexdigest()
        for name, data in sorted(files.items())
        if name not in skip
    }


def environment(
    compute_env: dict[str, Any], render_env: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Versions and platform; ``compute_env`` carries backend, device and XLA facts,
    ``render_env`` what the renderer reports of itself (FreeType's version)."""
    return {
        "reportgen": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": f"{platform.system()}-{platform.machine()}",
        "packages": package_versions(),
        **(render_env or {}),
        **compute_env,
    }


def build_manifest(
    config_normalised: dict[str, Any],
    config_digest: str,
    compute_env: dict[str, Any],
    render_env: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest without file hashes (added once the files exist)."""
    return {
        "schema": SCHEMA,
        "config": config_normalised,
        "config_sha256": config_digest,
        "environment": environment(compute_env, render_env),
        "files": {},
    }


def dumps(manifest: dict[str, Any]) -> str:
    """Canonical JSON text of a manifest."""
    return json.dumps(manifest, sort_keys=True, indent=1, allow_nan=False) + "\n"
