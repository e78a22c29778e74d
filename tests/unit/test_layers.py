"""The layering import-linter cannot express (it forbids only whole external packages)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SHOP = Path(__file__).resolve().parents[2] / "shop"
DOMAIN = ("access", "hosting", "mirror", "pages", "storage.py")
# Pyramid's view and response machinery: views answer requests, the domain never does.
HTTP = ("pyramid.view", "pyramid.httpexceptions", "pyramid.renderers", "pyramid.response")


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def modules(*parts: str) -> list[Path]:
    paths = []
    for part in parts:
        target = SHOP / part
        paths += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return paths


def offending(paths: list[Path], allowed) -> list[str]:
    return [
        f"{path.relative_to(SHOP.parent)}:{line} imports {module}"
        for path in paths for line, module in imported(path) if not allowed(module)
    ]


def test_the_model_uses_only_pyramids_acls():
    def allowed(module: str) -> bool:
        return not module.startswith("pyramid") or module == "pyramid.authorization"

    assert offending(modules("model"), allowed) == []


def test_domain_packages_answer_no_http_themselves():
    def allowed(module: str) -> bool:
        return not module.startswith(HTTP)

    assert offending(modules(*DOMAIN), allowed) == []


@pytest.mark.parametrize("source, module", [
    ("from pyramid.view import view_config\n", "pyramid.view"),
    ("def f():\n    import pyramid.request\n", "pyramid.request"),
])
def test_the_check_sees_top_level_and_lazy_imports(tmp_path, source, module):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert [m for _, m in imported(path)] == [module]
