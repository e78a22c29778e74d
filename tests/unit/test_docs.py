"""The README (the package's long description) and the changelog render cleanly."""
import io
import re
from pathlib import Path

import pytest
from readme_renderer.rst import render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["README.rst", "CHANGES.rst"])
def test_document_renders_without_warnings(name):
    warnings = io.StringIO()
    html = render((ROOT / name).read_text(encoding="utf-8"), stream=warnings)
    assert html is not None and warnings.getvalue() == "", warnings.getvalue()


def architecture_section() -> str:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    start = readme.index("\nArchitecture\n")
    return readme[start:readme.index("\nBenchmarks\n", start)]


def test_every_module_the_architecture_section_names_exists():
    named = re.findall(r"``((?:shop/)?[a-z_/]+\.py)(?:::(\w+))?``", architecture_section())
    assert len(named) > 20
    missing = []
    for path, function in named:
        source = ROOT / path if path.startswith("shop/") else ROOT / "shop" / path
        if not source.is_file():
            missing.append(path)
        elif function and f"def {function}(" not in source.read_text(encoding="utf-8"):
            missing.append(f"{path}::{function}")
    assert missing == []


def test_the_package_map_lists_every_package():
    mapped = set(re.findall(r"^``shop/(\w+)/``", architecture_section(), re.MULTILINE))
    packages = {p.name for p in (ROOT / "shop").iterdir() if (p / "__init__.py").is_file()}
    assert mapped == packages
