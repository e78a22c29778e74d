"""The project's own install is quiet: setuptools finds every package and its data files.

A first ``make run`` printed about 95 lines of setuptools warnings (``shop.static`` and
``shop.templates`` "absent from the packages configuration"), burying the admin password
printed after them. The build runs here with the test environment's setuptools, offline, in
a copy of the project (so no ``build/`` or egg-info is left in the checkout).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The built package's directory, and what the build printed."""
    tmp_path = tmp_path_factory.mktemp("packaging")
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(
        ".venv", ".cache", ".git", "var", "build", "*.egg-info", "__pycache__", "test-artefacts"))
    out = tmp_path / "lib"
    result = subprocess.run(
        [sys.executable, "-W", "default", "setup.py", "-q", "build_py", "-d", str(out)],
        cwd=project, capture_output=True, text=True, timeout=120, check=True)
    return out, result.stdout + result.stderr


def test_building_the_package_warns_about_nothing(built):
    _, output = built
    lines = [line for line in output.splitlines()
             if "warn" in line.lower() and "byte-compiling is disabled" not in line]
    assert not lines, output


def test_the_templates_and_static_files_are_packaged(built):
    out, _ = built
    packaged = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    for path in (ROOT / "shop").rglob("*"):
        if path.is_file() and path.parent.name in ("templates", "static"):
            assert path.relative_to(ROOT).as_posix() in packaged
