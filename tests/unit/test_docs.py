"""The README (the package's long description) and the changelog render cleanly."""
import io
from pathlib import Path

import pytest
from readme_renderer.rst import render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["README.rst", "CHANGES.rst"])
def test_document_renders_without_warnings(name):
    warnings = io.StringIO()
    html = render((ROOT / name).read_text(encoding="utf-8"), stream=warnings)
    assert html is not None and warnings.getvalue() == "", warnings.getvalue()
