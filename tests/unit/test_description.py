"""Counting what a description's markup expands to, without expanding it."""
from __future__ import annotations

import pytest

from shop.pages.description import MAX_SUBSTITUTIONS, markdown_depth, substitutions

pytestmark = pytest.mark.fault


def test_substitutions_count_nested_references_once_each_without_expanding():
    levels = "\n".join(f".. |a{i}| replace:: |a{i + 1}| |a{i + 1}|" for i in range(3))
    assert substitutions(f"|a0|\n\n{levels}\n.. |a3| replace:: x") == 15  # 1 + 2 + 4 + 8
    assert substitutions("no substitutions here") == 0


def test_substitution_names_are_matched_as_docutils_matches_them():
    # Names are case-insensitive and whitespace-normalized; definitions may sit in a block.
    text = "|A  b|\n\n- item\n\n  .. |a b| replace:: |c| |c| |c|\n  .. |C| replace:: y"
    assert substitutions(text) == 4


def test_a_circular_or_exponential_definition_is_counted_to_just_over_the_budget():
    assert substitutions("|a|\n\n.. |a| replace:: |b|\n.. |b| replace:: |a|") == 3
    levels = "\n".join(f".. |a{i}| replace:: |a{i + 1}| |a{i + 1}|" for i in range(200))
    assert substitutions(f"|a0|\n\n{levels}") == MAX_SUBSTITUTIONS + 1


def test_markdown_depth_counts_block_quotes_and_unclosed_elements():
    assert markdown_depth("> a\n> > b\n\n<div><p>x</p><br></div>") == 2
    assert markdown_depth("<div>" * 30 + "</div>" * 40 + "<img src=x/>") == 30
