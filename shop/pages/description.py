"""A project's long description as HTML: rendered within a budget, once per change of its project.

readme_renderer renders a description as PyPI does. docutils expands nested substitutions
(``.. |a| replace:: |b| |b|``) without a limit, so a few hundred bytes of reStructuredText can
take minutes; such a description is shown as escaped plain text with a note instead.
"""
from __future__ import annotations

import io

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

OVER_BUDGET = (
    '<p class="note">This description is shown as plain text: its reStructuredText expands '
    f"to more than {MAX_SUBSTITUTIONS} substitutions, the limit of this index.</p>"
)


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


def render(metadata: dict) -> str | None:
    """The long description as sanitized HTML (readme_renderer, as PyPI renders it), or None."""
    text = metadata.get("description") or ""
    if not isinstance(text, str) or not text.strip():
        return None
    mime, _, params = str(metadata.get("description_content_type") or "").partition(";")
    mime = mime.strip().lower()
    rendered = None
    if mime == "text/markdown":
        variant = "CommonMark" if "variant=commonmark" in params.replace(" ", "").lower() else "GFM"
        rendered = markdown.render(text, variant=variant)
    elif mime != "text/plain":  # reStructuredText, also when no type is given (as PyPI does)
        if substitutions(text) > MAX_SUBSTITUTIONS:
            return OVER_BUDGET + txt.render(text)
        rendered = rst.render(text)
    return rendered if rendered is not None else txt.render(text)


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
