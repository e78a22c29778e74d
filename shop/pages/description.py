"""A project's long description as HTML: rendered within a budget, once per change of its project.

readme_renderer renders a description as PyPI does. docutils expands nested substitutions
(``.. |a| replace:: |b| |b|``) without a limit, so a few hundred bytes of reStructuredText can
take minutes, and recurses once per level of nesting; the Markdown renderer and the sanitizer
take time growing with the square of the nesting depth. A description over these budgets is
shown as escaped plain text with a note that says why instead.
"""
from __future__ import annotations

import io
import re

from docutils.frontend import get_default_settings
from docutils.nodes import substitution_definition, substitution_reference
from docutils.parsers.rst import Parser
from docutils.utils import new_document
from readme_renderer import markdown, rst, txt

from shop.pages.lru import BoundedLRU

# Substitution references a reStructuredText description may expand to. Real READMEs use
# tens (badges); 13 levels of doubling (8192) already cost over a second to render.
MAX_SUBSTITUTIONS = 1000
# Characters of rendered descriptions kept per process.
CACHE_CHARS = 32 * 1024**2

# Levels of block quotes or HTML elements a Markdown description may nest: 10000 levels
# take half a second to render and sanitize, 50000 over twenty.
MAX_DEPTH = 500
_LINE_PREFIX = re.compile(r"^[ \t>]*", re.MULTILINE)  # a line's block-quote markers
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*?(/?)>")
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


def substitutions(text: str) -> int:
    """How many substitution references docutils would make of ``text`` (counted without
    expanding them; counting stops once over the budget)."""
    document = _parse(text)
    names = document.substitution_names
    weights: dict[str, int] = {}

    def weight(name: str) -> int:
        # One for the reference, plus what its definition expands to; a circular definition
        # counts once (docutils refuses it).
        if name not in weights:
            weights[name] = 1
            definition = document.substitution_defs.get(name)
            nested = definition.findall(substitution_reference) if definition is not None else ()
            weights[name] = min(MAX_SUBSTITUTIONS + 1, 1 + sum(
                weight(names.get(ref["refname"].lower(), "")) for ref in nested))
        return weights[name]

    total = 0
    for ref in document.findall(substitution_reference):
        if not _in_definition(ref):
            total += weight(names.get(ref["refname"].lower(), ""))
            if total > MAX_SUBSTITUTIONS:
                break
    return total


def _in_definition(node) -> bool:
    while node is not None:
        if isinstance(node, substitution_definition):
            return True
        node = node.parent
    return False


def _parse(text: str):
    """The document docutils parses from ``text``, before any transform (so none expands)."""
    settings = get_default_settings(Parser)
    vars(settings).update(rst.SETTINGS, warning_stream=io.StringIO())  # as readme_renderer
    document = new_document("<description>", settings)
    Parser().parse(text, document)
    return document


class OverBudget(Exception):
    """A description whose rendering would cost more than this index allows; says why."""


def render(metadata: dict) -> str | None:
    """The long description as sanitized HTML (readme_renderer, as PyPI renders it), or None;
    one over the budget is shown as escaped plain text after a note that says why."""
    text = metadata.get("description") or ""
    if not isinstance(text, str) or not text.strip():
        return None
    mime, _, params = str(metadata.get("description_content_type") or "").partition(";")
    mime = mime.strip().lower()
    try:
        rendered = _render(text, mime, params)
    except OverBudget as error:
        note = f'<p class="note">This description is shown as plain text: {error}</p>'
        return note + txt.render(text)
    return rendered if rendered is not None else txt.render(text)


def _render(text: str, mime: str, params: str) -> str | None:
    if mime == "text/markdown":
        if markdown_depth(text) > MAX_DEPTH:
            raise OverBudget(f"it nests more than {MAX_DEPTH} levels deep, "
                             "the limit of this index.")
        variant = "CommonMark" if "variant=commonmark" in params.replace(" ", "").lower() else "GFM"
        return markdown.render(text, variant=variant)
    if mime == "text/plain":
        return None
    try:  # reStructuredText, also when no type is given (as PyPI does)
        if substitutions(text) > MAX_SUBSTITUTIONS:
            raise OverBudget(f"its reStructuredText expands to more than {MAX_SUBSTITUTIONS} "
                             "substitutions, the limit of this index.")
        return rst.render(text)
    except RecursionError:  # docutils recurses once per level of nesting
        raise OverBudget("it nests deeper than reStructuredText can be rendered.") from None


def markdown_depth(text: str) -> int:
    """How deep Markdown nests block quotes or HTML elements (both renderers, and the
    sanitizer, take time growing with the square of the depth)."""
    quotes = max((m.group().count(">") for m in _LINE_PREFIX.finditer(text)), default=0)
    depth = deepest = 0
    for tag in _TAG.finditer(text):
        if tag.group(3) or tag.group(2).lower() in _VOID:
            continue
        depth = max(0, depth - 1) if tag.group(1) else depth + 1
        deepest = max(deepest, depth)
    return max(quotes, deepest)


class Descriptions:
    """Rendered descriptions shared by every thread of a process, kept under the release's
    oid with the change counter of its project, so a page view costs one render per change."""

    def __init__(self, max_chars: int = CACHE_CHARS) -> None:
        self._html: BoundedLRU[tuple[int, str | None]] = BoundedLRU(
            max_chars, lambda entry: len(entry[1] or "")
        )
        self.renders = 0  # descriptions rendered since start (the cache's misses)

    def get(self, release) -> str | None:
        """The description of ``release`` as HTML, rendered once per change of its project."""
        counter = release.__parent__.serial
        # Only what is committed is kept: an uncommitted release or counter may still abort.
        committed = (release._p_oid is not None and not release._p_changed
                     and counter._p_oid is not None and not counter._p_changed)
        if committed:
            hit = self._html.get(release._p_oid)
            if hit is not None and hit[0] == counter.value:
                return hit[1]
        self.renders += 1
        rendered = render(release.metadata)
        if committed:
            self._html.put(release._p_oid, (counter.value, rendered))
        return rendered
