"""A project page renders its description within a budget, once per change of the project."""
from __future__ import annotations

import time

import pytest

from shop.services import services_of
from tests.factories import make_wheel
from tests.functional.conftest import upload

pytestmark = pytest.mark.fault


def nested_substitutions(levels: int) -> str:
    """reStructuredText of a few hundred bytes that expands to 2**levels substitutions."""
    lines = ["|a0|", ""] + [f".. |a{i}| replace:: |a{i + 1}| |a{i + 1}|" for i in range(levels)]
    return "\n".join(lines + [f".. |a{levels}| replace:: x"])


@pytest.mark.parametrize("content_type", ["text/x-rst", ""])
def test_nested_substitutions_are_shown_as_plain_text(app, content_type):
    upload(app, make_wheel("bomb", "1.0"), description=nested_substitutions(14),
           description_content_type=content_type)
    started = time.monotonic()
    page = app.get("/repo/default/bomb/+browse")
    assert time.monotonic() - started < 2  # a guard only: rendered, 14 levels take seconds
    assert "substitutions, the limit of this index" in page.text  # refused, and says why
    assert ".. |a0| replace:: |a1| |a1|" in page.text  # the text itself, escaped


def test_substitutions_within_the_budget_are_rendered(app):
    upload(app, make_wheel("badges", "1.0"), description=nested_substitutions(5),
           description_content_type="text/x-rst")
    page = app.get("/repo/default/badges/+browse")
    assert "limit of this index" not in page.text
    assert "x " * 31 + "x" in page.text  # 32 substitutions, expanded
    assert "replace::" not in page.text


def test_a_description_is_rendered_once_per_change(app):
    descriptions = services_of(app.app.registry).descriptions
    upload(app, make_wheel("demo", "1.0"), description="Hello *there*",
           description_content_type="text/x-rst")
    before = descriptions.renders
    for _ in range(3):
        assert "<em>there</em>" in app.get("/repo/default/demo/+browse").text
    assert descriptions.renders == before + 1
    upload(app, make_wheel("demo", "2.0"), description="Bye *now*",
           description_content_type="text/x-rst")
    assert "<em>now</em>" in app.get("/repo/default/demo/+browse").text
    assert "<em>now</em>" in app.get("/repo/default/demo/+browse").text
    assert descriptions.renders == before + 2


@pytest.mark.parametrize("description", [">" * 20000 + " a", "<div>" * 20000 + "a"])
def test_deeply_nested_markdown_is_shown_as_plain_text(app, description):
    upload(app, make_wheel("deep", "1.0"), description=description,
           description_content_type="text/markdown")
    page = app.get("/repo/default/deep/+browse")
    assert "levels deep, the limit of this index" in page.text
    assert "&lt;div&gt;" in page.text or "&gt;&gt;&gt;" in page.text  # the text, escaped


def test_markdown_nested_within_the_budget_is_rendered(app):
    upload(app, make_wheel("quoted", "1.0"), description="> > quoted *twice*\n\n<div>ok</div>",
           description_content_type="text/markdown")
    page = app.get("/repo/default/quoted/+browse")
    assert "limit of this index" not in page.text
    assert "<em>twice</em>" in page.text and "<blockquote>" in page.text


def test_rst_nested_deeper_than_docutils_recurses_is_shown_as_plain_text(app):
    upload(app, make_wheel("deep", "1.0"), description="- " * 3000 + "a",
           description_content_type="text/x-rst")
    page = app.get("/repo/default/deep/+browse")  # not a 500 from a RecursionError
    assert "it nests deeper than reStructuredText can be rendered" in page.text
